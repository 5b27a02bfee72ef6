"""Every saliency method through every check, against model-free controls, with a verdict.

:func:`run_checks` computes, for each registered method (:mod:`fer_keras.explain.methods`) and
each control map of :mod:`fer_keras.explain.controls` (random, smooth random, edge, centre):

* model randomisation, full and cascading (Adebayo et al. 2018), methods only;
* deletion and insertion AUC under blur fill (Petsiuk et al. 2018);
* ROAD, most and least relevant first under noisy linear imputation (Rong et al. 2022);
* on data with ground-truth part masks (the synthetic faces), the saliency mass inside the
  parts over their area.

:func:`method_verdicts` turns those numbers into passed/failed per method and check, each with
its value, the reference it was held against and a one-line reason, by the rules of
:class:`CheckRules`; it reads only the numbers, so it also works on a stored ``checks.json``.
:func:`checks_table` prints the table of the CLI (``fer-keras explain checks``) and RESULTS.md.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core
from fer_keras.explain import checks as _checks
from fer_keras.explain import methods as _methods
from fer_keras.explain.controls import CONTROLS, control_maps
from fer_keras.explain.road import SHARES, road
from fer_keras.explain.saliency import saliency_maps


@dataclasses.dataclass(frozen=True)
class CheckRules:
    """When a method passes a check (all differences in the check's own units).

    sanity_max_spearman: full randomisation: mean Spearman below this (Adebayo et al. 2018).
        The cascading check holds the mean of its curve (over every step, top layer first) to
        the same bound: a map that survives the loss of the top layers, where the class
        evidence lives, is reading the image or one layer's activations, not the decision.
    removal_margin: deletion AUC below, insertion AUC above, every control's by this much
        (probability x share of pixels).
    road_margin: ROAD gap (LeRF - MoRF mean probability) above every control's by this much.
    mask_ratio: ground truth: mass-in-parts ratio at least this times the better of the edge
        map's and the centre prior's (both model-free).
    """

    sanity_max_spearman: float = _checks.SANITY_MAX_SPEARMAN
    removal_margin: float = 0.01
    road_margin: float = 0.02
    mask_ratio: float = 1.2


def _removal_numbers(model, x, y, maps, seed, shares):
    di = _checks.deletion_insertion(model, x, y, maps, seed=seed)
    rd = road(model, x, y, maps, shares=shares, seed=seed)
    numbers = {"deletion_auc": di["deletion_auc"], "insertion_auc": di["insertion_auc"],
               "road_morf": rd["morf"], "road_lerf": rd["lerf"], "road_gap": rd["gap"]}
    curves = {"deletion_curve": di["deletion_curve"].tolist(),
              "insertion_curve": di["insertion_curve"].tolist(),
              "road_shares": rd["shares"].tolist(), "road_morf_curve": rd["morf_curve"].tolist(),
              "road_lerf_curve": rd["lerf_curve"].tolist()}
    return numbers, curves


def run_checks(model, images, labels, methods=None, masks=None, samples=20, seed=0,
               shares=SHARES, cascade_n=64, cam_layers=(), rules=CheckRules(), log=None,
               options=None):
    """Every check for every method and control on ``images``; see the module docstring.

    Args:
        model: any Keras classifier with probabilities as output (its pre-softmax score is
            what the saliency methods differentiate, see :mod:`fer_keras.explain.saliency`).
        images: uint8 ``(N, h, w)`` or float ``(N, h, w, 1)`` in [0, 1] (resized to the
            model's input size where needed).
        labels: int ``(N,)``: the class explained and tracked (the true class).
        methods: names of the saliency methods to check (default: every registered one).
        masks: bool ``(N, H, W)`` ground-truth evidence (synthetic faces) at the model's input
            size (:func:`~fer_keras.explain.masks_at`) or None.
        samples: SmoothGrad's noisy copies.
        seed: seeds the maps, the controls, the randomisation and the removals.
        shares: ROAD's removal shares.
        cascade_n: images for the cascading randomisation (the first ``cascade_n``; it costs a
            full set of maps per weight group).
        cam_layers: layer names at which the methods of ``methods`` that read a layer (the
            CAM family) are also checked, as extra rows ``"gradcam++ @ layer"`` (the default
            rows use each method's default layer).
        rules: the verdicts' thresholds.
        log: callable taking one progress line, or None.
        options: ``{method name: {option: value}}``, a method's own settings (e.g.
            ``{"rise": {"masks": 500}}``), also used for its randomised copies.

    Returns:
        dict, JSON-ready: ``n``, ``cascade_n``, ``rules``; ``controls``: ``{name: numbers}``;
        ``methods``: ``{method: numbers}`` with ``sanity_spearman``, ``sanity_constant_share``
        (the randomised model's blank maps), ``sanity_blank_share`` (the trained model's),
        ``cascade`` (``layers``, ``spearman``, ``constant_share`` lists, top layer first, and
        ``blank_share``), ``seconds`` (the trained model's maps);
        both with ``deletion_auc``, ``insertion_auc``, ``road_morf``, ``road_lerf``,
        ``road_gap``, ``mask_concentration`` (when ``masks``) and ``curves``; ``verdicts`` from
        :func:`method_verdicts`.
    """
    say = log or (lambda line: None)
    x = np.asarray(images)
    y = np.asarray(labels).astype(np.int32).reshape(-1)
    if len(x) != len(y) or len(x) == 0:
        raise FerInputError(f"need one label per image, got {len(y)} labels for {len(x)} images")
    if masks is not None:
        masks = np.asarray(masks, bool)
    methods = tuple(methods) if methods is not None else _methods.names()
    options = dict(options or {})
    for m in list(methods) + list(options):
        _methods.get(m)  # an unknown name is a one-line error before any work
    kw = {"samples": samples}
    result = {"n": int(len(x)), "cascade_n": int(min(cascade_n, len(x))),
              "rules": dataclasses.asdict(rules), "controls": {}, "methods": {}}
    # at the model's input size, where the methods' maps are
    for name, maps in control_maps(_core.as_batch(x, model), seed=seed).items():
        numbers, curves = _removal_numbers(model, x, y, maps, seed, shares)
        if masks is not None:
            numbers["mask_concentration"] = _checks.mask_concentration(maps, masks)
        result["controls"][name] = {**numbers, "curves": curves}
        say(f"control {name}: " + _short(numbers))
    nc = result["cascade_n"]
    rows = {m: (m, {**kw, "options": options.get(m)}) for m in methods}
    rows.update({f"{m} @ {layer}": (m, {**kw, "layer": layer, "options": options.get(m)})
                 for layer in cam_layers for m in methods if _methods.get(m).layer})
    for label, (method, mkw) in rows.items():
        t = time.perf_counter()
        maps = saliency_maps(model, x, y, method=method, seed=seed, **mkw)
        seconds = time.perf_counter() - t
        full = _checks.model_randomization(model, x, y, method, seed=seed, trained_maps=maps,
                                           **mkw)
        cascade = _checks.cascading_randomization(model, x[:nc], y[:nc], method, seed=seed,
                                                  trained_maps=maps[:nc], **mkw)
        numbers, curves = _removal_numbers(model, x, y, maps, seed, shares)
        numbers.update(sanity_spearman=full["spearman"],
                       sanity_constant_share=full["constant_share"],
                       sanity_blank_share=full["blank_share"], seconds=round(seconds, 3))
        if masks is not None:
            numbers["mask_concentration"] = _checks.mask_concentration(maps, masks)
        result["methods"][label] = {
            **numbers, "curves": curves,
            "cascade": {"layers": cascade["layers"], "spearman": cascade["spearman"].tolist(),
                        "constant_share": cascade["constant_share"].tolist(),
                        "blank_share": cascade["blank_share"]}}
        say(f"{label}: " + _short(numbers))
    result["verdicts"] = method_verdicts(result, rules)
    return result


def _short(numbers):
    return ", ".join(f"{k} {v:.3f}" for k, v in numbers.items() if isinstance(v, float))


def _fmt(v):
    return "nan" if v is None or not math.isfinite(v) else f"{v:.3f}"


def _verdict(passed, value, reference, reason):
    return {"passed": bool(passed), "value": _num(value), "reference": _num(reference),
            "reason": reason}


def _num(v):
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _share(v):
    return f"{v:.0%}" if v is not None and math.isfinite(v) else "?"


def _sanity(rho, constant, bound, what, blank=None):
    """The verdict of a randomisation check: ``rho`` its Spearman (NaN: no answer),
    ``constant`` the randomised model's share of blank maps, ``blank`` the trained model's."""
    if rho is None or not math.isfinite(rho):
        if blank is None:  # numbers stored before the trained maps' share was
            return _verdict(False, rho, bound, f"{what}: the maps are constant for "
                                               f"{_share(constant)} of the images, so no answer")
        return _verdict(False, rho, bound, f"{what}: the trained model's maps are blank for "
                                           f"{_share(blank)} of the images, so the method gives "
                                           "no answer")
    gone = (f"; {_share(constant)} of the randomised model's maps are blank, counted as changed"
            if constant and math.isfinite(constant) else "")
    if rho < bound:
        return _verdict(True, rho, bound, f"{what}: maps change with the weights "
                                          f"(Spearman {rho:.3f} < {bound}{gone})")
    return _verdict(False, rho, bound, f"{what}: maps barely change when the weights are "
                                       f"re-drawn (Spearman {rho:.3f} >= {bound}{gone})")


def _cascade_verdict(cascade, bound):
    rhos = [float("nan") if v is None else float(v) for v in cascade["spearman"]]
    if not rhos:
        return _verdict(False, None, bound, "cascading randomisation: the model has no weights")
    below = [i for i, r in enumerate(rhos) if math.isfinite(r) and r < bound]
    where = (f"falls below {bound} at {cascade['layers'][below[0]]} (step {below[0] + 1} of "
             f"{len(rhos)})" if below else f"never falls below {bound}")
    # the mean over the steps (the curve's area) counts a map that survives the loss of the
    # top layers as much as one that survives to the end; a step without an answer fails it
    worst = max(range(len(rhos)), key=lambda i: cascade["constant_share"][i] or 0)
    mean = float(np.mean(rhos)) if all(math.isfinite(r) for r in rhos) else float("nan")
    v = _sanity(mean, cascade["constant_share"][worst], bound,
                f"cascading randomisation, mean over {len(rhos)} steps",
                cascade.get("blank_share"))
    v["reason"] += f"; the curve {where}"
    return v


def _against(value, controls, key, better, margin, what):
    """The verdict of ``value`` against every control's ``key``: ``better`` is "lower" or
    "higher"; it must beat the best control by ``margin``."""
    refs = {k: c[key] for k, c in controls.items() if c.get(key) is not None}
    if not refs:
        return _verdict(False, value, None, f"{what}: no control to compare with")
    pick = min if better == "lower" else max
    best = pick(refs, key=refs.get)
    ref = refs[best]
    passed = value < ref - margin if better == "lower" else value > ref + margin
    sign = "-" if better == "lower" else "+"
    verb = "beats" if passed else "does not beat"
    return _verdict(passed, value, ref, f"{what} {value:.3f} {verb} the best control, {best} "
                                        f"{ref:.3f} {sign} {margin} ({better} is better)")


def method_verdicts(result, rules=CheckRules()):
    """``{method: {check: {"passed", "value", "reference", "reason"}, "passed": bool}}`` from the
    numbers of :func:`run_checks` (or its stored JSON). Checks: ``sanity``, ``cascade``,
    ``deletion``, ``insertion``, ``road`` and, with masks, ``ground_truth``; ``passed`` is
    true when every check passed."""
    controls = result["controls"]
    out = {}
    for method, e in result["methods"].items():
        bound = rules.sanity_max_spearman
        v = {"sanity": _sanity(e.get("sanity_spearman"), e.get("sanity_constant_share"), bound,
                               "full randomisation", e.get("sanity_blank_share")),
             "cascade": _cascade_verdict(e["cascade"], bound),
             "deletion": _against(e["deletion_auc"], controls, "deletion_auc", "lower",
                                  rules.removal_margin, "deletion AUC"),
             "insertion": _against(e["insertion_auc"], controls, "insertion_auc", "higher",
                                   rules.removal_margin, "insertion AUC"),
             "road": _against(e["road_gap"], controls, "road_gap", "higher", rules.road_margin,
                              "ROAD LeRF-MoRF gap")}
        if e.get("mask_concentration") is not None:
            refs = {k: controls[k]["mask_concentration"] for k in ("edge", "centre")
                    if k in controls}
            v["ground_truth"] = _mask_verdict(e["mask_concentration"], refs, rules)
        known = _methods.registry().get(_methods.base_name(method))
        for check in ("sanity", "cascade"):
            verdict = v[check]
            why = "blank" if verdict["value"] is None else "correlated"
            cause = known.cause(why) if known is not None and not verdict["passed"] else None
            if cause:
                verdict["reason"] += f" ({cause})"
        v["passed"] = all(c["passed"] for c in v.values())
        out[method] = v
    return out


def _mask_verdict(ratio, refs, rules):
    best = max(refs, key=refs.get)
    need = rules.mask_ratio * refs[best]
    verb = "beats" if ratio >= need else "does not beat"
    return _verdict(ratio >= need, ratio, refs[best],
                    f"mass in the parts {ratio:.2f}x their area {verb} {rules.mask_ratio} x the "
                    f"{best} map's {refs[best]:.2f}x = {need:.2f}x")


def ground_truth_check(maps, images, masks, rules=CheckRules()):
    """The ground-truth check alone, for a caller that already has the maps (the report's
    saliency questions): the mass-in-parts ratio of ``maps`` (float ``(N, H, W)``) against
    the edge map's and the centre prior's on the same ``images`` and ``masks``.

    Returns dict: ``passed``, ``value`` (the maps' ratio), ``reference`` (the better
    control's), ``reason`` (one sentence with the numbers) and ``controls``
    (``{"edge": ratio, "centre": ratio}``). "The model looks at the expression" may be said
    only when ``passed``.
    """
    ctrl = control_maps(images, names=("edge", "centre"))
    refs = {k: _checks.mask_concentration(m, masks) for k, m in ctrl.items()}
    out = _mask_verdict(_checks.mask_concentration(maps, masks), refs, rules)
    out["controls"] = refs
    return out


def recommended(result):
    """The methods that passed every check, in the order checked."""
    return [m for m, v in result["verdicts"].items() if v["passed"]]


_COLUMNS = (("sanity_spearman", "sanity rho"), ("cascade_mean", "cascade rho"),
            ("deletion_auc", "deletion"), ("insertion_auc", "insertion"),
            ("road_morf", "ROAD MoRF"), ("road_lerf", "ROAD LeRF"), ("road_gap", "ROAD gap"),
            ("mask_concentration", "parts/area"))


def checks_rows(result):
    """(header, rows, verdicts) of the checks' table: one row of formatted numbers per method,
    ending with its verdict, then one per control; ``verdicts`` in the methods' usual order."""
    verdicts = result.get("verdicts") or method_verdicts(result)
    have_mask = any("mask_concentration" in e for e in result["methods"].values())
    cols = [c for c in _COLUMNS if have_mask or c[0] != "mask_concentration"]
    rows = []
    # stored JSON has its keys sorted: put methods and controls back in their usual order
    order = {k: i for i, k in enumerate(_methods.names() + CONTROLS)}

    def key(kv):  # the "method @ layer" rows after the default ones, by method then layer
        base = _methods.base_name(kv[0])
        return base != kv[0], order.get(base, len(order)), kv[0]

    verdicts = dict(sorted(verdicts.items(), key=key))
    result = {k: dict(sorted(result[k].items(), key=key)) for k in ("methods", "controls")}
    for method, e in result["methods"].items():
        values = {**e, "cascade_mean": verdicts[method]["cascade"]["value"]}
        rows.append([method] + [_fmt(values.get(k)) for k, _ in cols]
                    + ["passed" if verdicts[method]["passed"] else "FAILED"])
    for name, e in result["controls"].items():
        rows.append([f"{name} (control)"] + [_fmt(e.get(k)) if k in e else "" for k, _ in cols]
                    + [""])
    head = ["method"] + [h for _, h in cols] + ["verdict"]
    return head, rows, verdicts


def checks_table(result, markdown=False):
    """The checks as a text (or Markdown) table: one row per method and per control, the
    numbers, then each method's verdict and the reasons of the checks it failed."""
    head, rows, verdicts = checks_rows(result)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]

        def fmt(r):
            return "  ".join(c.ljust(w) if i in (0, len(r) - 1) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths)))

        lines = [fmt(head)] + [fmt(r) for r in rows]
    lines.append("")
    for method, v in verdicts.items():
        failed = [f"{c}: {d['reason']}" for c, d in v.items() if c != "passed" and not d["passed"]]
        lines.append(f"{method}: " + ("passed every check" if not failed else
                                      "failed " + "; ".join(failed)))
    rec = [m for m, v in verdicts.items() if v["passed"]]
    lines.append("recommended: " + (", ".join(rec) if rec else "none of the methods"))
    return "\n".join(lines)
