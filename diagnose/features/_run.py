"""Curve measurements: small typed functions over a run's series, in a registry.

Features are code, rules are data. A feature function takes a context and
returns a dict of named values (``None`` where it cannot say, e.g. no validation
split). Rules combine the names in their ``when`` conditions and templates.

Conventions that keep the rules scale-free and robust:
- thresholds live in rules; features report ratios and positions (0..1);
- smoothing windows scale with the number of points (:func:`window`);
- NaN/±inf are counted by ``nonfinite`` and excluded from every other measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..run import Run
from ._registry import (
    DEFAULTS_LOADER,
    FEATURES,
    PARAM_DEFAULTS,
    FeatureSpec,
    GroupContext,
    Value,
    compute,
    feature,
    feature_params,
    group_feature,
)
from ._series import (
    MIN_POINTS_HALVES,
    MIN_POINTS_SHAPE,
    decel_ratio,
    level_drop,
    mann_kendall_z,
    median,
    median_gap_above_one,
    rel_change,
    safe_ratio,
    smooth,
    theil_sen_drop,
    trend_decel,
    value_at,
    window,
)

__all__ = ["DEFAULTS_LOADER", "FEATURES", "PARAM_DEFAULTS", "FeatureSpec", "GroupContext",
           "RunContext", "compute", "feature", "feature_params", "group_feature", "window"]

@dataclass
class RunContext:
    """What a run-scope feature sees: the run, plus cached shared computations."""

    run: Run
    #: True while training is still going (live checks): end-only features may say less.
    live: bool = False
    #: rule parameters features read (configured values; defaults from the rule files)
    params: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> float:
        """A threshold a measurement needs, as configured, else its rule file's default."""
        if name in self.params:
            return self.params[name]
        if name not in PARAM_DEFAULTS and DEFAULTS_LOADER:
            DEFAULTS_LOADER[0]()
        if name not in PARAM_DEFAULTS:
            raise KeyError(f"feature parameter {name!r} is declared by no loaded rule file "
                           "(load the rules first: diagnose.load_rules())")
        return PARAM_DEFAULTS[name]

    def arrays(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return self.run.arrays(metric)

    def finite(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of a metric with NaN/±inf removed."""
        key = "finite:" + metric
        if key not in self._cache:
            s, v = self.arrays(metric)
            ok = np.isfinite(v)
            self._cache[key] = (s[ok], v[ok]) if not ok.all() else (s, v)
        return self._cache[key]

    def smoothed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Finite values smoothed with a centred median-then-mean window scaled to length."""
        key = "smooth:" + metric
        if key not in self._cache:
            s, v = self.finite(metric)
            self._cache[key] = (s, smooth(v))
        return self._cache[key]

# ---------------------------------------------------------------------------------------
# run features
# ---------------------------------------------------------------------------------------
TRAIN, VAL = "train/loss", "val/loss"
JUDGED = (TRAIN, VAL, "train/acc", "val/acc")  # the curves the rules judge

@feature("train_points", "train_first", "train_last", "train_start", "train_end", "train_min",
         "train_drop", "train_trend_z", "train_trend_drop", "train_level_drop", "first_step",
         "last_step", "steps_run", "decel", "trend_decel")
def train_curve(ctx: RunContext) -> dict[str, Value]:
    """Where the train loss starts and ends (logged and smoothed), how much it fell, and its trend.

    Trend measures over the whole run, so a short noisy run is not judged by its two end
    points: ``train_trend_z`` (Mann-Kendall: about N(0, 1) without trend, strongly negative
    for a falling loss), ``train_trend_drop`` (the Theil-Sen line's fall over the run,
    relative to the median loss) and ``train_level_drop`` (median of the first fifth of the
    logged points against the median of the last fifth, relative to the first).
    """
    s, v = ctx.smoothed(TRAIN)
    _, raw = ctx.finite(TRAIN)
    first, last = ctx.run.step_range or (None, None)
    if len(v) == 0:
        return {"train_points": 0, "first_step": first, "last_step": last,
                "steps_run": None if last is None else last - first}
    return {
        "train_points": len(v),
        "train_first": raw[0],
        "train_last": raw[-1],
        "train_start": v[0],
        "train_end": v[-1],
        "train_min": float(v.min()),
        "train_drop": float(v[0] - v[-1]) / abs(float(v[0])) if v[0] else None,
        "train_trend_z": mann_kendall_z(raw),
        "train_trend_drop": theil_sen_drop(ctx.finite(TRAIN)[0], raw),
        "train_level_drop": level_drop(raw),
        "decel": decel_ratio(s, v),
        "trend_decel": trend_decel(*ctx.finite(TRAIN)),
        "first_step": first,
        "last_step": last,
        "steps_run": last - first,
    }



# ---------------------------------------------------------------------------------------
# the number of classes, from the config and from the curves
# ---------------------------------------------------------------------------------------
def _median_tail(ctx: RunContext, metric: str) -> float | None:
    """Median of the second half of a metric's logged values."""
    _, v = ctx.finite(metric)
    return median(v[len(v) // 2:]) if len(v) else None


def classes(ctx: RunContext) -> dict[str, Any]:
    """K from the config and K read off the curves (validation accuracy ~ 1/K all run).

    The curves name K' when the median validation accuracy is about 1/K' and either the
    loss sits at ln K' or the accuracy has no trend (a model still learning passes through
    1/K' on its way up: that is no evidence). ``k``: the number of classes the loss is
    judged against: the config's, unless the curves contradict it (accuracy at 1/K' with
    the loss at ln K'), then the curves'.
    """
    key = "classes"
    if key in ctx._cache:
        return ctx._cache[key]
    k_cfg = ctx.run.num_classes or int_param(ctx.run, "num_classes", "n_classes", "num_labels")
    if k_cfg is not None and k_cfg <= 1:
        k_cfg = None
    k_acc, note = None, ""
    _, acc = ctx.finite("val/acc")
    tol, loss_tol = ctx.param("chance_acc_tol"), ctx.param("chance_loss_tol")
    loss = _median_tail(ctx, VAL)
    if loss is None:
        loss = _median_tail(ctx, TRAIN)

    def fits(kk: int) -> bool:  # the loss is that of uniform predictions over kk classes
        return loss is not None and abs(loss / math.log(kk) - 1) <= loss_tol

    if len(acc) > 1:
        a = float(np.median(acc))
        if a > 0:
            near = [kk for kk in range(max(2, int(round(1 / a)) - 1), int(round(1 / a)) + 2)
                    if abs(a * kk - 1) <= tol]
            fitting = [kk for kk in near if fits(kk)]
            z = mann_kendall_z(acc)
            if fitting:
                k_acc = min(fitting, key=lambda kk: abs(loss / math.log(kk) - 1))
            elif near and (z is None or abs(z) < ctx.param("chance_acc_trend_z")):
                k_acc = min(near, key=lambda kk: abs(a * kk - 1))
    k_loss = None
    val = _median_tail(ctx, VAL)
    if k_cfg is None and k_acc is None and len(acc) == 0 and val and val > 0:
        # no config and no accuracy: the loss alone names K only when train and validation
        # both sit within a tight tolerance of the same ln K (few runs settle there by chance)
        try:
            kk = max(2, int(round(math.exp(val))))
        except OverflowError:  # a regression loss in the thousands: no ln K anywhere near
            kk = None
        tail = _median_tail(ctx, TRAIN)
        if kk and all(x is not None and abs(x / math.log(kk) - 1) <= ctx.param("chance_loss_only_tol")
               for x in (val, tail)):
            k_loss = kk
    k = k_cfg or k_acc or k_loss
    if k_acc and k_cfg and k_acc != k_cfg and fits(k_acc) and not fits(k_cfg):
        k = k_acc
        note = (f"; the config says {k_cfg} classes, but validation accuracy "
                f"{float(np.median(acc)):.3g} and loss {loss:.4g} are those of uniform "
                f"predictions over {k_acc} classes (ln {k_acc} = {math.log(k_acc):.4g})")
    source = (f" (K = {k} read off the validation accuracy, {float(np.median(acc)):.3g} ~ 1/{k}: "
              "no number of classes was recorded)") if k_acc and not k_cfg else ""
    if k_loss:
        source = (f" (K = {k} read off the loss: train and validation both sit at ln {k}; no number "
                  "of classes or accuracy was recorded)")
    out = {"k": k, "k_config": k_cfg, "k_acc": k_acc, "note": note, "source": source}
    ctx._cache[key] = out
    return out


def run_scale(ctx: RunContext) -> float | None:
    """The loss scale of the run: its first finite train loss, or ln K when that is larger.

    A classifier starts near ln K (uniform predictions); a log whose first point comes after
    the model already learned would otherwise make every later wiggle look huge.
    """
    _, v = ctx.finite(TRAIN)
    if not len(v):
        return None
    k = classes(ctx)["k"]
    return max(abs(float(v[0])), math.log(k) if k else 0.0) or None


@feature("nonfinite", "nonfinite_train", "first_nonfinite_step", "nonfinite_metric",
         "peak_ratio_before_nonfinite", "nonfinite_after_growth", "nonfinite_note",
         params=("growth_ratio", "max_init_ratio", "chance_acc_tol", "chance_loss_tol",
                 "chance_acc_trend_z", "chance_loss_only_tol"))
def nonfinite_values(ctx: RunContext) -> dict[str, Value]:
    """Count NaN/±inf in the metrics the rules judge (loss, accuracy: all points, never
    sampled) and where they start; a NaN in some other logged quantity (a projected error,
    a grad norm under a loss scaler) says nothing about training.

    The loss "grew first" when it climbed above ``growth_ratio`` times where it started, or
    when the growth was hidden inside the first logging window: its first logged value was
    already ``max_init_ratio`` times ln K, or the log is sparse (logged every few steps) and
    turned non-finite at or right after its first point.
    """
    total, first_step, first_metric = 0, None, None
    for name in ctx.run.metric_names:
        if name not in JUDGED and "loss" not in name.lower():
            continue
        s, v = ctx.arrays(name)
        ok = np.isfinite(v)
        n = len(v) - int(np.count_nonzero(ok))
        if n:
            total += n
            st = int(s[np.argmin(ok)])
            if first_step is None or st < first_step:
                first_step, first_metric = st, name
    s, v = ctx.arrays(TRAIN)
    ok = np.isfinite(v)
    n_train = len(v) - int(np.count_nonzero(ok))
    before = v[: int(np.argmin(ok))] if n_train else v  # finite: up to the first that is not
    del ok
    peak_before = safe_ratio(float(before.max()), float(before[0])) if len(before) else None
    k = classes(ctx)["k"]
    init_high = bool(len(before) and k and before[0] > ctx.param("max_init_ratio") * math.log(k))
    sparse = median_gap_above_one(s)
    hidden = n_train > 0 and sparse and len(before) <= 1
    grew = (peak_before or 0) > ctx.param("growth_ratio") or init_high or hidden
    return {
        "nonfinite": total,
        "nonfinite_train": n_train,
        "first_nonfinite_step": first_step,
        "nonfinite_metric": first_metric,
        "peak_ratio_before_nonfinite": peak_before,
        # 1 when the train loss grew before turning non-finite: divergence, not a numeric bug
        "nonfinite_after_growth": float(n_train > 0 and grew),
        # a phrase for messages: empty when every value is finite
        "nonfinite_note": (f"; {total} non-finite value(s) (NaN/inf), first in {first_metric} "
                           f"at step {first_step}") if total else "",
    }


@feature("peak_ratio", "peak_step", "final_ratio", "blowup_first_step", "blowup_last_step",
         "blowup_value", "blowup_from", "smooth_peak_ratio", "init_over_chance",
         "end_over_chance", "end_over_first", "peak_over_chance", "val_min_over_chance",
         "val_end_over_chance",
         "blowup_note", "blowup_story",
         params=("blowup_factor", "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
def explosion(ctx: RunContext) -> dict[str, Value]:
    """Largest finite train loss over the run's scale, where it happened, where it ended.

    Ratios are taken against :func:`run_scale` (the first loss, or ln K when larger);
    ``end_over_first`` against the first logged value itself.

    For classification the run's scale is ln K (the loss of uniform predictions), so a
    blow-up inside the first logging window (a first logged loss far above ln K) shows,
    whatever the logging interval. ``*_over_chance`` are 0 when K is unknown.
    The blow-up episode spans the raw points above ``blowup_factor`` times the start.
    """
    s, v = ctx.arrays(TRAIN)
    fs, fv = ctx.finite(TRAIN)
    if len(fv) == 0:
        return {"blowup_story": "no logged train loss is finite", "blowup_note": "",
                "blowup_first_step": int(s[0]) if len(s) else None,
                "blowup_last_step": int(s[-1]) if len(s) else None}
    first = float(fv[0])
    k = classes(ctx)["k"]
    lnk = math.log(k) if k else None
    ref = run_scale(ctx)
    i = int(np.argmax(fv))
    _, sm = ctx.smoothed(TRAIN)
    _, vv = ctx.finite(VAL)
    out: dict[str, Value] = {
        "peak_ratio": safe_ratio(float(fv[i]), ref),
        "peak_step": int(fs[i]),
        "blowup_value": float(fv[i]),
        "blowup_from": first,
        "final_ratio": safe_ratio(float(sm[-1]), ref),
        "end_over_first": safe_ratio(float(sm[-1]), first),
        # the peak of the smoothed curve: a sustained rise lifts it, a one-batch spike does not
        "smooth_peak_ratio": safe_ratio(float(sm.max()), ref),
        "init_over_chance": first / lnk if lnk else 0.0,
        "end_over_chance": float(sm[-1]) / lnk if lnk else 0.0,
        "peak_over_chance": float(fv[i]) / lnk if lnk else 0.0,
        "val_min_over_chance": float(vv.min()) / lnk if lnk and len(vv) else 0.0,
        "val_end_over_chance": float(vv[-1]) / lnk if lnk and len(vv) else 0.0,
    }
    if first > 0:
        above = np.isfinite(v)
        np.logical_not(above, out=above)
        above |= v > ctx.param("blowup_factor") * first
        if above.any():
            out["blowup_first_step"] = int(s[int(np.argmax(above))])
            out["blowup_last_step"] = int(s[len(above) - 1 - int(np.argmax(above[::-1]))])
    if "blowup_first_step" not in out:
        out["blowup_first_step"] = int(fs[0])
        out["blowup_last_step"] = int(fs[i])
    out["blowup_story"] = (f"logged {first:.4g} at step {int(fs[0])}, {float(fv[i]):.4g} at step "
                           f"{int(fs[i])} ({float(fv[i]) / first if first else math.inf:.3g}x), "
                           f"last finite value {float(fv[-1]):.4g} at step {int(fs[-1])}; smoothed, "
                           f"it ends at {float(sm[-1]):.4g} ({float(sm[-1]) / first if first else math.inf:.3g}x "
                           f"its first value)")
    if lnk:
        out["blowup_note"] = (f"; ln({k}) = {lnk:.3g} is the loss of uniform predictions (chance "
                              f"level){classes(ctx)['source']}: the first logged train loss is "
                              f"{first / lnk:.3g}x it, the smoothed end {float(sm[-1]) / lnk:.3g}x")
    else:
        out["blowup_note"] = ""
    return out


@feature("oscillation")
def oscillation(ctx: RunContext) -> dict[str, Value]:
    """Total variation of the smoothed train loss over its range: 1 = monotone, large = swinging."""
    _, v = ctx.smoothed(TRAIN)
    if len(v) < MIN_POINTS_SHAPE:
        return {}
    rng = float(v.max() - v.min())
    if rng <= 0:
        return {"oscillation": 1.0}
    d = np.diff(v)
    return {"oscillation": float(np.abs(d, out=d).sum()) / rng}


@feature("val_points", "val_first", "val_best", "val_best_step", "val_best_pos", "val_end",
         "val_last", "val_rise", "val_rise_of_drop", "val_rise_of_scale", "val_improvement",
         "val_last_step",
         "val_evals_after_best", "val_trend_after_best", "train_drop_after_best",
         params=("chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
def validation_curve(ctx: RunContext) -> dict[str, Value]:
    """The lowest logged validation loss and its step, and how far the curve rose afterwards.

    ``val_best``/``val_best_step`` are logged values (what the user finds in the log and
    what ``sweep`` selects); the rise is judged on the smoothed curve (``val_rise``,
    relative to the smoothed minimum), by its Mann-Kendall trend after the best, and
    against the run's scale (``val_rise_of_scale``: the rise over the first logged train
    loss, so a doubling of a loss of 1e-6 is not mistaken for overfitting).
    """
    s, v = ctx.smoothed(VAL)
    rs, rv = ctx.finite(VAL)
    if len(v) == 0:
        return {"val_points": 0}
    i = int(np.argmin(rv))
    j = int(np.argmin(v))
    first_step, last_step = ctx.run.step_range or (0, 0)
    span = max(1, int(last_step - first_step))
    out: dict[str, Value] = {
        "val_points": len(v),
        "val_first": float(rv[0]),
        "val_best": float(rv[i]),
        "val_best_step": int(rs[i]),
        "val_best_pos": (int(rs[i]) - int(first_step)) / span,
        "val_end": float(v[-1]),
        "val_last": float(rv[-1]),
        "val_rise": rel_change(float(v[-1]), float(v[j])),
        "val_last_step": int(rs[-1]),
        "val_evals_after_best": len(rv) - 1 - i,
        "val_trend_after_best": mann_kendall_z(rv[i:]),
    }
    drop = float(v[0] - v[j])
    out["val_rise_of_drop"] = (float(v[-1] - v[j]) / drop) if drop > 0 else None
    out["val_improvement"] = float(rv[0] - rv[i]) / abs(float(rv[0])) if rv[0] else None
    scale = run_scale(ctx) or abs(float(rv[0]))
    out["val_rise_of_scale"] = float(v[-1] - v[j]) / scale if scale else None
    ts, tv = ctx.smoothed(TRAIN)
    if len(tv):
        t_best, t_end = value_at(ts, tv, np.array([rs[i], rs[-1]]))
        out["train_drop_after_best"] = (t_best - t_end) / abs(t_best) if t_best else None
    return out


@feature("gap_end", "gap_ratio_end", "gap_rel_end", "gap_best", "gap_ratio_best", "gap_rel_best",
         "train_at_val_end", "train_at_val_best", "gap_first_step",
         params=("gap_start", "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
def loss_gap(ctx: RunContext) -> dict[str, Value]:
    """Validation minus train loss at the end (the final model) and at the best validation step.

    Train is smoothed and read at the validation steps; validation is as logged;
    ``gap_rel_*`` divides by the first logged train loss so the size is judged against the
    task's own scale. ``gap_first_step``: where the gap first exceeds ``gap_start`` of it.
    """
    vs, vv = ctx.finite(VAL)
    ts, tv = ctx.smoothed(TRAIN)
    if len(vv) == 0 or len(tv) == 0:
        return {}
    train_at = value_at(ts, tv, vs)
    i = int(np.argmin(vv))
    _, vsm = ctx.smoothed(VAL)
    scale = run_scale(ctx)
    out: dict[str, Value] = {
        "train_at_val_end": float(train_at[-1]),
        "train_at_val_best": float(train_at[i]),
        "gap_end": float(vsm[-1] - train_at[-1]),
        "gap_best": float(vv[i] - train_at[i]),
        "gap_ratio_end": safe_ratio(float(vsm[-1]), float(train_at[-1])),
        "gap_ratio_best": safe_ratio(float(vv[i]), float(train_at[i])),
    }
    if scale:
        out["gap_rel_end"] = out["gap_end"] / scale
        out["gap_rel_best"] = out["gap_best"] / scale
        wide = (vsm - train_at) > ctx.param("gap_start") * scale
        if wide.any():
            out["gap_first_step"] = int(vs[int(np.argmax(wide))])
    return out


@feature("acc_gap_end", "acc_gap_best", "acc_logged", "train_acc_end", "val_acc_end",
         "val_acc_best", "acc_note")
def accuracy_gap(ctx: RunContext) -> dict[str, Value]:
    """Train minus validation accuracy (in points of 0..1) at the end and at the best validation loss.

    Train accuracy is smoothed and read at the validation steps; None when either is not
    logged (``acc_logged`` is 1 when both are).
    """
    out: dict[str, Value] = {"acc_note": "", "acc_logged": 0.0}
    vs, vv = ctx.finite("val/acc")
    ts, tv = ctx.smoothed("train/acc")
    if len(vv):
        out["val_acc_end"] = float(vv[-1])
        out["val_acc_best"] = float(vv.max())
    if len(tv):
        out["train_acc_end"] = float(tv[-1])
    if len(vv) and len(tv):
        out["acc_logged"] = 1.0
        _, vsm = ctx.smoothed("val/acc")
        t_end = float(value_at(ts, tv, vs[-1:])[0])
        out["acc_gap_end"] = t_end - float(vsm[-1])
        ls, lv = ctx.finite(VAL)
        if len(lv):
            at = float(ls[int(np.argmin(lv))])
            out["acc_gap_best"] = float(value_at(ts, tv, np.array([at]))[0] - value_at(vs, vv, np.array([at]))[0])
        out["acc_note"] = (f"; accuracy {t_end:.3g} (train, smoothed) vs {float(vv[-1]):.3g} "
                           f"(validation) at step {int(vs[-1])}")
    return out


@feature("tail_share", "tail_drop_rel", "tail_metric", "tail_start_step", "tail_val_rise",
         params=("min_share", "min_tail_drop"))
def still_improving(ctx: RunContext) -> dict[str, Value]:
    """How much of the total improvement came in the last 20 % of the run.

    Uses the validation loss when it has enough points (it is what selection
    uses), else the train loss. A converged curve has a small share; a curve cut
    off by its budget has a large one. ``tail_drop_rel`` is the fall over the last
    20 % relative to where that stretch started. ``tail_val_rise``: how far the last
    validation value is above the lowest (relative; 0 without validation).
    """
    name = VAL if len(ctx.finite(VAL)[1]) >= MIN_POINTS_SHAPE else TRAIN
    s, v = ctx.smoothed(name)
    if len(v) < MIN_POINTS_SHAPE:
        return {}
    cut = s[0] + 0.8 * (s[-1] - s[0])
    j = int(np.count_nonzero(s < cut))  # searchsorted with a float would copy s to floats
    j = min(j, len(v) - 2)
    total = float(v[0] - v.min())
    tail = float(v[j] - v[-1])
    _, rv = ctx.finite(VAL)
    return {
        "tail_share": tail / total if total > 0 else None,
        "tail_drop_rel": tail / abs(float(v[j])) if v[j] else None,
        "tail_metric": name,
        "tail_start_step": int(s[j]),
        "tail_val_rise": (rel_change(float(rv[-1]), float(rv.min())) or 0.0) if len(rv) else 0.0,
    }


@feature("num_classes", "lnk", "lnk_ratio_end", "lnk_ratio_val", "second_half_change",
         "chance_dev", "chance_dev_val", "chance_note", "k_note",
         params=("chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
def uniform_predictions(ctx: RunContext) -> dict[str, Value]:
    """Train/validation loss against ln(K), the cross-entropy of uniform predictions over K classes.

    K is the config's unless the curves contradict it (see :func:`classes`).
    ``chance_dev``: |smoothed final train loss / ln K - 1|; ``chance_dev_val`` the same for
    validation (0 without validation).
    """
    cl = classes(ctx)
    k = cl["k"]
    _, tv = ctx.smoothed(TRAIN)
    out: dict[str, Value] = {"chance_note": cl["note"], "k_note": cl["note"]}
    if len(tv) >= MIN_POINTS_HALVES:
        mid = float(tv[len(tv) // 2])
        out["second_half_change"] = abs(mid - float(tv[-1])) / abs(mid) if mid else None
    if not k or not len(tv):
        return out
    lnk = math.log(k)
    _, vv = ctx.smoothed(VAL)
    out.update(
        num_classes=k,
        lnk=lnk,
        lnk_ratio_end=float(tv[-1]) / lnk,
        lnk_ratio_val=float(vv[-1]) / lnk if len(vv) else None,
        chance_dev=abs(float(tv[-1]) / lnk - 1),
        chance_dev_val=abs(float(vv[-1]) / lnk - 1) if len(vv) else 0.0,
    )
    out["chance_note"] = (f", at ln({k}) = {lnk:.3g}, the loss of uniform predictions"
                          if out["chance_dev"] < ctx.param("chance_loss_tol") else "") + cl["note"]
    return out


def int_param(run: Run, *names: str) -> int | None:
    for n in names:
        v = run.param(n)
        try:
            if v is not None:
                return int(v)
        except (TypeError, ValueError):
            pass
    return None
