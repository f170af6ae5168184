"""Numeric helpers the features share: smoothing windows, a rolling median, trend tests.

Pure functions of arrays (no run, no context): small, typed, unit-tested.
"""

from __future__ import annotations

import functools
import math
import threading
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


def rolling_median(v: np.ndarray, w: int, out: np.ndarray | None = None) -> np.ndarray:
    """Centred rolling median with edge padding, same length as ``v``.

    Exact while ``n * w`` is small; beyond that, medians of blocks of about
    ``w / 5`` points, then the median of the ~5 blocks around each point,
    interpolated back to every point. Either way every value is compared with
    a local level, which is what spike detection needs; the cost stays O(n).
    ``out``: where to write it (length ``len(v)``), so a long run needs no other
    buffer of its size.
    """
    n = len(v)
    if w < 3 or n < 3:
        return _into(out, v.astype(np.float64, copy=True))
    if n * w <= 4_000_000:
        return _into(out, _rolling_median_exact(v, w))
    b = max(1, w // 5)
    nb = n // b
    rows = max(1, CHUNK // b)  # np.median copies what it is given: a chunk of blocks at a time
    blocks = np.concatenate([np.median(v[i * b:min(nb, i + rows) * b].reshape(-1, b), axis=1)
                             for i in range(0, nb, rows)])
    if nb * b < n:
        blocks = np.append(blocks, np.median(v[nb * b:]))
    centres = np.minimum(np.arange(len(blocks)) * b + (b - 1) / 2, n - 1)
    # the exact median of the 5 blocks around each point (at any length: 5 is small)
    level = _rolling_median_exact(blocks, 5) if len(blocks) >= 5 else blocks
    out = np.empty(n) if out is None else out
    for a in range(0, n, CHUNK):  # the positions, a chunk at a time: no n-long temporary
        e = min(n, a + CHUNK)
        out[a:e] = np.interp(np.arange(a, e, dtype=np.float64), centres, level)
    return out


#: Points handled at once where a whole-series temporary would cost memory (long runs).
CHUNK = 1 << 18


def _into(out: np.ndarray | None, got: np.ndarray) -> np.ndarray:
    if out is None:
        return got
    out[:] = got
    return out


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


def smooths(n: int, fraction: float = 0.05) -> bool:
    """Whether :func:`smooth` changes a series of ``n`` points (its window is wider than one
    point): what a message may call "smoothed" is read as logged when it does not."""
    return window(n, fraction) > 1


def smooth(v: np.ndarray, fraction: float = 0.05) -> np.ndarray:
    """Centred rolling median (robust to single spikes) then mean; same length as ``v``.

    One buffer of the series' length (plus the window): the medians are written into
    it between their reflected ends, summed up in place, and the window means taken
    in place (a chunk at a time), as ``np.pad``, ``np.cumsum`` and a difference would
    give them.
    """
    n = len(v)
    w = window(n, fraction)
    if n < 3 or w < 3:
        return v.astype(np.float64, copy=True)
    half = w // 2
    if n <= half + 2:  # the reflection wraps around: as np.pad does it
        c = np.cumsum(np.pad(rolling_median(v, w), (half + 1, half), mode="reflect"))
        return (c[w:] - c[:-w]) / w
    c = np.empty(n + w)
    med = rolling_median(v, w, out=c[half + 1:half + 1 + n])
    c[:half + 1] = med[half + 1:0:-1]  # np.pad's "reflect": the edge itself not repeated
    c[half + 1 + n:] = med[n - 2:n - 2 - half:-1] if half else med[:0]
    np.cumsum(c, out=c)
    for a in range(0, n, CHUNK):  # c[i] = (c[i + w] - c[i]) / w; c[i + w] is not written yet
        e = min(n, a + CHUNK)
        np.subtract(c[a + w:e + w], c[a:e], out=c[a:e])
        c[a:e] /= w
    return c[:n]


def nan_if_none(x: Value) -> float:
    return math.nan if x is None else float(x)


#: How many points a measurement needs before it can be computed at all (not verdicts:
#: below these the feature says nothing, and every rule that reads it stays silent).
MIN_POINTS_SHAPE = 5  # the shape of a curve: decel, oscillation, the last-20% share
MIN_POINTS_SPIKES = 20  # a rolling median and a noise level to judge spikes against
MIN_POINTS_TREND = 3  # a Mann-Kendall statistic
MIN_POINTS_HALVES = 4  # a change over the second half of a curve


def value_at(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Values of a step-indexed curve at other steps (linear interpolation, clamped).

    ``steps`` ascending. On a long curve read at a few steps only the points around
    each are handed to ``np.interp`` (the same brackets, so the same values), not a
    float copy of every step.
    """
    if len(steps) == 0:
        return np.full(len(at), np.nan)
    if len(steps) > 4 * len(at) + 64 and steps.dtype.kind == "i":
        # integer search keys: a float one would make searchsorted copy every step to float
        key = at if at.dtype.kind == "i" else np.ceil(np.clip(np.nan_to_num(at), -2.0**62, 2.0**62))
        i = np.searchsorted(steps, key.astype(np.int64, copy=False))
        near = np.unique(np.clip(np.concatenate((i - 1, i, i + 1)), 0, len(steps) - 1))
        steps, values = steps[near], values[near]
    return np.interp(at.astype(np.float64), steps.astype(np.float64), values)


def median(v: np.ndarray) -> float:
    """``float(np.median(v))`` of finite values, without a copy of a long ``v``.

    A systematic sample brackets the middle rank; the values inside the bracket (a few
    per cent of them, gathered a chunk at a time) give the exact middle value(s). When
    the bracket misses (a sample unlike the whole), ``np.median`` does it.
    """
    n = len(v)
    if n <= 4 * CHUNK:
        return float(np.median(v))
    sample = np.sort(v[:: n // 65536])
    m = len(sample)
    k_lo, k_hi = (n - 1) // 2, n // 2  # the middle rank(s)
    lo = sample[max(0, (k_lo * m) // n - 2048)]
    hi = sample[min(m - 1, (k_hi * m) // n + 2048)]
    below = 0
    inside = []
    for a in range(0, n, CHUNK):
        part = v[a:a + CHUNK]
        below += int(np.count_nonzero(part < lo))
        inside.append(part[(part >= lo) & (part <= hi)])
    got = np.concatenate(inside)
    if not below <= k_lo or not k_hi < below + len(got):
        return float(np.median(v))
    got.partition([k_lo - below, k_hi - below])
    return float(np.mean(got[[k_lo - below, k_hi - below]])) if k_lo != k_hi else \
        float(got[k_lo - below])


def median_gap_above_one(s: np.ndarray) -> bool:
    """Whether the median gap between consecutive steps is above one (a sparse log).

    Strictly increasing integer steps have gaps of at least one, so the median is above
    one exactly when at most half of the gaps are one: counted a chunk at a time, with
    no array of gaps. Anything else: ``np.median`` of the gaps.
    """
    m = len(s) - 1
    if m < 1:
        return False
    ones = 0
    if s.dtype.kind == "i":
        for a in range(0, m, CHUNK):
            d = np.diff(s[a:a + CHUNK + 1])
            if int(d.min()) < 1:
                break
            ones += int(np.count_nonzero(d == 1))
        else:
            return ones <= m // 2
    return float(np.median(np.diff(s))) > 1


def last_finite(v: np.ndarray) -> float | None:
    """The last finite value, or None: looked for from the end, a chunk at a time."""
    for e in range(len(v), 0, -CHUNK):
        part = v[max(0, e - CHUNK):e]
        ok = np.flatnonzero(np.isfinite(part))
        if len(ok):
            return float(part[ok[-1]])
    return None


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
    return kendall_trend(v, most)[0]


def kendall_trend(v: np.ndarray, most: int = 400) -> tuple[float | None, float | None]:
    """:func:`mann_kendall_z` and Kendall's tau of one series against its order, from one count
    of its pairs (both read Kendall's S); ``(None, None)`` for fewer than three points.

    Tau is the share of rising pairs minus falling ones, 1 for a series that rises at every
    point. Unlike the z it does not grow with the number of points, so it can say "nearly every
    later evaluation is higher" of a log too short for any z to reach significance (five points:
    at most 2.2)."""
    got = _kendall_s(v, most)
    if got is None:
        return None, None
    s, n = got
    var = n * (n - 1) * (2 * n + 5) / 18.0
    return (s - np.sign(s)) / math.sqrt(var), s / (n * (n - 1) / 2)


def _kendall_s(v: np.ndarray, most: int) -> tuple[float, int] | None:
    """Kendall's S (rising pairs minus falling ones) of a series evenly thinned to ``most``
    points, and the points used; None for fewer than three points."""
    n = len(v)
    if n < MIN_POINTS_TREND:
        return None
    if n > most:
        v = v[_thin(v, most)]
        n = most
    i, j = _pairs(n)
    return float(np.sign(_pair_differences(v, i, j)).sum()), n  # whole numbers: exact in any order


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
    level = median(v)
    return -slope * float(s[-1] - s[0]) / abs(level) if level else None


def theil_sen_end(s: np.ndarray, v: np.ndarray) -> float | None:
    """Where the Theil-Sen line through the points stands at the last step, never below the
    lowest of them (None with fewer than three points).

    The smoother reflects a curve at its end, so the last smoothed value of a curve still
    falling is a median of points before it: it lags the fall by half a window. A line through
    the last stretch has no such lag (on a curve that flattens it ends above the curve, so it
    finds no fall that is not there)."""
    if len(v) < 3:
        return None
    slope = _ts_slope(s, v)
    if slope is None or not math.isfinite(slope):
        return None
    at_end = float(np.median(v - slope * s)) + slope * float(s[-1])
    return max(at_end, float(v.min()))


def _ts_slope(s: np.ndarray, v: np.ndarray, most: int = 400) -> float | None:
    """The Theil-Sen slope: the median of the pairwise slopes of (at most ``most``) points.

    Computed as ``np.median`` of ``(y[j] - y[i]) / (x[j] - x[i])`` over the pairs i < j with
    ``x[j] != x[i]`` would give it, bit for bit, sooner: the step differences of the same
    thinned steps are made once (every run of a sweep logs the same steps) and the middle
    of the slopes is selected with one ``partition`` and a max (``np.median`` partitions at
    two ranks, several times slower), the middle pair averaged by ``np.mean`` as
    ``np.median`` does. Where that could differ (a NaN slope from values near overflow,
    a zero in the middle whose sign the selection order decides) ``np.median`` does it.
    """
    idx = _thin(v, most)
    x, y = s[idx].astype(np.float64), v[idx]
    if len(x) < 2:
        return math.nan  # no pair: np.median of no slopes
    # features of one run ask for the same line more than once (the whole train loss)
    key = (x.tobytes(), y.dtype.str, y.tobytes())
    memo = getattr(_SCRATCH, "slopes", None)
    if memo is None:
        memo = _SCRATCH.slopes = {}
    if key in memo:
        return memo[key]
    got = memo[key] = _ts_slope_of(x, y)
    if len(memo) > 8:
        del memo[next(iter(memo))]
    return got


def _ts_slope_of(x: np.ndarray, y: np.ndarray) -> float | None:
    """:func:`_ts_slope` of the thinned points."""
    i, j, dx = _step_pairs(x)
    if len(dx) == 0:
        return None
    if not (np.abs(x).max() < 1e300 and np.abs(y).max() < 1e300):
        return float(np.median(_slopes(x, y), overwrite_input=True))
    dy = _pair_differences(y, i, j)
    dy /= dx
    m = len(dy)
    k = m // 2
    dy.partition(k)
    hi = dy[k]
    lo = dy[:k].max() if m % 2 == 0 else hi
    if lo == 0 or hi == 0:
        return float(np.median(_slopes(x, y), overwrite_input=True))
    return float(hi if m % 2 else np.mean(np.array((lo, hi))))


_SCRATCH = threading.local()  # one buffer per thread: runs may be analysed in threads


def _pair_differences(y: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``y[j] - y[i]`` over the pairs, into a buffer kept between calls (valid until the
    next call). With every pair i < j (the usual case) ``y[j]`` is the upper triangle of
    ``y`` repeated in rows and ``y[i]`` each ``y`` repeated: a mask and ``np.repeat``,
    several times sooner than gathering through the pair indices (and no fresh buffer
    of the pairs' size each time, whose pages cost as much again)."""
    n, m = len(y), len(i)
    if m != n * (n - 1) // 2:  # some pairs left out (repeated steps)
        return y[j] - y[i]
    buf = getattr(_SCRATCH, "dy", None)
    if buf is None or len(buf) < m:
        buf = _SCRATCH.dy = np.empty(m)
    out = buf[:m]
    out[:] = np.broadcast_to(y, (n, n))[_upper(n)]
    out -= np.repeat(y[:-1], np.arange(n - 1, 0, -1))
    return out


@functools.lru_cache(maxsize=16)
def _upper(n: int) -> np.ndarray:
    """The mask of the entries above the diagonal of an ``n`` x ``n`` matrix, in the order
    of :func:`_pairs` (row by row)."""
    m = np.triu(np.ones((n, n), dtype=bool), 1)
    m.flags.writeable = False
    return m


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every pairwise slope in pair order (the reference ``np.median`` reads)."""
    i, j, dx = _step_pairs(x)
    dy = y[j] - y[i]
    dy /= dx
    return dy


_DX: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_DX_KEPT = 16  # a run asks for about ten different step sets (halves, tails, validation)


def _step_pairs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs i < j of ``x`` with ``x[j] != x[i]`` and their ``x[j] - x[i]`` (read-only),
    remembered for the ``x`` used most recently (the runs of a sweep share their steps)."""
    key = x.tobytes()
    got = _DX.pop(key, None)  # put back last: the least recently used go first
    if got is None:
        i, j = _pairs(len(x))
        dx = _pair_differences(x, i, j).copy()
        ok = dx != 0
        if not ok.all():  # repeated steps
            i, j, dx = i[ok], j[ok], dx[ok]
        for a in (i, j, dx):
            a.flags.writeable = False
        while len(_DX) >= _DX_KEPT:  # another thread may drop the same one first
            try:
                _DX.pop(next(iter(_DX)), None)
            except (StopIteration, RuntimeError):
                break
        got = (i, j, dx)
    _DX[key] = got
    return got


@functools.lru_cache(maxsize=16)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n, 1)``: every pair i < j, made once per length (runs thin to one)."""
    i, j = np.triu_indices(n, 1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def trend_decel(s: np.ndarray, v: np.ndarray) -> float | None:
    """``decel_ratio`` from Theil-Sen slopes of each half of the steps instead of end points:
    about 1 for a steady fall, large when the second half flattened; robust to noise."""
    if len(v) < 2 * MIN_POINTS_TREND:
        return None
    k = int(np.count_nonzero(s <= (s[0] + s[-1]) / 2))  # s ascending: the first k points
    a, b = _ts_slope(s[:k], v[:k]), _ts_slope(s[k:], v[k:])
    if a is None or b is None or a >= 0:
        return None
    return a / b if b < 0 else 1e12


def trailing_same(v: np.ndarray, tol: float = 0.0) -> int:
    """How many values at the end lie within ``tol`` of the last one (all of them: ``len(v)``):
    the evaluations whose answers had settled where the run ended."""
    same = np.abs(v - v[-1]) <= tol
    return int(np.argmin(same[::-1])) if not same.all() else len(v)


def level_drop(v: np.ndarray) -> float | None:
    """Median of the first fifth over the median of the last fifth, as a relative fall."""
    if len(v) < MIN_POINTS_SHAPE:
        return None
    q = max(1, len(v) // 5)
    a, b = median(v[:q]), median(v[-q:])
    return (a - b) / abs(a) if a else None


def decel_ratio(s: np.ndarray, v: np.ndarray) -> float | None:
    """Drop in the first half of the steps over the drop in the second half.

    About 1 for a straight line (learning at a constant, rate-limited pace),
    large for a curve that fell fast and flattened. None when it did not fall.
    """
    if len(v) < MIN_POINTS_SHAPE:
        return None
    mid = float(value_at(s, v, np.array([(s[0] + s[-1]) / 2]))[0])
    first, second = float(v[0]) - mid, mid - float(v[-1])
    if first <= 0:
        return None
    return first / second if second > 1e-12 * abs(first) else 1e12
