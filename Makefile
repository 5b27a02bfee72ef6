# fer_keras: one CLI line per target. `make report` is the main job, `make test` the tests.
# Both build the virtual environments they need on first use and reuse them after.
PYTHON ?= python3
VENV ?= .venv
VENV_JAX ?= .venv-jax
PY := $(VENV)/bin/python
FER := TF_CPP_MIN_LOG_LEVEL=2 $(VENV)/bin/fer-keras
DATA ?= synthetic
MODEL ?= small_cnn
EPOCHS ?= 15
OUT ?= out
RUN := $(OUT)/runs/$(MODEL)
QARGS := --data $(DATA) --out $(OUT)

.PHONY: install install-jax test test-core-jax test-slow bench report q1-train q2-dnn \
        q3-confusion q4-saliency q5-filters q6-conv-shape hw4-saliency hw4-filters hw4-lime \
        hw4-tsne bonus-semi clean

install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

install-jax: $(VENV_JAX)/.installed
$(VENV_JAX)/.installed: requirements-jax.txt setup.cfg
	$(PYTHON) -m venv $(VENV_JAX)
	$(VENV_JAX)/bin/pip install -q --upgrade pip
	$(VENV_JAX)/bin/pip install -q -r requirements-jax.txt
	$(VENV_JAX)/bin/pip install -q --no-deps -e .
	touch $@

test: install install-jax
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-core-jax

test-core-jax: install-jax
	KERAS_BACKEND=jax $(VENV_JAX)/bin/python -m pytest -q -m "core and not slow" -p no:cacheprovider

test-slow: install
	$(PY) -m pytest -q -m slow

bench: install
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m benchmarks.run --out BENCHMARKS.md

clean:
	rm -rf $(OUT) runs .pytest_cache
