"""Spikes: isolated upward jumps of the train loss, and of the validation loss, that come back.

Validation is logged once per epoch or every few hundred steps, so a train-loss detector
(rolling medians over dozens of points) cannot see it; here each evaluation is compared
with the level of the few evaluations just before it (their median, or the last of them
when they fell at every step), and the one right after.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._late import part_scales
from ._registry import Value, feature
from ._run import K_PARAMS, TRAIN, VAL, RunContext, run_scale
from ._series import MIN_POINTS_SPIKES, rolling_median, window
from ._summary import nice
from ._tail import bounce_values

__all__: list[str] = []

#: the local level of the (log) loss: a centred rolling median over this share of the points
_LEVEL_SHARE = 0.1
#: the local noise: a rolling median of the step-to-step changes over this share of the points
_NOISE_SHARE = 0.25
#: points judged at a time on long series (the temporaries of one chunk, not of the run)
_CHUNK = 1 << 16
#: points a spike's level is read from (before it) and its recovery (after it), at least
_SIDE = 3
#: a robust standard deviation from a median absolute step (normal noise: MAD x 1.4826,
#: and a step between two independent points has sqrt(2) times the points' spread)
_MAD_SD = 1.4826 / np.sqrt(2)


def _to_judged(v: np.ndarray, floor: float | None) -> np.ndarray:
    """The values spikes are judged on: the log of the loss (floored at its smallest positive
    value) when no value is negative, so early (large) and late (small) losses are held to
    the same standard; the raw values otherwise. Always a new float64 array."""
    if floor is None:
        return np.array(v, dtype=np.float64)
    y = np.maximum(v, floor)  # new array: the in-place log below does not touch v
    return np.log(y, out=y)


def _level_and_noise(v: np.ndarray, floor: float | None, wl: int, wn: int):
    """Yield ``(lo, y, level, noise)`` chunk by chunk: the judged values of ``v[lo:lo + len(y)]``,
    their local level (centred rolling median over ``wl`` points) and the local noise (robust
    SD of one point, from the rolling median of the absolute step-to-step changes over ``wn``
    points).

    Short series are one chunk with exact rolling medians. Long ones are read in chunks of
    ``_CHUNK`` points: the medians of blocks of ``wl // 5`` points (level) and of the changes
    (noise) first, then the rolling median of those block medians, interpolated back to
    every point of each chunk in turn; no temporary is as long as the run.
    """
    n = len(v)
    if n <= _CHUNK:
        y = _to_judged(v, floor)
        d = np.abs(np.diff(y, prepend=y[:1]))
        d[0] = d[1] if n > 1 else 0.0
        yield 0, y, rolling_median(y, wl), rolling_median(d, wn) * _MAD_SD
        return
    b = max(1, wl // 5)
    nb = -(-n // b)
    med_y, med_d = np.empty(nb), np.empty(nb)
    step = max(1, _CHUNK // b) * b
    prev = None
    for lo in range(0, n, step):
        y = _to_judged(v[lo:lo + step], floor)
        d = np.abs(np.diff(y, prepend=y[:1] if prev is None else prev))
        prev = y[-1:].copy()
        i0, full = lo // b, len(y) // b * b
        if full:
            med_y[i0:i0 + full // b] = np.median(y[:full].reshape(-1, b), axis=1)
            med_d[i0:i0 + full // b] = np.median(d[:full].reshape(-1, b), axis=1)
        if full < len(y):
            med_y[-1], med_d[-1] = np.median(y[full:]), np.median(d[full:])
    centres = np.minimum(np.arange(nb) * b + (b - 1) / 2, n - 1)
    level = rolling_median(med_y, 5) if nb >= 5 else med_y
    kn = max(5, wn // b)
    noise = (rolling_median(med_d, kn | 1) if nb >= kn else np.full(nb, np.median(med_d))) * _MAD_SD
    del med_y, med_d
    for lo in range(0, n, step):
        y = _to_judged(v[lo:lo + step], floor)
        at = np.arange(lo, lo + len(y), dtype=np.float64)
        lev = np.interp(at, centres, level)
        sig = np.interp(at, centres, noise)
        del at
        yield lo, y, lev, sig


def _excursions(v: np.ndarray, floor: float | None, wl: int, wn: int, extent_z: float):
    """Every stretch of consecutive points more than ``extent_z`` local noise SDs above the
    local level: start and end indices, and per stretch its peak z, its summed z over
    sqrt(width) (a broad excursion adds up), its top judged value, and whether the local
    noise is zero at any of its points (its z then measures nothing)."""
    idx, zs, ys, qs = [], [], [], []
    for lo, y, lev, sig in _level_and_noise(v, floor, wl, wn):
        np.subtract(y, lev, out=lev)
        quiet = sig == 0
        np.maximum(sig, np.finfo(np.float64).tiny, out=sig)
        with np.errstate(over="ignore"):  # a noiseless stretch: any rise is infinitely many SDs
            np.divide(lev, sig, out=lev)  # lev now holds z
        del sig
        hit = np.flatnonzero(lev > extent_z)
        idx.append(hit + lo)
        zs.append(lev[hit])
        ys.append(y[hit])
        qs.append(quiet[hit])
    i = np.concatenate(idx)
    if not len(i):
        return None
    z, y, q = np.concatenate(zs), np.concatenate(ys), np.concatenate(qs)
    cut = np.flatnonzero(np.diff(i) > 1) + 1
    first = np.concatenate(([0], cut))
    last = np.concatenate((cut - 1, [len(i) - 1]))
    width = (last - first + 1).astype(np.float64)
    with np.errstate(over="ignore"):  # z of a noiseless stretch is huge: its sum is inf, as meant
        zsum = np.add.reduceat(z, first) / np.sqrt(width)
    return (i[first], i[last], np.maximum.reduceat(z, first), zsum, np.maximum.reduceat(y, first),
            np.logical_or.reduceat(q, first))


@feature("spike_count", "spike_sure_count", "spike_max_ratio", "spike_second_ratio", "spike_max_z", "spike_max_height", "spike_first_step",
         "spike_last_step", "spike_story", "spike_story_first_step", "spike_story_last_step", "spike_in_part",
         "spike_warmup_steps",
         params=("bounce_share", "bounce_quantile", "spike_z", "max_warmup_share", "spike_extent_z", "spike_min_ratio", "spike_recover_share",
                 "spike_min_height", "spike_min_width", "spike_broad_z", "spike_broad_height",
                 "spike_sure_z", "spike_sure_ratio", "spike_sure_height", "spike_sum_ratio",
                 "spike_acc_drop", *K_PARAMS))
def spikes(ctx: RunContext) -> dict[str, Value]:
    """Upward excursions of the raw train loss that stand out of their neighbourhood and come back.

    Judged on the log of the loss (the raw values when some are negative) against its local
    level (a rolling median over a tenth of the points) and its local noise (a robust SD
    from the step-to-step changes over a quarter of the points, so a noisy stretch holds
    its own wiggles to its own standard). An excursion is a stretch of points more than
    ``spike_extent_z`` noise SDs above the level. It counts as a spike when it rose from the
    points just before it to at least ``spike_min_ratio`` times their level, came back at
    least ``spike_recover_share`` of the way (in log terms) over as many points after it
    (or to within ``spike_broad_height`` of the run's scale of where it was: a loss at 1e-7
    that jumps to 2 and is back at 5e-4 has come back, though only halfway on a log axis),
    and either

    - is tall: a point ``spike_z`` SDs above the level, rising ``spike_min_height`` of the
      run's scale (the first loss, or ln K when larger), as an outlier batch does, or less
      high while the train accuracy at its steps fell ``spike_acc_drop`` below its level
      (:func:`_acc_fell`); or
    - is broad: ``spike_min_width`` points or more whose z summed over sqrt(width) reaches
      ``spike_broad_z``, rising at least ``spike_broad_height`` of the run's scale, as an
      optimizer thrown off for a while does, however low the loss already is; or
    - is sure: ``spike_sure_z`` SDs (below ``spike_z``: a noisy log sampled every few steps)
      and at once ``spike_sure_ratio`` times its level and ``spike_sure_height`` of the run's
      scale: a batch noise that large would swing the loss by most of its scale all along.
      ``spike_sure_count`` counts these (a single one is evidence enough).

    When the train loss itself has none, or only spikes under ``spike_sum_ratio`` times their
    level, its logged parts (``train/cls_loss`` beside ``train/loss``, each with a validation
    counterpart) are read the same way, each against its own scale; the tallest by ratio is
    told, and when it is a part's, the story names the part.

    ``spike_warmup_steps`` is the warmup the next run gets: up to the first step the story
    points at, but no longer than about ``max_warmup_share`` of the run (one significant figure).

    On long runs both z bars rise to what normal noise reaches about once in the run's
    points. ``spike_max_z`` is the strongest spike's z (peak z when tall, summed z when broad).
    ``spike_story`` tells the spikes in logged steps, or, when there are none, how the loss
    still bounces at its end (``bounce_spread``, ``bounce_height``); ``spike_story_*_step``
    are the steps it points at.
    """
    s, v = ctx.finite(TRAIN)
    out = _spikes(ctx, s, v, run_scale(ctx) or 0.0, ctx.finite("train/acc"))
    out["spike_in_part"] = 0
    what = "loss spike(s)"
    if not out.get("spike_count") or out["spike_max_ratio"] < ctx.param("spike_sum_ratio"):
        # a summed loss can stay calm while one logged part jumps four-fold for an epoch
        # (a detector's cls loss under its box and dfl losses), or rise only 2x where the part
        # rose 4.5x: each part against its own scale, the tallest (by ratio) told
        for _, train, scale in part_scales(ctx):
            found = _spikes(ctx, *ctx.finite(train), scale)
            if found.get("spike_count") and found["spike_max_ratio"] > out.get("spike_max_ratio", 0):
                out, what = found, f"spike(s) of {train}, a part of the train loss,"
                out["spike_in_part"] = 1
    b = bounce_values(ctx)
    bounce = b.get("bounce_height") is not None
    if out.get("spike_count"):
        out["spike_story"] = _told(out, "", f"{what} that recovered,")
        out["spike_story_first_step"] = out["spike_first_step"]
        out["spike_story_last_step"] = out["spike_last_step"]
        # a run that also still bounces, as tall and as steep as a spike, at its end says so:
        # the spikes alone would read as a few bad batches early on
        if (bounce and b["bounce_height"] >= ctx.param("spike_min_height")
                and b["bounce_spread"] >= ctx.param("spike_min_ratio")):
            out["spike_story"] += "; and " + _bounce_story(b, ctx.param("bounce_quantile"))
            out["spike_story_last_step"] = max(out["spike_last_step"], b["bounce_last_step"])
        return _with_warmup(out, s, ctx.param("max_warmup_share"))
    if bounce:
        out["spike_story"] = _bounce_story(b, ctx.param("bounce_quantile"))
        out["spike_story_first_step"] = b["bounce_first_step"]
        out["spike_story_last_step"] = b["bounce_last_step"]
    return _with_warmup(out, s, ctx.param("max_warmup_share"))


def _with_warmup(out: dict[str, Value], s: np.ndarray, share: float) -> dict[str, Value]:
    """``spike_warmup_steps``: a warmup up to the first step the story points at, capped at
    about ``share`` of the run (one significant figure); a spike deep into a long run is met
    by the clipping, not by warming up over a fifth of it."""
    first = out.get("spike_story_first_step")
    if first is not None and len(s):
        steps = max(1.0, min(float(first), share * float(s[-1] - s[0])))
        typed = nice(steps)  # one significant figure; rounded down where it would pass the spike
        out["spike_warmup_steps"] = int(typed if typed <= max(float(first), 1.0)
                                        else typed - 10 ** math.floor(math.log10(steps)))
    return out


#: a spike ratio from this on is told in three significant digits, not to a tenth
_MANY_TIMES = 1000.0


def _told(out: dict[str, Value], prefix: str, what: str) -> str:
    """The spikes of :func:`_spikes` (keys under ``prefix``) in one sentence of logged steps,
    the largest in logged values (its level a median of the points before it)."""
    values = out.pop(prefix + "spike_values", None)
    a, b = out[prefix + "spike_first_step"], out[prefix + "spike_last_step"]
    ratio = float(out[prefix + "spike_max_ratio"])
    # a level at or below zero (a signed objective: SI-SNR, an ELBO) has no ratio to tell: the
    # spike's logged values say how far it rose
    # a level near zero makes the ratio huge: three significant digits say it (1.66e+07x)
    times = f"{ratio:.1f}x" if ratio < _MANY_TIMES else f"{ratio:.3g}x"
    largest = (f"the largest {times} the level just before it" if math.isfinite(ratio)
               else "the largest rising from a level at or below zero, so no ratio holds")
    return (f"{out[prefix + 'spike_count']} {what} {largest} "
            f"({f'step {a}' if a == b else f'steps {a}-{b}'}"
            + (f"; {values})" if values else ")"))


def _bounce_story(b: dict[str, Value], q: float) -> str:
    """How the train loss still bounces at its end, in logged values (:func:`bounce_values`)."""
    return (f"the train loss still bounces up and down at the end of the run: from step "
            f"{b['bounce_first_step']} on, its {1 - q:.0%} and {q:.0%} quantiles are "
            f"{b['bounce_low']:.4g} and {b['bounce_top']:.4g} ({b['bounce_height']:.2g}x "
            f"{b['bounce_unit']}), and a typical large jump between logged points is "
            f"{b['bounce_spread']:.2g}x, up as well as down")


def _acc_fell(acc: tuple[np.ndarray, np.ndarray] | None, lo: float, hi: float,
              drop: float) -> bool:
    """The accuracy logged beside a loss (steps, values) fell, at a step from ``lo`` to ``hi``,
    at least ``drop`` below the median of its points just before: the spike cost the model
    what it had learned, not a wiggle of a loss already near zero."""
    if acc is None or not len(acc[0]):
        return False
    sa, va = acc
    i0, i1 = int(np.searchsorted(sa, lo)), int(np.searchsorted(sa, hi, side="right"))
    if i1 <= i0 or i0 < _SIDE:
        return False
    return float(np.median(va[i0 - _SIDE:i0])) - float(va[i0:i1].min()) >= drop


def _spikes(ctx: RunContext, s: np.ndarray, v: np.ndarray, scale: float,
            acc: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Value]:
    """The spike measures of one train-loss curve (steps ``s``, values ``v``) whose loss scale
    is ``scale`` (see :func:`spikes`); ``acc``, the accuracy logged beside it, witnesses a
    spike too short of the height bar (see :func:`_acc_fell`)."""
    n = len(v)
    if n < MIN_POINTS_SPIKES:
        return {"spike_count": 0}
    floor = None
    if not bool((v < 0).any()):
        low = float(np.min(v, where=v > 0, initial=np.inf))  # no copy of the positives
        floor = low if np.isfinite(low) else None
    logspace = floor is not None
    wl = window(n, _LEVEL_SHARE, lo=7, hi=1001)
    wn = window(n, _NOISE_SHARE, lo=11, hi=2001)
    found = _excursions(v, floor, wl, wn, ctx.param("spike_extent_z"))
    if found is None:
        return {"spike_count": 0}
    first, last, zpeak, zsum, top, quiet = found
    width = last - first + 1
    min_ratio = ctx.param("spike_min_ratio")
    lift = np.log(min_ratio) if logspace else 0.0
    # on long runs, also above what normal noise reaches about once in n points: a 4-SD
    # wiggle is rare in a thousand points and routine in ten million
    chance = NormalDist().inv_cdf(1 - 1 / n)
    tall_z, broad_z = max(ctx.param("spike_z"), chance), max(ctx.param("spike_broad_z"), chance)
    sure_z, sure_ratio, sure_h = (ctx.param("spike_sure_z"), ctx.param("spike_sure_ratio"),
                                  ctx.param("spike_sure_height"))
    # cheap screen first (no event below both bars can count), then each survivor in detail
    maybe = (first >= _SIDE) & (last < n - 1) & (
        (zpeak > min(tall_z, sure_z)) | ((width >= ctx.param("spike_min_width")) & (zsum > broad_z)))
    share = ctx.param("spike_recover_share")
    tall_h, broad_h = ctx.param("spike_min_height"), ctx.param("spike_broad_height")
    bottom = float(np.log(floor)) if logspace else -np.inf
    kept: list[tuple[int, int, float, float, float, bool]] = []
    for a, b, zp, zi, t, q in zip(first[maybe], last[maybe], zpeak[maybe], zsum[maybe], top[maybe],
                                  quiet[maybe]):
        a, b, m = int(a), int(b), int(b - a + 1)
        side = max(_SIDE, m)
        before = float(np.median(_to_judged(v[a - min(a, side):a], floor)))
        after = float(np.median(_to_judged(v[b + 1:b + 1 + side], floor)))
        if t - before < lift or (not logspace and before > 0 and t < min_ratio * before):
            continue  # not a jump from where the loss just was (the steep fall at the start)
        if after - before > (1 - share) * (t - before) and not (
                logspace and scale and (np.exp(after) - np.exp(before)) / scale < broad_h):
            continue  # did not come back: a new level or divergence, not a spike
        if logspace:
            height, ratio = (np.exp(t) - np.exp(before)) / scale if scale else np.inf, np.exp(t - before)
        else:
            height = (t - before) / scale if scale else np.inf
            ratio = t / before if before > 0 else np.inf
        tall = zp > tall_z and (height >= tall_h or _acc_fell(
            acc, s[a], s[b], ctx.param("spike_acc_drop")))
        # a loss sitting at its smallest logged value (zero, or the logger's rounding) shows
        # no noise to hold a broad rise against: only a tall one counts from there; nor does
        # one whose neighbourhood is noiseless (a printed loss reading 0.0000 at most points,
        # with a short stretch of small values: its z is infinite at any height)
        broad = (m >= ctx.param("spike_min_width") and zi > broad_z and height >= broad_h
                 and not (logspace and before <= bottom) and not q)
        sure = zp > sure_z and ratio >= sure_ratio and height >= max(sure_h, tall_h)
        if tall or broad or sure:
            kept.append((a, b, float(ratio), float(zp if tall or sure else zi), float(height), sure))
    if not kept:
        return {"spike_count": 0}
    a, b = max(kept, key=lambda k: k[2])[:2]
    top = a + int(np.argmax(v[a:b + 1]))
    level = float(np.median(v[a - min(a, max(_SIDE, b - a + 1)):a]))
    return {
        # the largest spike as logged, for the sentence (:func:`_told`)
        "spike_values": (f"logged {level:.4g} just before step {int(s[a])}, {float(v[top]):.4g} at step "
                         f"{int(s[top])}, {float(v[b + 1]):.4g} at step {int(s[b + 1])}"),
        "spike_count": len(kept),
        "spike_sure_count": sum(k[5] for k in kept),
        "spike_max_ratio": max(k[2] for k in kept),
        "spike_max_z": max(k[3] for k in kept),
        "spike_max_height": max(k[4] for k in kept),
        "spike_second_ratio": sorted(k[2] for k in kept)[-2] if len(kept) > 1 else None,
        "spike_first_step": int(s[kept[0][0]]),
        "spike_last_step": int(s[kept[-1][1]]),
    }


@feature("prenan_spike_count", "prenan_spike_sure_count", "prenan_spike_max_ratio", "prenan_spike_max_z",
         "prenan_spike_max_height", "prenan_spike_first_step", "prenan_spike_last_step", "prenan_step",
         "prenan_end_ratio", "prenan_spike_story",
         params=("spike_z", "spike_extent_z", "spike_min_ratio", "spike_recover_share", "spike_min_height",
                 "spike_min_width", "spike_broad_z", "spike_broad_height", "spike_sure_z", "spike_sure_ratio",
                 "spike_sure_height", *K_PARAMS))
def spikes_before_nonfinite(ctx: RunContext) -> dict[str, Value]:
    """The spikes of the train loss before it first turned NaN/inf, read as :func:`spikes`
    reads a whole run, on the points before the first non-finite one.

    The explosion rules speak for a run that ends in NaN and silence the spike rules, which
    cannot judge a curve that leaves the numbers; but spikes that came back well before the
    failure are its warning signs (the run sat at the edge of stability for a while), and
    they say what to change: clipping and a lower learning rate, not a numeric bug hunt.
    ``prenan_step`` is the step of the first non-finite train loss; 0 spikes when it has none.
    ``prenan_end_ratio``: the median of the last few finite points before it over the run's
    scale; low when the loss was back at its level when it broke, huge when it grew into the
    NaN (a blow-up bouncing on its way up is not a run that spiked and came back).
    """
    s, v = ctx.arrays(TRAIN)
    bad = ~np.isfinite(v)
    if not bad.any():
        return {"prenan_spike_count": 0}
    j = int(np.argmax(bad))
    return _spikes_before(ctx, "prenan_", s, v, j, run_scale(ctx) or 0.0,
                          f"before the loss first turned NaN/inf at step {int(s[j])},")


def _spikes_before(ctx: RunContext, prefix: str, s: np.ndarray, v: np.ndarray, j: int,
                   scale: float, when: str) -> dict[str, Value]:
    """:func:`_spikes` of the points before index ``j`` under ``prefix``, with the step at
    ``j``, the level just before it over ``scale`` (``end_ratio``) and the spikes in a sentence
    that ends ``when``."""
    out: dict[str, Value] = {prefix + k: val for k, val in _spikes(ctx, s[:j], v[:j], scale).items()}
    out[prefix + "step"] = int(s[j])
    if j and scale > 0:
        out[prefix + "end_ratio"] = float(np.median(v[max(0, j - _SIDE):j])) / scale
    if out[prefix + "spike_count"]:
        out[prefix + "spike_story"] = _told(out, prefix,
                                            f"train loss spike(s) that came back {when}")
    return out


@feature("prepeak_spike_count", "prepeak_spike_sure_count", "prepeak_spike_max_ratio",
         "prepeak_spike_max_z", "prepeak_spike_max_height", "prepeak_spike_first_step",
         "prepeak_spike_last_step", "prepeak_step", "prepeak_end_ratio", "prepeak_share",
         "prepeak_spike_story",
         params=("spike_z", "spike_extent_z", "spike_min_ratio", "spike_recover_share", "spike_min_height",
                 "spike_min_width", "spike_broad_z", "spike_broad_height", "spike_sure_z", "spike_sure_ratio",
                 "spike_sure_height", "blowup_over_scale", *K_PARAMS))
def spikes_before_blowup(ctx: RunContext) -> dict[str, Value]:
    """The spikes of a finite train loss before the blow-up that holds its highest point, read
    as :func:`spikes_before_nonfinite` reads the points before a NaN.

    A run that blows up without a NaN silences the spike rules as one that ends in NaN does (the
    blow-up explains its own jumps); the jumps that came back long before it are still its
    warning signs. The blow-up is the stretch around the highest point that stays above
    ``blowup_over_scale`` times the run's scale; ``prepeak_step`` is its first step and
    ``prepeak_end_ratio`` the median of the few points before it over the scale (low when the
    loss left its own level at once, high when it climbed there); ``prepeak_share`` how far
    into the run's steps it began (an early blow-up has little before it to call a level).
    0 spikes on a loss that never rose that high, holds a NaN/inf
    (:func:`spikes_before_nonfinite`) or is not positive.
    """
    s, v = ctx.arrays(TRAIN)
    scale = run_scale(ctx) or 0.0
    if not len(v) or scale <= 0 or not bool(np.isfinite(v).all()) or float(v.min()) <= 0:
        return {"prepeak_spike_count": 0}
    top = ctx.param("blowup_over_scale") * scale
    j = int(np.argmax(v))
    if float(v[j]) <= top:
        return {"prepeak_spike_count": 0}
    while j > 0 and v[j - 1] > top:
        j -= 1
    out = _spikes_before(ctx, "prepeak_", s, v, j, scale,
                         f"before the loss blew up at step {int(s[j])},")
    if s[-1] > s[0]:
        out["prepeak_share"] = float(s[j] - s[0]) / float(s[-1] - s[0])
    return out


#: evaluations before a point that set its level (the median of up to this many)
_BEFORE = 3


@feature("val_spike_count", "val_spike_max_ratio", "val_spike_first_step", "val_spike_last_step",
         "val_spike_story", "val_spike_in_part", "val_spike_part_share",
         params=("val_spike_ratio", "spike_recover_share", "val_spike_min_height", "val_spike_long_share",
                 *K_PARAMS))
def val_spikes(ctx: RunContext) -> dict[str, Value]:
    """Evaluations whose validation loss jumps to ``val_spike_ratio`` times the level of the
    evaluations just before (their median, or the last of them when they fell at every step:
    :func:`_levels_before`), rises by at least ``val_spike_min_height`` of the run's scale
    (:func:`run_scale`: the first train loss, or ln K when larger; the first validation loss
    only when no train loss is logged: a first evaluation of an untrained head can sit 40x
    above where the curve settles), and falls
    back at the next evaluation (under the spike threshold again, and at least
    ``spike_recover_share`` of the way). Consecutive high points are one event, of at most as
    many evaluations as set the level, or of up to ``val_spike_long_share`` of the run's
    evaluations when the curve then falls back under the spike threshold of that level.

    When the validation loss itself has none, its logged parts (``val/seg_loss`` beside
    ``val/loss``, each with a train counterpart) are read the same way, each against its own
    scale (its train counterpart's first value): a summed loss can stay calm while one part
    jumps six-fold for an evaluation. The story then names the part, and
    ``val_spike_part_share`` is how much of the whole validation loss the part's jump was
    (its top minus its level, over the median of the summed loss at the evaluations before).
    """
    s, v = ctx.finite(VAL)
    found = _val_spike_events(ctx, s, v, run_scale(ctx) or float(v[0])) if len(v) else []
    name, in_part = "validation loss", 0
    if not found:
        for val, train, _ in part_scales(ctx):
            ps, pv = ctx.finite(val)
            events = _val_spike_events(ctx, ps, pv, abs(float(ctx.finite(train)[1][0])))
            if events and (not found or _tallest(events) > _tallest(found)):
                found, s, v, in_part = events, ps, pv, 1
                name = f"{val}, a part of the validation loss,"
    if not found:
        return {"val_spike_count": 0}
    worst = max(found, key=lambda e: e[2])  # (first index, last index, top over level)
    a = worst[0]
    top = a + int(np.argmax(v[a: worst[1] + 1]))  # the evaluation that logged the top
    share = None
    if in_part:  # how much of the whole validation loss the part's jump was
        ts, tv = ctx.finite(VAL)
        before = tv[ts < s[a]][-_BEFORE:]
        if len(before) and float(np.median(before)) > 0:
            share = (float(v[top]) - float(v[top]) / worst[2]) / float(np.median(before))
    return {
        "val_spike_in_part": in_part,
        "val_spike_part_share": share,
        "val_spike_count": len(found),
        "val_spike_max_ratio": worst[2],
        "val_spike_first_step": int(s[found[0][0]]),
        "val_spike_last_step": int(s[found[-1][1]]),
        # the level it was judged against: its top over its ratio (the events keep no level)
        "val_spike_story": (f"{name} {float(v[top]) / worst[2]:.4g} "
                            f"before step {int(s[a])}, {float(v[top]):.4g} at "
                            f"step {int(s[top])}, {float(v[worst[1] + 1]):.4g} at step "
                            f"{int(s[worst[1] + 1])}"),
    }


def _tallest(events: list[tuple[int, int, float]]) -> float:
    """The largest top-over-level ratio of some spike events."""
    return max(ratio for _, _, ratio in events)


def _val_spike_events(ctx: RunContext, s: np.ndarray, v: np.ndarray,
                      scale: float) -> list[tuple[int, int, float]]:
    """The spike events of one validation curve (first index, last index, top over level)."""
    n = len(v)
    if n < _BEFORE or bool((v < 0).any()):  # a loss that goes negative has no ratios
        return []
    ratio_min = ctx.param("val_spike_ratio")
    min_height = ctx.param("val_spike_min_height") * scale
    share = ctx.param("spike_recover_share")
    long_share = ctx.param("val_spike_long_share")
    events: list[tuple[int, int, float]] = []
    # coming back is judged against the window's median: after a curve that fell at every step,
    # its last (lowest) value sets the level (a jump from it is a spike), and the curve is back
    # once it is under the spike threshold of where it had been
    back = _trailing_medians(v, _BEFORE)
    levels = _levels_before(v, _BEFORE, back)
    i = 1
    while i < n - 1:
        level = float(levels[i])
        # a level of exactly 0 (a loss rounded to four decimals) is no base for a ratio
        if level <= 0 or v[i] < ratio_min * level:
            i += 1
            continue
        b = i
        while b + 1 < n and v[b + 1] >= ratio_min * float(back[i]):
            b += 1
        # a burst longer than the window that set its level is a new level, unless it is short
        # against the run and the curve then fell back under the level's own spike threshold
        long_back = b - i < long_share * n and b + 1 < n and v[b + 1] < ratio_min * level
        if b + 1 >= n or (b - i >= _BEFORE and not long_back):
            i = b + 1  # never came back under the threshold, or stayed up: a new level, not a spike
            continue
        top = float(v[i: b + 1].max())
        after = float(v[b + 1])
        if top - level >= min_height and after - level <= (1 - share) * (top - level):
            events.append((i, b, top / level))
        i = b + 1
    return events


def _levels_before(v: np.ndarray, k: int, medians: np.ndarray | None = None) -> np.ndarray:
    """The level each evaluation is judged against: the median of the up to ``k`` before it, or
    the last of them when they fell at every step. A median lags a falling curve: after 59000,
    19300, 10500 it says 19300, and a jump to 28400 (2.7x the last value) read as 1.5x. A window
    that does not fall at every step keeps its median, so one low outlier does not become the
    level. Entry 0 is unused. ``medians``: :func:`_trailing_medians` of ``v``, when the caller
    has them (they are copied, not changed)."""
    out = _trailing_medians(v, k) if medians is None else medians.copy()
    falls = np.diff(v) < 0  # falls[j]: v[j + 1] < v[j]
    for i in range(2, min(k, len(v))):  # the short windows at the start
        if falls[:i - 1].all():
            out[i] = v[i - 1]
    if len(v) > k > 1:
        # the window before i holds the steps falls[i - k:i - 1]
        fell = sliding_window_view(falls[:-1], k - 1).all(axis=1)
        out[k:] = np.where(fell, v[k - 1:-1], out[k:])
    return out


def _trailing_medians(v: np.ndarray, k: int) -> np.ndarray:
    """``np.median(v[max(0, i - k):i])`` for every ``i`` from 1 (entry 0 unused): the full
    windows in one call along an axis (the same middle values, averaged the same way)."""
    out = np.empty(len(v))
    for i in range(1, min(k, len(v))):
        out[i] = np.median(v[:i])
    if len(v) > k:
        out[k:] = np.median(sliding_window_view(v[:-1], k), axis=1)
    return out
