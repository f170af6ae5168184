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
from typing import Any, Callable, Mapping

import numpy as np

from .findings import Group
from .run import Run

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

Value = float | int | str | None


@dataclass(frozen=True)
class FeatureSpec:
    """One registered function and the names it provides."""

    fn: Callable[[Any], Mapping[str, Value]]
    provides: tuple[str, ...]
    scope: str  # "run" | "group"
    doc: str
    #: rule parameters (``[params.*]`` of some rule file) the measurement reads
    params: tuple[str, ...] = ()


#: provided name -> spec (a function providing several names appears several times).
FEATURES: dict[str, FeatureSpec] = {}

#: Parameter name -> default, for the parameters features read. Filled by the rule loader
#: from the ``[params.*]`` tables of the rule files that declare them: the thresholds live
#: in the rule files, documented and bounded, never in this module.
PARAM_DEFAULTS: dict[str, float | int] = {}
#: Set by the rule loader: fills PARAM_DEFAULTS from the shipped rule files on first need
#: (a worker process that received rules but never loaded them).
DEFAULTS_LOADER: list[Callable[[], None]] = []


def feature_params() -> set[str]:
    """Every parameter name some feature reads."""
    return {p for spec in FEATURES.values() for p in spec.params}


def feature(*provides: str, scope: str = "run", params: tuple[str, ...] = ()) -> Callable:
    """Register ``fn(ctx) -> {name: value}`` as the provider of ``provides``.

    ``params``: the rule parameters the function reads through :meth:`RunContext.param`.
    """

    def deco(fn: Callable) -> Callable:
        spec = FeatureSpec(fn, provides, scope, (fn.__doc__ or "").strip().split("\n")[0],
                           tuple(params))
        for name in provides:
            if name in FEATURES and FEATURES[name].fn is not fn:
                raise ValueError(f"feature name {name!r} registered twice")
            FEATURES[name] = spec
        return fn

    return deco


def group_feature(*provides: str) -> Callable:
    """Register a feature over a group of runs (seed groups, sweeps)."""
    return feature(*provides, scope="group")


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


@dataclass
class GroupContext:
    """What a group-scope feature sees: the group, its runs, and per-run summaries.

    ``summaries`` holds the small per-run numbers (best/final validation metric,
    train time, ...) so group rules never touch raw curves.
    """

    group: Group
    runs: list[Run]
    summaries: dict[str, dict[str, Any]]
    metric: str = "val/loss"
    mode: str = "min"
    #: The metric the user asked to select by (``--by``), may be a training metric.
    by: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict)


def compute(names: set[str] | list[str], ctx: Any) -> dict[str, Value]:
    """Evaluate the feature functions that provide ``names`` (each function once)."""
    out: dict[str, Value] = {}
    done: set[int] = set()
    for name in names:
        spec = FEATURES.get(name)
        if spec is None or id(spec.fn) in done:
            continue
        done.add(id(spec.fn))
        vals = spec.fn(ctx)
        for k in spec.provides:
            out[k] = _clean(vals.get(k))
    return out


def _clean(v: Any) -> Value:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return float(bool(v))
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)


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
#: How many points a measurement needs before it can be computed at all (not verdicts:
#: below these the feature says nothing, and every rule that reads it stays silent).
MIN_POINTS_SHAPE = 5  # the shape of a curve: decel, oscillation, the last-20% share
MIN_POINTS_SPIKES = 20  # a rolling median and a noise level to judge spikes against
MIN_POINTS_TREND = 3  # a Mann-Kendall statistic
MIN_POINTS_HALVES = 4  # a change over the second half of a curve


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


@feature("train_points", "train_first", "train_last", "train_start", "train_end", "train_min",
         "train_drop", "train_trend_z", "train_trend_drop", "train_level_drop", "first_step",
         "last_step", "steps_run", "decel")
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
        "train_level_drop": _level_drop(raw),
        "decel": _decel(s, v),
        "first_step": first,
        "last_step": last,
        "steps_run": last - first,
    }


def mann_kendall_z(v: np.ndarray, most: int = 400) -> float | None:
    """Mann-Kendall trend statistic of a series (evenly thinned to ``most`` points).

    Positive for a rising series, negative for a falling one; about standard normal
    when the order of the values is random. None for fewer than three points.
    """
    n = len(v)
    if n < MIN_POINTS_TREND:
        return None
    if n > most:
        v = v[_thin(v, most)]
        n = most
    d = np.sign(v[None, :] - v[:, None])
    s = float(np.triu(d, 1).sum())
    var = n * (n - 1) * (2 * n + 5) / 18.0
    return (s - np.sign(s)) / math.sqrt(var)


def _thin(v: np.ndarray, most: int) -> np.ndarray:
    """Evenly spaced indices of at most ``most`` of ``len(v)`` points."""
    return np.linspace(0, len(v) - 1, min(len(v), most)).astype(np.int64)


def theil_sen_drop(s: np.ndarray, v: np.ndarray, most: int = 400) -> float | None:
    """How far the Theil-Sen line (median of pairwise slopes) falls over the run, relative
    to the median value: robust to spikes and to where the two end points happen to land."""
    if len(v) < MIN_POINTS_TREND:
        return None
    idx = _thin(v, most)
    x, y = s[idx].astype(np.float64), v[idx]
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        return None
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok]))
    level = float(np.median(y))
    return -slope * float(x[-1] - x[0]) / abs(level) if level else None


def _level_drop(v: np.ndarray) -> float | None:
    """Median of the first fifth over the median of the last fifth, as a relative fall."""
    if len(v) < MIN_POINTS_SHAPE:
        return None
    q = max(1, len(v) // 5)
    a, b = float(np.median(v[:q])), float(np.median(v[-q:]))
    return (a - b) / abs(a) if a else None


def _decel(s: np.ndarray, v: np.ndarray) -> float | None:
    """Drop in the first half of the steps over the drop in the second half.

    About 1 for a straight line (learning at a constant, rate-limited pace),
    large for a curve that fell fast and flattened. None when it did not fall.
    """
    if len(v) < MIN_POINTS_SHAPE:
        return None
    mid = float(np.interp((s[0] + s[-1]) / 2, s, v))
    first, second = float(v[0]) - mid, mid - float(v[-1])
    if first <= 0:
        return None
    return first / second if second > 1e-12 * abs(first) else 1e12


# ---------------------------------------------------------------------------------------
# the number of classes, from the config and from the curves
# ---------------------------------------------------------------------------------------
def _median_tail(ctx: RunContext, metric: str) -> float | None:
    """Median of the second half of a metric's logged values."""
    _, v = ctx.finite(metric)
    return float(np.median(v[len(v) // 2:])) if len(v) else None


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
    k_cfg = ctx.run.num_classes or _int_param(ctx.run, "num_classes", "n_classes", "num_labels")
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
    k = k_cfg or k_acc
    if k_acc and k_cfg and k_acc != k_cfg and fits(k_acc) and not fits(k_cfg):
        k = k_acc
        note = (f"; the config says {k_cfg} classes, but validation accuracy "
                f"{float(np.median(acc)):.3g} and loss {loss:.4g} are those of uniform "
                f"predictions over {k_acc} classes (ln {k_acc} = {math.log(k_acc):.4g})")
    source = (f" (K = {k} read off the validation accuracy, {float(np.median(acc)):.3g} ~ 1/{k}: "
              "no number of classes was recorded)") if k and not k_cfg else ""
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
                 "chance_acc_trend_z"))
def nonfinite_values(ctx: RunContext) -> dict[str, Value]:
    """Count NaN/±inf in every metric (all points, never sampled) and where they start.

    The loss "grew first" when it climbed above ``growth_ratio`` times where it started, or
    when the growth was hidden inside the first logging window: its first logged value was
    already ``max_init_ratio`` times ln K, or the log is sparse (logged every few steps) and
    turned non-finite at or right after its first point.
    """
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
    k = classes(ctx)["k"]
    init_high = bool(len(before) and k and before[0] > ctx.param("max_init_ratio") * math.log(k))
    gaps = np.diff(s)
    sparse = bool(len(gaps) and float(np.median(gaps)) > 1)
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
         params=("blowup_factor", "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z"))
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
        "peak_ratio": _ratio(float(fv[i]), ref),
        "peak_step": int(fs[i]),
        "blowup_value": float(fv[i]),
        "blowup_from": first,
        "final_ratio": _ratio(float(sm[-1]), ref),
        "end_over_first": _ratio(float(sm[-1]), first),
        # the peak of the smoothed curve: a sustained rise lifts it, a one-batch spike does not
        "smooth_peak_ratio": _ratio(float(sm.max()), ref),
        "init_over_chance": first / lnk if lnk else 0.0,
        "end_over_chance": float(sm[-1]) / lnk if lnk else 0.0,
        "peak_over_chance": float(fv[i]) / lnk if lnk else 0.0,
        "val_min_over_chance": float(vv.min()) / lnk if lnk and len(vv) else 0.0,
        "val_end_over_chance": float(vv[-1]) / lnk if lnk and len(vv) else 0.0,
    }
    if first > 0:
        above = ~np.isfinite(v) | (v > ctx.param("blowup_factor") * first)
        if above.any():
            idx = np.flatnonzero(above)
            out["blowup_first_step"] = int(s[idx[0]])
            out["blowup_last_step"] = int(s[idx[-1]])
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


@feature("spike_count", "spike_max_ratio", "spike_first_step", "spike_last_step",
         params=("spike_z", "spike_min_ratio", "spike_recover_share", "spike_min_height",
                 "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z"))
def spikes(ctx: RunContext) -> dict[str, Value]:
    """Isolated upward spikes of the train loss that come back down.

    A point is a spike when it is far above the local rolling median, both relatively
    (``spike_min_ratio``) and against the run's own noise (robust z above ``spike_z``,
    MAD-scaled), and tall on the run's own scale (``spike_min_height`` of the first
    loss, or of ln K when that is larger: a classifier's scale is chance level); it counts only if the loss afterwards falls back at least
    ``spike_recover_share`` of the way to its earlier level. Consecutive spike points
    form one event.
    """
    s, v = ctx.finite(TRAIN)
    n = len(v)
    if n < MIN_POINTS_SPIKES:
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
    min_ratio = ctx.param("spike_min_ratio")
    cand = (resid / scale > ctx.param("spike_z")) & (ratio > min_ratio)
    # a spike jumps up from where the loss just was: the steep fall at the start of
    # training (first points far above the later level) is not one
    k = max(3, w // 4)
    cand[:k] = False
    if cand.any():
        idx = np.flatnonzero(cand)
        before = np.array([np.median(v[i - k:i]) for i in idx])
        cand[idx[v[idx] < min_ratio * before]] = False
    if not cand.any():
        return {"spike_count": 0}
    idx = np.flatnonzero(cand)
    events = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    kept, max_ratio = [], 0.0
    min_height = ctx.param("spike_min_height") * (run_scale(ctx) or 0.0)
    share = ctx.param("spike_recover_share")
    for ev in events:
        a, b = int(ev[0]), int(ev[-1])
        level = float(np.median(v[max(0, a - k):a]))
        top = float(np.max(v[a: b + 1]))
        after = v[b + 1: b + 1 + w]
        if len(after) == 0 or float(np.median(after)) - level > (1 - share) * (top - level):
            continue  # did not come back: that is divergence, not a spike
        if top - level < min_height:
            continue  # small on the run's own scale: noise at any ratio
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
    if len(v) < MIN_POINTS_SHAPE:
        return {}
    rng = float(v.max() - v.min())
    if rng <= 0:
        return {"oscillation": 1.0}
    return {"oscillation": float(np.abs(np.diff(v)).sum()) / rng}


@feature("val_points", "val_first", "val_best", "val_best_step", "val_best_pos", "val_end",
         "val_last", "val_rise", "val_rise_of_drop", "val_rise_of_scale", "val_improvement",
         "val_last_step",
         "val_evals_after_best", "val_trend_after_best", "train_drop_after_best",
         params=("chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z"))
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
        "val_rise": _rel(float(v[-1]), float(v[j])),
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
        t_best, t_end = _at(ts, tv, np.array([rs[i], rs[-1]]))
        out["train_drop_after_best"] = (t_best - t_end) / abs(t_best) if t_best else None
    return out


@feature("gap_end", "gap_ratio_end", "gap_rel_end", "gap_best", "gap_ratio_best", "gap_rel_best",
         "train_at_val_end", "train_at_val_best", "gap_first_step",
         params=("gap_start", "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z"))
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
    train_at = _at(ts, tv, vs)
    i = int(np.argmin(vv))
    _, vsm = ctx.smoothed(VAL)
    scale = run_scale(ctx)
    out: dict[str, Value] = {
        "train_at_val_end": float(train_at[-1]),
        "train_at_val_best": float(train_at[i]),
        "gap_end": float(vsm[-1] - train_at[-1]),
        "gap_best": float(vv[i] - train_at[i]),
        "gap_ratio_end": _ratio(float(vsm[-1]), float(train_at[-1])),
        "gap_ratio_best": _ratio(float(vv[i]), float(train_at[i])),
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
        t_end = float(_at(ts, tv, vs[-1:])[0])
        out["acc_gap_end"] = t_end - float(vsm[-1])
        ls, lv = ctx.finite(VAL)
        if len(lv):
            at = float(ls[int(np.argmin(lv))])
            out["acc_gap_best"] = float(_at(ts, tv, np.array([at]))[0] - _at(vs, vv, np.array([at]))[0])
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
    j = int(np.searchsorted(s, cut))
    j = min(j, len(v) - 2)
    total = float(v[0] - v.min())
    tail = float(v[j] - v[-1])
    _, rv = ctx.finite(VAL)
    return {
        "tail_share": tail / total if total > 0 else None,
        "tail_drop_rel": tail / abs(float(v[j])) if v[j] else None,
        "tail_metric": name,
        "tail_start_step": int(s[j]),
        "tail_val_rise": (_rel(float(rv[-1]), float(rv.min())) or 0.0) if len(rv) else 0.0,
    }


@feature("num_classes", "lnk", "lnk_ratio_end", "lnk_ratio_val", "second_half_change",
         "chance_dev", "chance_dev_val", "chance_note", "k_note",
         params=("chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z"))
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
    s, v = s[ok], v[ok]
    out: dict[str, Any] = {"metric": metric, "n_points": int(len(v)),
                           "last_step": (run.step_range or (None, None))[1]}
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
    c = ctx if ctx is not None and ctx.run is run else RunContext(run)
    si = still_improving(c)
    share = si.get("tail_share")
    out["still_improving"] = None if share is None else bool(
        share > c.param("min_share") and (si.get("tail_drop_rel") or 0) > c.param("min_tail_drop"))
    out["errors"] = []
    return out
