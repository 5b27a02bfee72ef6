# fer_keras: one CLI line per target. `make report` is the main job, `make test` the tests.
# Both build the virtual environments they need on first use and reuse them after.
PYTHON ?= python3
VENV ?= .venv
VENV_JAX ?= .venv-jax
PY := $(VENV)/bin/python
FER := TF_CPP_MIN_LOG_LEVEL=2 $(VENV)/bin/fer-keras
DATA ?= synthetic
MODEL ?= small_cnn
EPOCHS ?= 10
OUT ?= out
QARGS := --data $(DATA) --out $(OUT)

.PHONY: install install-jax install-ray wheel lint test test-core-jax test-slow test-ray bench shipped-onnx serve recipe recipe-summary report \
        docs docs-report clean

# A GPU that nvidia-smi sees: TensorFlow with CUDA from PyPI instead of the CPU-only wheel.
# `make install GPU=1` (or GPU=0) also switches an existing $(VENV): each variant has its own
# stamp, and the other variant's TensorFlow wheel is removed first (both provide `tensorflow`).
GPU ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
TF_VERSION := $(shell sed -n 's/^tensorflow-cpu==//p' requirements.txt)
TF_VARIANT := $(if $(filter 1,$(GPU)),gpu,cpu)

install: $(VENV)/.installed-$(TF_VARIANT)
$(VENV)/.installed-$(TF_VARIANT): requirements.txt setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
ifeq ($(TF_VARIANT),gpu)
	$(VENV)/bin/pip uninstall -q -y tensorflow-cpu
	grep -v '^tensorflow-cpu' requirements.txt > $(VENV)/requirements-gpu.txt
	$(VENV)/bin/pip install -q -r $(VENV)/requirements-gpu.txt "tensorflow[and-cuda]==$(TF_VERSION)"
else
	$(VENV)/bin/pip uninstall -q -y tensorflow
	$(VENV)/bin/pip install -q -r requirements.txt
endif
	$(VENV)/bin/pip install -q --no-deps -e .
	rm -f $(VENV)/.installed $(VENV)/.installed-cpu $(VENV)/.installed-gpu
	touch $@

# A wheel in dist/ with the shipped weights and the page of `fer-keras serve`:
# pip install "dist/fer_keras-VERSION-py3-none-any.whl[faces]" (the extras: setup.cfg)
wheel: | install
	$(VENV)/bin/pip install -q build
	$(PY) -m build --wheel

install-jax: $(VENV_JAX)/.installed
$(VENV_JAX)/.installed: requirements-jax.txt setup.cfg
	$(PYTHON) -m venv $(VENV_JAX)
	$(VENV_JAX)/bin/pip install -q --upgrade pip
	$(VENV_JAX)/bin/pip install -q -r requirements-jax.txt
	$(VENV_JAX)/bin/pip install -q --no-deps -e .
	touch $@

# The tests run in TEST_JOBS processes (pytest-xdist; one process per test file at a time, so a
# file's module fixtures are built once): the CPUs, at most 4. TEST_JOBS=0: one process.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
XDIST := -n $(TEST_JOBS) --dist loadfile

# the lint gate (ruff: pyflakes, import order, complexity; pyproject.toml), then the tests
lint: install
	$(VENV)/bin/ruff check .

test: install install-jax install-ray lint
	$(PY) -m pytest -q $(XDIST)
	$(MAKE) --no-print-directory test-core-jax

test-core-jax: install-jax
	KERAS_BACKEND=jax $(VENV_JAX)/bin/python -m pytest -q -m "core and not slow" -p no:cacheprovider $(XDIST)

test-slow: install install-jax install-ray
	$(PY) -m pytest -q -m slow
	KERAS_BACKEND=jax $(VENV_JAX)/bin/python -m pytest -q -m "slow and core" -p no:cacheprovider

# Ray (the extra `ray`, about 400 MB) in $(VENV): `predict --engine ray` and its tests on a real
# cluster of separate nodes, each test in a network namespace of its own (root: unshare)
install-ray: $(VENV)/.installed-ray
$(VENV)/.installed-ray: $(VENV)/.installed-$(TF_VARIANT)
	$(VENV)/bin/pip install -q "ray[data]>=2.40" "pyarrow>=14"
	touch $@

# every Ray test, the slow ones (a whole node killed mid-job) too
test-ray: install-ray
	$(PY) -m pytest -q -m "slow or not slow" tests/faces/test_ray_engine.py tests/faces/test_ray_cluster.py

# the shipped model's ONNX export (fer_keras/weights/), run by Recognizer() without TensorFlow;
# regenerate it whenever fer_keras/weights/fer_net_fer2013.keras changes (tests/models/test_shipped.py)
shipped-onnx: install
	$(FER) export pretrained --format onnx --out fer_keras/weights/fer_net_fer2013.onnx

bench: install install-ray
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m benchmarks.run --out BENCHMARKS.md

# the web page and HTTP API on http://127.0.0.1:$(PORT)/ (fer_keras.serve; Ctrl-C stops it)
SERVE_MODEL ?= pretrained
PORT ?= 8000
serve: install
	$(FER) serve --model $(SERVE_MODEL) --port $(PORT)

# ---- our recipe (issue 6): the best model that BUDGET minutes of training allow -----------
BUDGET ?= 60
RECIPE_MODEL ?= auto
RECIPE_RUN := $(OUT)/runs/$(RECIPE_MODEL)_$(BUDGET)min

recipe: | install
	$(FER) train --preset best --model $(RECIPE_MODEL) --data $(DATA) --budget-minutes $(BUDGET) --out $(RECIPE_RUN) --verbose 2

recipe-summary: | install
	$(FER) summary $(RECIPE_RUN) --data $(DATA)

clean:
	rm -rf $(OUT) runs .pytest_cache

# ---- the reports' questions (issue 5) -------------------------------------------------------
# `make report` answers every question in OUT/report.html (+ report.md, report.json); each
# question target writes OUT/<question>/. The report's context trains the models it needs once
# into OUT/runs/ and reuses them (fer_keras.train.rundir.RunDir.status: fresh, resumable, finished or
# stale); on real data with the reports' settings (preset "report") and the reports' explanation
# settings (profile "full"), so no preset or file name is repeated here.
QUIET := FER_KERAS_SYNTHETIC_NOTICE=0
EXPY := $(QUIET) TF_CPP_MIN_LOG_LEVEL=2 $(PY) examples
EXARGS := $(QARGS) --model $(MODEL) --epochs $(EPOCHS)
# One target per question: its id is the name of its module in fer_keras/report/questions/ with
# dashes (q3_confusion.py answers q3-confusion; the registry refuses a module named otherwise).
QUESTIONS := $(subst _,-,$(basename $(notdir $(wildcard fer_keras/report/questions/[a-z]*.py))))
QUESTION_TARGETS := report $(QUESTIONS)
.PHONY: $(QUESTIONS)

ifeq ($(DATA),synthetic)
ifneq ($(filter $(QUESTION_TARGETS),$(MAKECMDGOALS)),)
$(info note: DATA=synthetic, the built-in synthetic faces; for FER2013: make $(firstword $(filter $(QUESTION_TARGETS),$(MAKECMDGOALS))) DATA=/path/to/fer2013 (fer2013.csv, train.csv or an image folder))
endif
endif

report: | install
	$(QUIET) $(FER) report $(EXARGS)

# docs/cli.md, the command-line reference, from the parser (tests/cli/test_cli_docs.py checks it)
docs: | install
	$(PY) docs/make_cli_reference.py

# The published example, docs/report-fer2013: the real-data report with its figures downscaled.
FER2013 ?= ../shared/data/fer2013
docs-report: | install
	$(FER) report --data $(FER2013) --out out/fer2013 --model $(MODEL) --epochs $(EPOCHS) --publish docs/report-fer2013

$(QUESTIONS): | install
	$(EXPY)/question.py $@ $(EXARGS)
