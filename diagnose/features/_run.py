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
from typing import Any, Callable

import numpy as np

from ..run import Run
from ._registry import FEATURES, FeatureSpec, GroupContext, Value, compute, feature, group_feature

__all__ = [
    "FEATURES",
    "FeatureSpec",
    "GroupContext",
    "RunContext",
    "compute",
    "feature",
    "group_feature",
    "window",
]

@dataclass
class RunContext:
    """What a run-scope feature sees: the run, plus cached shared computations."""

    run: Run
    #: True while training is still going (live checks): end-only features may say less.
    live: bool = False
    _cache: dict[str, Any] = field(default_factory=dict)

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
# numeric helpers
# ---------------------------------------------------------------------------------------
def window(n: int, fraction: float = 0.05, lo: int = 1, hi: int = 501) -> int:
    """An odd smoothing window that grows with run length: ~5 % of the points."""
    w = max(lo, min(hi, int(round(n * fraction))))
    if w % 2 == 0:
        w += 1
    return max(1, min(w, n if n % 2 else n - 1))


_FILTER: dict[str, Any] = {"work": 0, "fn": None}


def _median_filter(work: int) -> Callable | None:
    """scipy's median filter, once enough medians were asked for to repay importing it.

    Optional: without scipy the numpy path gives the same values, slower.
    """
    f = _FILTER
    if f["fn"] is None:
        f["work"] += work
        if f["work"] < 20_000_000 or "scipy" in f:
            return None
        f["scipy"] = True
        try:
            from scipy.ndimage import median_filter
        except ImportError:
            return None
        f["fn"] = median_filter
    return f["fn"]


def expect_many_medians() -> None:
    """Load the fast median filter now: this process is about to analyse many runs.

    A pool worker calls it at start, instead of first computing medians the slow way
    until they would have paid for the import.
    """
    if _FILTER["fn"] is None and "scipy" not in _FILTER:
        _FILTER["work"] = 1 << 62
        _median_filter(0)


def rolling_median(v: np.ndarray, w: int) -> np.ndarray:
    """Centred rolling median with edge padding, same length as ``v``.

    Exact while ``n * w`` is small; beyond that, medians of blocks of about
    ``w / 5`` points, then the median of the ~5 blocks around each point,
    interpolated back to every point. Either way every value is compared with
    a local level, which is what spike detection needs; the cost stays O(n).
    """
    n = len(v)
    if w < 3 or n < 3:
        return v.astype(np.float64, copy=True)
    if n * w <= 4_000_000:
        return _rolling_median_exact(v, w)
    b = max(1, w // 5)
    nb = n // b
    blocks = np.median(v[: nb * b].reshape(nb, b), axis=1)
    if nb * b < n:
        blocks = np.append(blocks, np.median(v[nb * b:]))
    centres = np.minimum(np.arange(len(blocks)) * b + (b - 1) / 2, n - 1)
    # the exact median of the 5 blocks around each point (at any length: 5 is small)
    level = _rolling_median_exact(blocks, 5) if len(blocks) >= 5 else blocks
    return np.interp(np.arange(n, dtype=np.float64), centres, level)


def _rolling_median_exact(v: np.ndarray, w: int) -> np.ndarray:
    """The centred median of every window of ``w`` (odd) values, reflected at the ends."""
    n = len(v)
    fast = _median_filter(n * w) if w <= n else None
    if fast is not None and v.dtype == np.float64 and np.isfinite(v).all():
        # the same medians of the same reflected windows (w is odd: each is one of
        # the values, so the result is identical), an order of magnitude sooner
        return fast(v, size=w, mode="mirror")
    from numpy.lib.stride_tricks import sliding_window_view

    half = w // 2
    return np.median(sliding_window_view(np.pad(v, half, mode="reflect"), w), axis=1)


def smooth(v: np.ndarray, fraction: float = 0.05) -> np.ndarray:
    """Centred rolling median (robust to single spikes) then mean; same length as ``v``."""
    n = len(v)
    w = window(n, fraction)
    if n < 3 or w < 3:
        return v.astype(np.float64, copy=True)
    half = w // 2
    med = rolling_median(v, w)
    c = np.cumsum(np.pad(med, (half + 1, half), mode="reflect"))
    return (c[w:] - c[:-w]) / w


def nan_if_none(x: Value) -> float:
    return math.nan if x is None else float(x)


# ---------------------------------------------------------------------------------------
# run features
# ---------------------------------------------------------------------------------------
TRAIN, VAL = "train/loss", "val/loss"


def _at(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Values of a step-indexed curve at other steps (linear interpolation, clamped)."""
    if len(steps) == 0:
        return np.full(len(at), np.nan)
    return np.interp(at.astype(np.float64), steps.astype(np.float64), values)


def _rel(a: float | None, b: float | None) -> float | None:
    """(a - b) / |b|, or None when it cannot be said."""
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or b == 0:
        return None
    return (a - b) / abs(b)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return a / b


@feature("train_points", "train_first", "train_start", "train_end", "train_min", "train_drop",
         "first_step", "last_step", "steps_run", "decel")
def train_curve(ctx: RunContext) -> dict[str, Value]:
    """Where the smoothed train loss starts and ends, and how much it fell (relative)."""
    s_all, _ = ctx.arrays(TRAIN)
    s, v = ctx.smoothed(TRAIN)
    _, raw = ctx.finite(TRAIN)
    first, last = ctx.run.step_range or (None, None)
    if len(v) == 0:
        return {"train_points": 0, "first_step": first, "last_step": last,
                "steps_run": None if last is None else last - first}
    return {
        "train_points": len(v),
        "train_first": raw[0],
        "train_start": v[0],
        "train_end": v[-1],
        "train_min": float(v.min()),
        "train_drop": float(v[0] - v[-1]) / abs(float(v[0])) if v[0] else None,
        "decel": _decel(s, v),
        "first_step": first,
        "last_step": last,
        "steps_run": last - first,
    }


def _decel(s: np.ndarray, v: np.ndarray) -> float | None:
    """Drop in the first half of the steps over the drop in the second half.

    About 1 for a straight line (learning at a constant, rate-limited pace),
    large for a curve that fell fast and flattened. None when it did not fall.
    """
    if len(v) < 5:
        return None
    mid = float(np.interp((s[0] + s[-1]) / 2, s, v))
    first, second = float(v[0]) - mid, mid - float(v[-1])
    if first <= 0:
        return None
    return first / second if second > 1e-12 * abs(first) else 1e12


@feature("nonfinite", "nonfinite_train", "first_nonfinite_step", "nonfinite_metric",
         "peak_ratio_before_nonfinite", "nonfinite_after_growth", "nonfinite_note")
def nonfinite_values(ctx: RunContext) -> dict[str, Value]:
    """Count NaN/±inf in every metric (all points, never sampled) and where they start."""
    total, first_step, first_metric = 0, None, None
    for name in ctx.run.metric_names:
        s, v = ctx.arrays(name)
        bad = ~np.isfinite(v)
        n = int(bad.sum())
        if n:
            total += n
            st = int(s[np.argmax(bad)])
            if first_step is None or st < first_step:
                first_step, first_metric = st, name
    s, v = ctx.arrays(TRAIN)
    bad = ~np.isfinite(v)
    n_train = int(bad.sum())
    before = v[: int(np.argmax(bad))] if n_train else v
    before = before[np.isfinite(before)]
    peak_before = _ratio(float(before.max()), float(before[0])) if len(before) else None
    return {
        "nonfinite": total,
        "nonfinite_train": n_train,
        "first_nonfinite_step": first_step,
        "nonfinite_metric": first_metric,
        "peak_ratio_before_nonfinite": peak_before,
        # 1 when the train loss grew before turning non-finite: divergence, not a numeric bug
        "nonfinite_after_growth": float(n_train > 0 and (peak_before or 0) > 1.5),
        # a phrase for messages: empty when every value is finite
        "nonfinite_note": (f"; {total} non-finite value(s) (NaN/inf), first in {first_metric} "
                           f"at step {first_step}") if total else "",
    }


@feature("peak_ratio", "peak_step", "final_ratio", "blowup_first_step", "blowup_last_step",
         "blowup_value", "blowup_from", "smooth_peak_ratio")
def explosion(ctx: RunContext) -> dict[str, Value]:
    """Largest finite train loss over the first one, where it happened, and where it ended.

    The blow-up episode spans the raw points above twice the first value (or non-finite).
    """
    s, v = ctx.arrays(TRAIN)
    fs, fv = ctx.finite(TRAIN)
    if len(fv) < 2:
        return {}
    first = float(fv[0])
    i = int(np.argmax(fv))
    out: dict[str, Value] = {
        "peak_ratio": _ratio(float(fv[i]), first),
        "peak_step": int(fs[i]),
        "blowup_value": float(fv[i]),
        "blowup_from": first,
    }
    _, sm = ctx.smoothed(TRAIN)
    out["final_ratio"] = _ratio(float(sm[-1]), first)
    # the peak of the smoothed curve: a sustained rise lifts it, a one-batch spike does not
    out["smooth_peak_ratio"] = _ratio(float(sm.max()), first)
    if first > 0:
        above = ~np.isfinite(v) | (v > 2 * first)
        if above.any():
            idx = np.flatnonzero(above)
            out["blowup_first_step"] = int(s[idx[0]])
            out["blowup_last_step"] = int(s[idx[-1]])
    return out


@feature("spike_count", "spike_max_ratio", "spike_first_step", "spike_last_step")
def spikes(ctx: RunContext) -> dict[str, Value]:
    """Isolated upward spikes of the train loss that come back down.

    A point is a spike when it is far above the local rolling median, both
    relatively (ratio) and against the run's own noise (robust z, MAD-scaled);
    it counts only if the loss returns to its earlier level afterwards.
    Consecutive spike points form one event.
    """
    s, v = ctx.finite(TRAIN)
    n = len(v)
    if n < 20:
        return {"spike_count": 0}
    w = max(5, window(n, 0.02, lo=5, hi=201))
    med = rolling_median(v, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = v / med  # how far above its local level each point is (reused below)
    positive = bool((v > 0).all())  # then every median is positive too
    if positive:
        # multiplicative noise: judge in log space, so early (large) and late (small)
        # losses are held to the same standard
        resid = np.log(q)
    else:
        resid = (v - med) / max(float(np.abs(med).max()), 1e-12)
    # noise is judged locally (a wide rolling MAD): late, memorising phases are noisier
    # in relative terms than the start, and one global scale would flag their wiggles
    wide = min(n if n % 2 else n - 1, 5 * w + (5 * w + 1) % 2)
    mad = rolling_median(np.abs(resid), wide) * 1.4826
    scale = np.maximum(mad, 1e-9)
    ratio = q if positive else np.where(med > 0, q, np.inf)
    cand = (resid / scale > 6) & (ratio > 1.5)
    # a spike jumps up from where the loss just was: the steep fall at the start of
    # training (first points far above the later level) is not one
    k = max(3, w // 4)
    cand[:k] = False
    if cand.any():
        idx = np.flatnonzero(cand)
        before = np.array([np.median(v[i - k:i]) for i in idx])
        cand[idx[v[idx] < 1.5 * before]] = False
    if not cand.any():
        return {"spike_count": 0}
    idx = np.flatnonzero(cand)
    events = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    kept, max_ratio = [], 0.0
    for ev in events:
        a, b = int(ev[0]), int(ev[-1])
        before = med[max(0, a - 1)]
        after = v[b + 1: b + 1 + w]
        if len(after) == 0 or np.median(after) > before * 1.25:
            continue  # did not come back: that is divergence, not a spike
        if float(np.max(v[a: b + 1] - med[a: b + 1])) < 0.01 * abs(float(v[0])):
            continue  # a jump of a hundredth of the initial loss is noise at any ratio
        kept.append((a, b))
        max_ratio = max(max_ratio, float(np.max(ratio[a: b + 1])))
    if not kept:
        return {"spike_count": 0}
    return {
        "spike_count": len(kept),
        "spike_max_ratio": max_ratio,
        "spike_first_step": int(s[kept[0][0]]),
        "spike_last_step": int(s[kept[-1][1]]),
    }


@feature("oscillation")
def oscillation(ctx: RunContext) -> dict[str, Value]:
    """Total variation of the smoothed train loss over its range: 1 = monotone, large = swinging."""
    _, v = ctx.smoothed(TRAIN)
    if len(v) < 5:
        return {}
    rng = float(v.max() - v.min())
    if rng <= 0:
        return {"oscillation": 1.0}
    return {"oscillation": float(np.abs(np.diff(v)).sum()) / rng}


@feature("val_points", "val_first", "val_best", "val_best_step", "val_best_pos", "val_end",
         "val_rise", "val_rise_of_drop", "val_last_step", "val_evals_after_best",
         "train_drop_after_best")
def validation_curve(ctx: RunContext) -> dict[str, Value]:
    """Best smoothed validation loss, where it happened, and how far it rose afterwards."""
    s, v = ctx.smoothed(VAL)
    if len(v) == 0:
        return {"val_points": 0}
    i = int(np.argmin(v))
    first_step, last_step = ctx.run.step_range or (0, 0)
    span = max(1, int(last_step - first_step))
    out: dict[str, Value] = {
        "val_points": len(v),
        "val_first": float(v[0]),
        "val_best": float(v[i]),
        "val_best_step": int(s[i]),
        "val_best_pos": (int(s[i]) - int(first_step)) / span,
        "val_end": float(v[-1]),
        "val_rise": _rel(float(v[-1]), float(v[i])),
        "val_last_step": int(s[-1]),
        "val_evals_after_best": len(v) - 1 - i,
    }
    drop = float(v[0] - v[i])
    out["val_rise_of_drop"] = (float(v[-1] - v[i]) / drop) if drop > 0 else None
    ts, tv = ctx.smoothed(TRAIN)
    if len(tv):
        t_best, t_end = _at(ts, tv, np.array([s[i], s[-1]]))
        out["train_drop_after_best"] = (t_best - t_end) / abs(t_best) if t_best else None
    return out


@feature("gap_end", "gap_ratio_end", "gap_rel_end", "gap_best", "gap_ratio_best", "gap_rel_best",
         "train_at_val_end", "train_at_val_best", "gap_first_step")
def loss_gap(ctx: RunContext) -> dict[str, Value]:
    """Validation minus train loss at the end and at the best validation step.

    Train is smoothed and read at the validation steps; ``gap_rel_*`` divides by
    the initial train loss so the size is judged against the task's own scale.
    """
    vs, vv = ctx.smoothed(VAL)
    ts, tv = ctx.smoothed(TRAIN)
    if len(vv) == 0 or len(tv) == 0:
        return {}
    train_at = _at(ts, tv, vs)
    i = int(np.argmin(vv))
    scale = abs(float(tv[0])) or None
    out: dict[str, Value] = {
        "train_at_val_end": float(train_at[-1]),
        "train_at_val_best": float(train_at[i]),
        "gap_end": float(vv[-1] - train_at[-1]),
        "gap_best": float(vv[i] - train_at[i]),
        "gap_ratio_end": _ratio(float(vv[-1]), float(train_at[-1])),
        "gap_ratio_best": _ratio(float(vv[i]), float(train_at[i])),
    }
    if scale:
        out["gap_rel_end"] = out["gap_end"] / scale
        out["gap_rel_best"] = out["gap_best"] / scale
        wide = (vv - train_at) > 0.1 * scale
        if wide.any():
            out["gap_first_step"] = int(vs[int(np.argmax(wide))])
    return out


@feature("acc_gap_end", "train_acc_end", "val_acc_end", "val_acc_best")
def accuracy_gap(ctx: RunContext) -> dict[str, Value]:
    """Train minus validation accuracy at the end (both smoothed)."""
    out: dict[str, Value] = {}
    vs, vv = ctx.smoothed("val/acc")
    ts, tv = ctx.smoothed("train/acc")
    if len(vv):
        out["val_acc_end"] = float(vv[-1])
        out["val_acc_best"] = float(vv.max())
    if len(tv):
        out["train_acc_end"] = float(tv[-1])
    if len(vv) and len(tv):
        out["acc_gap_end"] = float(_at(ts, tv, vs[-1:])[0] - vv[-1])
    return out


@feature("tail_share", "tail_drop_rel", "tail_metric", "tail_start_step")
def still_improving(ctx: RunContext) -> dict[str, Value]:
    """How much of the total improvement came in the last 20 % of the run.

    Uses the validation loss when it has enough points (it is what selection
    uses), else the train loss. A converged curve has a small share; a curve cut
    off by its budget has a large one.
    """
    name = VAL if len(ctx.finite(VAL)[1]) >= 5 else TRAIN
    s, v = ctx.smoothed(name)
    if len(v) < 5:
        return {}
    cut = s[0] + 0.8 * (s[-1] - s[0])
    j = int(np.searchsorted(s, cut))
    j = min(j, len(v) - 2)
    total = float(v[0] - v.min())
    tail = float(v[j] - v[-1])
    return {
        "tail_share": tail / total if total > 0 else None,
        "tail_drop_rel": tail / abs(float(v[-1])) if v[-1] else None,
        "tail_metric": name,
        "tail_start_step": int(s[j]),
    }


@feature("num_classes", "lnk", "lnk_ratio_end", "lnk_ratio_val", "second_half_change", "at_chance",
         "chance_note")
def uniform_predictions(ctx: RunContext) -> dict[str, Value]:
    """Train/validation loss against ln(K), the cross-entropy of uniform predictions over K classes."""
    k = ctx.run.num_classes or _int_param(ctx.run, "num_classes", "n_classes", "num_labels")
    _, tv = ctx.smoothed(TRAIN)
    out: dict[str, Value] = {"at_chance": 0.0, "chance_note": ""}
    if len(tv) >= 4:
        mid = float(tv[len(tv) // 2])
        out["second_half_change"] = abs(mid - float(tv[-1])) / abs(mid) if mid else None
    if not k or k < 2:
        return out
    lnk = math.log(k)
    _, vv = ctx.smoothed(VAL)
    out.update(
        num_classes=k,
        lnk=lnk,
        lnk_ratio_end=float(tv[-1]) / lnk if len(tv) else None,
        lnk_ratio_val=float(vv[-1]) / lnk if len(vv) else None,
    )
    # 1 when the loss has settled within 5 % of ln(K): uniform predictions, not slow learning
    near = out["lnk_ratio_end"] is not None and abs(out["lnk_ratio_end"] - 1) < 0.05
    change = out.get("second_half_change")
    settled = change is not None and change < 0.02
    val_near = out["lnk_ratio_val"] is None or abs(out["lnk_ratio_val"] - 1) < 0.05
    out["at_chance"] = float(near and settled and val_near)
    if near:
        out["chance_note"] = f", at ln({k}) = {lnk:.3g}, the loss of uniform predictions"
    return out


def _int_param(run: Run, *names: str) -> int | None:
    for n in names:
        v = run.param(n)
        try:
            if v is not None:
                return int(v)
        except (TypeError, ValueError):
            pass
    return None


@feature("lr", "lr_x3", "lr_x10", "lr_div3", "lr_div10", "batch_size", "seed", "optimizer",
         "weight_decay", "dropout", "epochs", "steps_x2", "wd_up", "dropout_up")
def run_context(ctx: RunContext) -> dict[str, Value]:
    """The run's own settings, and nicely rounded neighbours for next-experiment advice."""
    run = ctx.run
    lr = _float(run.param("lr", run.param("learning_rate")))
    if lr is None:
        _, lv = ctx.finite("lr")
        lr = float(lv.max()) if len(lv) else None
    out: dict[str, Value] = {"lr": lr}
    if lr is not None and lr > 0:
        out.update(lr_x3=nice(lr * 3), lr_x10=nice(lr * 10), lr_div3=nice(lr / 3),
                   lr_div10=nice(lr / 10))
    for k in ("batch_size", "seed", "epochs"):
        out[k] = _float(run.param(k))
    for k in ("weight_decay", "dropout"):
        out[k] = _float(run.param(k))
    opt = run.param("optimizer")
    out["optimizer"] = str(opt) if opt is not None else None
    last = (run.step_range or (None, None))[1]
    out["steps_x2"] = 2 * max(last, 1) if last is not None else None
    wd = out["weight_decay"]
    out["wd_up"] = nice(wd * 10) if wd else 1e-4
    dp = out["dropout"]
    out["dropout_up"] = min(0.5, round((dp or 0) + 0.2, 2))
    return out


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def nice(x: float) -> float:
    """Round to one significant figure (10/3 -> 3, 0.01*3 -> 0.03): values people type."""
    if not x or not math.isfinite(x):
        return x
    e = math.floor(math.log10(abs(x)))
    return float(f"{round(x / 10**e):d}e{e}")


# ---------------------------------------------------------------------------------------
# per-run summary for group rules
# ---------------------------------------------------------------------------------------
def run_summary(run: Run, metric: str = VAL, mode: str = "min",
                ctx: RunContext | None = None) -> dict[str, Any]:
    """The small numbers group rules need about one run (no raw curves).

    ``ctx``: the context the run's features were computed in, so its smoothed
    curves are reused rather than computed again.
    """
    s, v = run.arrays(metric)
    ok = np.isfinite(v)
    ends_nonfinite = bool(len(v) and not ok[-1])
    s, v = s[ok], v[ok]
    out: dict[str, Any] = {"metric": metric, "n_points": int(len(v)),
                           "last_step": (run.step_range or (None, None))[1],
                           "first": float(v[0]) if len(v) else None, "ends_nonfinite": ends_nonfinite}
    if len(v):
        i = int(np.argmin(v) if mode == "min" else np.argmax(v))
        out.update(best=float(v[i]), best_step=int(s[i]), final=float(v[-1]), final_step=int(s[-1]))
    else:
        out.update(best=None, best_step=None, final=None, final_step=None)
    ts, tv = run.arrays(TRAIN)
    tv = tv[np.isfinite(tv)]
    out["final_train"] = float(tv[-1]) if len(tv) else None
    out["train_time"] = _float(run.results.get("train_time", run.env.get("train_time")))
    out["peak_memory"] = _float(run.env.get("peak_memory", run.results.get("peak_memory")))
    si = still_improving(ctx if ctx is not None and ctx.run is run else RunContext(run))
    share = si.get("tail_share")
    out["still_improving"] = None if share is None else bool(share > 0.1 and (si.get("tail_drop_rel") or 0) > 0.01)
    out["errors"] = []
    return out
