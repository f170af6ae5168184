"""Slow convergence: a loss that falls little, at a steady pace, and still falls at the end.

Measured on the raw logged points with Theil-Sen lines (medians of pairwise slopes), so
neither the noise of per-batch values nor where the two end points land decides, and a
log written every step and the same run written every 50 steps read alike. The same three
numbers are measured on the train loss and on the validation loss (an average over a whole
split: the calm witness when the train loss is logged per batch).

When the run logs its learning rate, the curve is read against the learning rate summed
over the steps (the distance the optimizer was allowed to travel) instead of the steps: a
schedule that decays the rate to 0 flattens the end of any curve, and that flattening says
nothing about convergence. With a constant rate both axes are the same.
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import Value, feature
from ._run import K_PARAMS, LR, MIN_POINTS_EARLY, TRAIN, VAL, RunContext, classes
from ._series import MIN_POINTS_TREND, _ts_slope, mann_kendall_z, median

#: the percentile of the second half that a point must exceed to be part of an early fall
PLATEAU_TOP = 90

__all__: list[str] = []


def lr_axis(ctx: RunContext, steps: np.ndarray) -> np.ndarray | None:
    """The learning rate summed from the run's first step to each of ``steps`` (trapezoids
    over the logged rate, held constant beyond its ends); None when the run logs no usable
    rate (fewer than two finite points, or one that is never positive)."""
    ls, lv = ctx.finite(LR)
    ok = lv >= 0
    ls, lv = ls[ok], lv[ok]
    if len(lv) <= 1 or not (lv > 0).any() or len(steps) == 0:
        return None
    grid = np.union1d(steps, ls[(ls > steps[0]) & (ls < steps[-1])]).astype(np.float64)
    rate = np.interp(grid, ls.astype(np.float64), lv)
    cum = np.concatenate(([0.0], np.cumsum(np.diff(grid) * (rate[1:] + rate[:-1]) / 2)))
    return np.interp(steps.astype(np.float64), grid, cum)


def _line(x: np.ndarray, v: np.ndarray) -> tuple[float, float] | None:
    """Slope and intercept of the Theil-Sen line (the intercept: the median residual)."""
    slope = _ts_slope(x, v)
    return None if slope is None else (slope, float(np.median(v - slope * x)))


def slow_shape(x: np.ndarray, v: np.ndarray, end_share: float, early_share: float,
               floor: float = -np.inf) -> dict[str, float]:
    """Three numbers of a curve ``v`` over the axis ``x``, from Theil-Sen lines (medians of
    pairwise slopes: per-batch noise and single spikes do not move them).

    The curve starts at the highest of: the line over the whole curve at its first point,
    the median of the first ``early_share`` of the points (at least three: a fast first drop
    the line over the whole run does not follow is real progress) and the first point alone
    when it sits further above that line than any other point strays from it (a drop inside
    the first logging window). It ends where the line over the whole curve ends.

    ``fall``: start minus end, over the start (relative). ``decel``: the fall over the first
    half of the axis over the fall over the second, the middle and the end read off the line
    over the second half (about 1 for a straight fall, large for a curve that flattened;
    infinite when the second half does not fall). ``end_pace``: the slope over the last
    ``end_share`` of the axis (three points at least) over the average slope from start to
    end (about 1 while it still falls at its average pace, 0 once flat). Only ``fall`` when
    the curve did not fall; empty when it is too short. ``floor``: what the curve is known to
    have started from at least (the loss of uniform predictions, when its first logged
    point came after the run's first steps).
    """
    if len(v) < 2 * MIN_POINTS_TREND or not x[-1] > x[0]:
        return {}
    mid = (x[0] + x[-1]) / 2
    half = x <= mid
    whole, second = _line(x, v), _line(x[~half], v[~half]) if (~half).sum() >= MIN_POINTS_TREND else None
    if whole is None or second is None or half.sum() < MIN_POINTS_TREND:
        return {}
    line = whole[1] + whole[0] * x
    stray = float(np.abs(v[1:] - line[1:]).max())
    early = float(np.median(v[:max(MIN_POINTS_TREND, int(len(v) * early_share))]))
    lone = float(v[0]) if v[0] - line[0] > stray else -np.inf
    start = max(float(line[0]), early, lone, floor)
    end = float(line[-1])
    out = {"fall": (start - end) / abs(start) if start else np.inf}
    if not end < start:  # it did not fall: no pace to compare
        return out
    m, end2 = (second[1] + second[0] * float(t) for t in (mid, x[-1]))
    out["decel"] = (start - m) / (m - end2) if m > end2 else np.inf
    tail = x >= min(x[-1] - end_share * (x[-1] - x[0]), x[-MIN_POINTS_TREND])  # three points at least
    e = _ts_slope(x[tail], v[tail])
    if e is not None:
        out["end_pace"] = e * float(x[-1] - x[0]) / (end - start)
    return out


@feature("slow_fall", "slow_decel", "slow_end_pace", "val_slow_fall", "val_slow_decel",
         "val_slow_end_pace", "slow_axis", "val_slow_note", "train_fall_before_val", "slow_story",
         "val_short_fall", "val_short_end_pace", params=("end_share", "early_share", *K_PARAMS))
def slow(ctx: RunContext) -> dict[str, Value]:
    """The shape of the train and the validation loss that tells a rate-limited run (see
    :func:`slow_shape`): how far each fell, whether it bent, whether it still falls at the
    end, read against the summed learning rate when the run logs one. None where a curve is
    too short; only the fall where it did not fall.

    A classifier's train loss logged first after its first steps (every 50 steps, say) is
    read from ln K at the least: an untrained classifier starts there, and a first logged
    point far below it says the run already learned fast before anything was written.
    """
    out: dict[str, Value] = {"slow_axis": "the steps"}
    n_classes = classes(ctx)["k"]
    for prefix, metric in (("", TRAIN), ("val_", VAL)):
        s, v = ctx.finite(metric)
        x = lr_axis(ctx, s)
        if x is None:
            x = s.astype(np.float64)
        elif metric == TRAIN:
            out["slow_axis"] = "the summed learning rate"
        late_start = metric == TRAIN and n_classes and len(s) and s[0] > 1
        floor = math.log(n_classes) if late_start else -np.inf
        shape = slow_shape(x, v, ctx.param("end_share"), ctx.param("early_share"), floor)
        for k, val in shape.items():
            out[f"{prefix}slow_{k}"] = val
    out["train_fall_before_val"] = _fall_before(ctx)
    out.update(_short(ctx))
    vf, ve = out.get("val_slow_fall"), out.get("val_slow_end_pace")
    out["val_slow_note"] = (f"; the validation loss likewise (fell {vf:.0%}, still falling at the end)"
                            if vf is not None and ve is not None and vf > 0 and ve > 0 else "")
    out["slow_story"] = _story(ctx, out)
    return out


def point_by_point(s: np.ndarray, v: np.ndarray) -> dict[str, Value]:
    """A log too short for trend lines (a few epochs), read point by point, only when every
    point is lower than the one before (empty otherwise): its relative fall (``fall``), the
    pace of its last point against its average pace (``end_pace``: 1 for a straight line, near
    0 once it levelled off), and the share of the fall made over the last fifth of the steps
    (``tail_share``) with that stretch's fall relative to where it began (``tail_rel``), the
    value where it begins read off the line between the points around 80% of the steps, as a
    labeller reads it off the plot."""
    if len(v) < MIN_POINTS_TREND or not (np.diff(v) < 0).all() or not v[0]:
        return {}
    fall, last_share = float((v[0] - v[-1]) / abs(v[0])), float((v[-2] - v[-1]) / (v[0] - v[-1]))
    at = float(np.interp(s[0] + 0.8 * (s[-1] - s[0]), s, v))
    return {"fall": fall, "points": len(v), "first": float(v[0]), "last": float(v[-1]),
            "first_step": int(s[0]), "last_step": int(s[-1]),
            "tail_share": float((at - v[-1]) / (v[0] - v[-1])),
            "tail_rel": float((at - v[-1]) / abs(at)) if at else None,
            "end_pace": last_share * (len(v) - 1), "last_share": last_share}


def _evaluations(ctx: RunContext) -> tuple[np.ndarray, np.ndarray]:
    """The validation loss's evaluations, without a last one a single step after the one
    before it when the others are further apart: the final weights evaluated again after
    training (Lightning's ``trainer.validate`` after ``fit``), not a point of the curve."""
    s, v = ctx.finite(VAL)
    if len(s) >= 4 and s[-1] - s[-2] <= 1 and np.diff(s[:-1]).min() > 1:
        s, v = s[:-1], v[:-1]
    return s, v


def _val_point_by_point(ctx: RunContext) -> dict[str, Value]:
    """:func:`point_by_point` of the validation evaluations, once per run (DG206's sentence
    and DG221's short-log features both read it)."""
    key = "val_point_by_point"
    if key not in ctx._cache:
        ctx._cache[key] = point_by_point(*_evaluations(ctx))
    return ctx._cache[key]


def _short(ctx: RunContext) -> dict[str, Value]:
    """A validation log too short for trend lines, read point by point
    (:func:`point_by_point`), as ``val_short_*``, with DG206's sentence."""
    r = _val_point_by_point(ctx)
    if not r:
        return {}
    out: dict[str, Value] = {"val_short_fall": r["fall"], "val_short_end_pace": r["end_pace"]}
    out["val_short_story"] = (
        f"validation loss fell {r['fall']:.0%} over {r['points']} evaluations "
        f"({r['first']:.4g} at step {r['first_step']} to {r['last']:.4g} at step "
        f"{r['last_step']}), each lower than the one before and the last still bringing "
        f"{r['last_share']:.0%} of the fall: the run stopped while still improving at pace")
    return out


@feature("short_metric", "short_points", "short_tail_share", "short_tail_rel", "short_first",
         "short_last", "short_first_step", "short_last_step", "short_before_peak", "short_how")
def short_log(ctx: RunContext) -> dict[str, Value]:
    """The monitored loss of a short log read point by point (:func:`point_by_point`): the
    validation loss when it was evaluated at least three times, else the train loss (a
    fine-tune that logs its windowed train loss a few times and never evaluates); empty
    unless every point is lower than the one before, or every point from the highest on is
    and the last is the lowest of all (a fine-tune's second evaluation above its first, in the
    warm-up, then lower at each: ``short_before_peak`` counts the points before that highest
    one, 0 for a log lower at every point). Shares and falls are measured from the first point,
    as for a log lower at every point."""
    if len(_evaluations(ctx)[1]) >= MIN_POINTS_TREND:
        (s, v), name = _evaluations(ctx), VAL
    else:
        (s, v), name = ctx.finite(TRAIN), TRAIN
    peak = int(np.argmax(v)) if len(v) else 0
    r = _val_point_by_point(ctx) if name == VAL else point_by_point(s, v)
    before = 0
    if not r and 0 < peak and len(v) - peak >= MIN_POINTS_TREND and v[-1] < v[:peak].min() \
            and point_by_point(s[peak:], v[peak:]):
        # the fall measured as a labeller reads it off the plot: from the first point
        at = float(np.interp(s[0] + 0.8 * (s[-1] - s[0]), s, v))
        r = {"points": len(v), "first": float(v[0]), "last": float(v[-1]),
             "first_step": int(s[0]), "last_step": int(s[-1]),
             "tail_share": float((at - v[-1]) / (v[0] - v[-1])),
             "tail_rel": float((at - v[-1]) / abs(at)) if at else None}
        before = peak
    if not r:
        return {}
    how = (f"lower at each of its {r['points']} logged points" if not before else
           f"lower at each of its last {len(v) - peak} logged points after a rise to "
           f"{float(v[peak]):.4g} at step {int(s[peak])}, and at its end below every one before")
    return {"short_metric": name, "short_before_peak": before, "short_how": how,
            **{f"short_{k}": r[k] for k in (
                "points", "tail_share", "tail_rel", "first", "last", "first_step", "last_step")}}


def _story(ctx: RunContext, out: dict[str, Value]) -> str | None:
    """The message's sentence in logged values: of the train loss, or of the validation loss
    when no train loss is logged (a log of evaluations only), or of a short validation log
    read point by point when neither curve is long enough for trend lines."""
    if out.get("slow_fall") is None and out.get("val_slow_fall") is None and "val_short_story" in out:
        return str(out.pop("val_short_story"))
    out.pop("val_short_story", None)
    s, v = ctx.finite(TRAIN)
    name, fall, note = "train", out.get("slow_fall"), out["val_slow_note"]
    if not len(v):
        s, v = ctx.finite(VAL)
        name, fall, note = "validation", out.get("val_slow_fall"), " (no train loss is logged)"
    if fall is None or not len(v):
        return None
    return (f"{name} loss fell {fall:.0%} (its trend line; logged {float(v[0]):.4g} at step "
            f"{int(s[0])}, {float(v[-1]):.4g} at step {int(s[-1])}) in a nearly straight line and "
            f"still falls at the end: learning is rate-limited, not finished{note}")


def _fall_before(ctx: RunContext) -> float | None:
    """The share of the train loss's fall (the median of its first points to the median of
    its last) that came before the first validation step: near 1 when validation was first
    evaluated after the fast early drop, so that its curve sees only the slow tail. 0 when
    the train loss is too short or too noisy to show a fall, or none of it was logged before
    that step (nothing says validation came late); None without validation."""
    ts, tv = ctx.finite(TRAIN)
    vs, _ = ctx.finite(VAL)
    if len(vs) == 0:
        return None
    if len(tv) < 2 * MIN_POINTS_TREND:
        return 0.0
    start, end = float(np.median(tv[:MIN_POINTS_TREND])), float(np.median(tv[-MIN_POINTS_TREND:]))
    before = tv[ts <= vs[0]]
    if not start > end or len(before) == 0:
        return 0.0
    at = float(np.median(before[-MIN_POINTS_TREND:]))
    return (start - at) / (start - end)


@feature("train_early_z", "train_early_fall", params=K_PARAMS)
def early_fall(ctx: RunContext) -> dict[str, Value]:
    """A fall at the start of a long log, before a plateau. The points at the start that all
    sit above the 90th percentile of the second half (a plateau's own noise puts a point there
    one time in ten, three in a row one time in a thousand) are the early fall, when there are
    at least three: ``train_early_fall`` is the fall from the median of the first three points
    to the median of the second half, relative, and ``train_early_z`` the Mann-Kendall z of those
    points and the first one past them (strongly negative for a sustained fall, never below
    -1.6 for four points or fewer). A LoRA fine-tune that drops 35% in its first 600 of 7,500
    steps, or a control model whose loss falls from 0.76 to 0.1 in its first epoch of 18,700
    logged points, learned, although its trend line over the whole run is flat. Both 0 (no
    sign of an early fall) for logs under ``MIN_POINTS_EARLY`` points and for classifiers with
    a known K, whose fall to ln K and stay there is the chance-level reading's matter."""
    _, v = ctx.finite(TRAIN)
    n = len(v)
    none = {"train_early_z": 0.0, "train_early_fall": 0.0}
    if n < MIN_POINTS_EARLY or classes(ctx)["k"]:
        return none
    half = n // 2
    rest = v[half:]
    band_top = np.percentile(rest, PLATEAU_TOP)
    above = v[:half] > band_top
    lead = int(np.argmin(above)) if not above.all() else len(above)
    if lead < MIN_POINTS_TREND:
        return none
    a = median(v[:MIN_POINTS_TREND])
    # thinned to a hundred points: a fall that long is sustained far past the bar anyway
    return {"train_early_z": mann_kendall_z(v[:lead + 1], most=MIN_POINTS_EARLY),
            "train_early_fall": (a - median(rest)) / abs(a) if a else None}
