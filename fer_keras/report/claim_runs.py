"""The training runs that the claims name (:mod:`fer_keras.report.claims`): their commands,
the finished ones in ``OUT/runs/<run>``, their accuracies on the scoring split and the
run-to-run spread of two seeds.

A run spec is ``(run, model, settings)``: the folder name under ``OUT/runs``, a registry model
and the report's settings as :class:`fer_keras.config.TrainConfig` fields. Every run here
chooses its checkpoint on a share of the training images (``select_on="train"``), so the
scoring split chose nothing.
"""
from __future__ import annotations

import math

#: The seed of the second run of a spec, whose accuracy gives the run-to-run spread.
SPREAD_SEED = 1
#: The run trained twice by the full reproduction: its two seeds' spread stands for every run
#: that has no second seed of its own (training each twice would double the reproduction).
SPREAD_SPEC = ("small_cnn", "small_cnn", {"preset": "report", "epochs": 10})


def specs(claim):
    """The run specs of a claim: its ``runs``, or its single accuracy ``run``."""
    if claim.runs:
        return tuple(claim.runs)
    return ((claim.run, claim.model, claim.settings),) if claim.run else ()


def all_specs(claims):
    """Every distinct run spec of ``claims``, in catalogue order (each run name once)."""
    seen = {}
    for c in claims:
        for run, model, settings in specs(c):
            seen.setdefault(run, (run, model, dict(settings)))
    return tuple(seen.values())


def seed_spec(spec):
    """The spec of the same run with :data:`SPREAD_SEED`: ``<run>-seed1``."""
    run, model, settings = spec
    return f"{run}-seed{SPREAD_SEED}", model, {**dict(settings), "seed": SPREAD_SEED}


def command(spec):
    """The ``fer-keras train`` command that makes the run of ``spec`` in ``OUT/runs/<run>``."""
    run, model, st = spec
    st = dict(st)
    flags = [f"--model {model}"]
    if st.get("preset"):
        flags.append(f"--preset {st.pop('preset')}")
    for k, v in st.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            flags.append(flag)
        elif v is False:
            flags.append(f"--no-{k.replace('_', '-')}")
        else:
            flags.append(f"{flag} {v:g}" if isinstance(v, float) else f"{flag} {v}")
    flags.append("--select-on train")
    return f"fer-keras train {' '.join(flags)} --data DATA --out OUT/runs/{run}"


def config(ctx, spec):
    """The :class:`~fer_keras.config.TrainConfig` of ``spec`` on the report's data
    (:meth:`~fer_keras.report.context.Context.spec_config`)."""
    return ctx.spec_config(*spec)


#: Preset fields a run may change without leaving the report's settings: the model is the
#: spec's, and ``precision="auto"`` resolves to the faster one on the machine that trained it.
_FREE = ("model", "precision")


def mismatch(rc, spec):
    """What in a run's saved config ``rc`` differs from ``spec`` (words; empty: none): the
    spec's settings and those its preset implies (a report-preset run of 3 epochs is not the
    report's 10)."""
    from fer_keras.config import preset

    _, model, st = spec
    want = {k: v for k, v in (preset(st["preset"]) if st.get("preset") else {}).items()
            if k not in _FREE}
    want.update(st)
    diff = [f"{k} {rc.get(k)!r} where the report had {v!r}" for k, v in want.items()
            if rc.get(k) != v]
    if rc.get("model") != model:
        diff.append(f"model {rc.get('model')!r}")
    if rc.get("select_on", "val") != "train":
        diff.append("its checkpoint was chosen on the scoring images (select_on val)")
    return diff


def finished(ctx, spec):
    """The :class:`~fer_keras.train.rundir.RunDir` of ``spec`` when ``OUT/runs/<run>`` holds a
    finished run of its model on these data, else None. The report's own CNN run counts when it
    is the spec's."""
    from fer_keras.train.rundir import RunDir, _same_data

    run_name = spec[0]
    if run_name == ctx.cnn_name() and not ctx.cfg.model_path:
        return ctx.finished_run(run_name)
    run = RunDir(ctx.out / "runs" / run_name)
    try:
        rc = run.require_finished()[0]
    except Exception:  # noqa: BLE001 - missing or damaged: not measured
        return None
    if not run.model.is_file() or not _same_data(rc.get("data"), ctx.cfg.data) \
            or rc.get("model") != spec[1]:
        return None
    return run


def accuracy(ctx, spec, run, ds):
    """The accuracy of ``run``'s ``best.keras`` on ``ds`` (cached per run and split)."""
    key = ("claim-acc", spec[0], id(ds))
    if key not in ctx._cache:
        from fer_keras.train.evaluate import predict_proba

        own = spec[0] == ctx.cnn_name() and not ctx.cfg.model_path
        net = ctx.model(spec[0]) if run is None or own else ctx.run_model(run)
        p = predict_proba(net, ds.images)
        ctx._cache[key] = float((p.argmax(1) == ds.labels).mean())
    return ctx._cache[key]


def _seed_pair(ctx, spec, ds):
    """The accuracy of ``spec``'s :func:`seed_spec` run, or None when it is not finished."""
    other = seed_spec(spec)
    run = finished(ctx, other)
    if run is None or mismatch(run.saved_config(), other):
        return None
    return accuracy(ctx, other, run, ds)


def spread(ctx, spec, acc, ds):
    """``(sd, words)``: the standard deviation of the accuracy between two seeds,
    ``|a - b| / sqrt(2)``: the run's and its :func:`seed_spec` run's, else those of
    :data:`SPREAD_SPEC`'s two seeds; 0 with the command that measures it when neither pair
    is finished."""
    b = _seed_pair(ctx, spec, ds)
    if b is not None:
        return abs(acc - b) / math.sqrt(2), f"seed {SPREAD_SEED}: {100 * b:.1f}%"
    base = finished(ctx, SPREAD_SPEC)
    b = _seed_pair(ctx, SPREAD_SPEC, ds) if base is not None else None
    if b is None:
        return 0.0, f"run-to-run spread: `{command(seed_spec(SPREAD_SPEC))}`"
    a = accuracy(ctx, SPREAD_SPEC, base, ds)
    return abs(a - b) / math.sqrt(2), (f"spread of `{SPREAD_SPEC[0]}`'s two seeds "
                                       f"({100 * a:.1f}% and {100 * b:.1f}%)")


def to_train(ctx, claims):
    """The run specs of ``claims`` (each seed's too) that ``OUT/runs`` does not hold finished
    with their settings, in catalogue order: what :func:`train_all` would train."""
    from fer_keras.train.rundir import RunDir

    todo = []
    for spec in all_specs(claims):
        seeds = (spec, seed_spec(spec)) if spec[0] == SPREAD_SPEC[0] else (spec,)
        for s in seeds:
            if s[0] == ctx.cnn_name() and not ctx.cfg.model_path:
                continue  # the report's own CNN: trained by the questions that use it
            try:
                status = RunDir(ctx.out / "runs" / s[0]).status(config(ctx, s))
            except Exception:  # noqa: BLE001 - a damaged folder is retrained
                status = "stale"
            if status != "finished":
                todo.append((s, status))
    return todo


def train_all(ctx, claims, log=print):
    """Train (or resume) every run :func:`to_train` lists into ``OUT/runs/<run>``, on the
    report's splits; a finished run with the same settings is kept, so an interrupted report
    reruns only what is missing. Returns the run names trained."""
    todo = to_train(ctx, claims)
    done = []
    for k, (spec, status) in enumerate(todo, 1):
        cfg = config(ctx, spec)
        if log:
            log(f"claim run {k}/{len(todo)}: {spec[0]} ({spec[1]}, {cfg.epochs} epochs"
                + (", resuming" if status == "resumable" else "") + ")")
        ctx.train_run(cfg, status)
        done.append(spec[0])
    return done
