"""Numeric helpers the features share: smoothing windows, a rolling median, trend tests.

Pure functions of arrays (no run, no context): small, typed, unit-tested.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._registry import Value


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


#: How many points a measurement needs before it can be computed at all (not verdicts:
#: below these the feature says nothing, and every rule that reads it stays silent).
MIN_POINTS_SHAPE = 5  # the shape of a curve: decel, oscillation, the last-20% share
MIN_POINTS_SPIKES = 20  # a rolling median and a noise level to judge spikes against
MIN_POINTS_TREND = 3  # a Mann-Kendall statistic
MIN_POINTS_HALVES = 4  # a change over the second half of a curve


def value_at(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Values of a step-indexed curve at other steps (linear interpolation, clamped)."""
    if len(steps) == 0:
        return np.full(len(at), np.nan)
    return np.interp(at.astype(np.float64), steps.astype(np.float64), values)


def rel_change(a: float | None, b: float | None) -> float | None:
    """(a - b) / |b|, or None when it cannot be said."""
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or b == 0:
        return None
    return (a - b) / abs(b)


def safe_ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return a / b

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
    slope = _ts_slope(s, v, most)
    if slope is None:
        return None
    level = float(np.median(v))
    return -slope * float(s[-1] - s[0]) / abs(level) if level else None


def _ts_slope(s: np.ndarray, v: np.ndarray, most: int = 400) -> float | None:
    """The Theil-Sen slope: the median of the pairwise slopes of (at most ``most``) points."""
    idx = _thin(v, most)
    x, y = s[idx].astype(np.float64), v[idx]
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        return None
    return float(np.median((y[j] - y[i])[ok] / dx[ok]))


def trend_decel(s: np.ndarray, v: np.ndarray) -> float | None:
    """``decel_ratio`` from Theil-Sen slopes of each half of the steps instead of end points:
    about 1 for a steady fall, large when the second half flattened; robust to noise."""
    if len(v) < 2 * MIN_POINTS_TREND:
        return None
    half = s <= (s[0] + s[-1]) / 2
    a, b = _ts_slope(s[half], v[half]), _ts_slope(s[~half], v[~half])
    if a is None or b is None or a >= 0:
        return None
    return a / b if b < 0 else 1e12


def level_drop(v: np.ndarray) -> float | None:
    """Median of the first fifth over the median of the last fifth, as a relative fall."""
    if len(v) < MIN_POINTS_SHAPE:
        return None
    q = max(1, len(v) // 5)
    a, b = float(np.median(v[:q])), float(np.median(v[-q:]))
    return (a - b) / abs(a) if a else None


def decel_ratio(s: np.ndarray, v: np.ndarray) -> float | None:
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
