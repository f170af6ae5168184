"""Spikes: isolated upward jumps of the train loss, and of the validation loss, that come back.

Validation is logged once per epoch or every few hundred steps, so a train-loss detector
(rolling medians over dozens of points) cannot see it; here each evaluation is compared
with the median of the few evaluations just before it, and the one right after.
"""

from __future__ import annotations

import numpy as np

from ._registry import Value, feature
from ._run import TRAIN, VAL, RunContext, run_scale
from ._series import MIN_POINTS_SPIKES, rolling_median, window

__all__: list[str] = []

@feature("spike_count", "spike_max_ratio", "spike_first_step", "spike_last_step",
         params=("spike_z", "spike_min_ratio", "spike_recover_share", "spike_min_height",
                 "chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
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


#: evaluations before a point that set its level (the median of up to this many)
_BEFORE = 3


@feature("val_spike_count", "val_spike_max_ratio", "val_spike_first_step", "val_spike_last_step",
         "val_spike_story",
         params=("val_spike_ratio", "spike_recover_share", "spike_min_height", "chance_acc_tol",
                 "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol"))
def val_spikes(ctx: RunContext) -> dict[str, Value]:
    """Evaluations whose validation loss jumps to ``val_spike_ratio`` times the median of the
    evaluations just before, rises by at least ``spike_min_height`` of the run's validation
    scale (the first validation loss, or the first train loss or ln K when larger), and falls back at the next
    evaluation (under the spike threshold again, and at least ``spike_recover_share`` of the
    way). Consecutive high points are one event, of at most as many evaluations as set the level.
    """
    s, v = ctx.finite(VAL)
    n = len(v)
    if n < _BEFORE or not bool((v > 0).all()):
        return {"val_spike_count": 0}
    scale = max(float(v[0]), run_scale(ctx) or 0.0)
    ratio_min = ctx.param("val_spike_ratio")
    min_height = ctx.param("spike_min_height") * scale
    share = ctx.param("spike_recover_share")
    events: list[tuple[int, int, float]] = []
    i = 1
    while i < n - 1:
        level = float(np.median(v[max(0, i - _BEFORE):i]))
        if v[i] < ratio_min * level:
            i += 1
            continue
        b = i
        while b + 1 < n and v[b + 1] >= ratio_min * level:
            b += 1
        if b + 1 >= n or b - i >= _BEFORE:
            i = b + 1  # never came back under the threshold, or stayed up: a new level, not a spike
            continue
        top = float(v[i: b + 1].max())
        after = float(v[b + 1])
        if top - level >= min_height and after - level <= (1 - share) * (top - level):
            events.append((i, b, top / level))
        i = b + 1
    if not events:
        return {"val_spike_count": 0}
    worst = max(events, key=lambda e: e[2])
    a = worst[0]
    return {
        "val_spike_count": len(events),
        "val_spike_max_ratio": worst[2],
        "val_spike_first_step": int(s[events[0][0]]),
        "val_spike_last_step": int(s[events[-1][1]]),
        "val_spike_story": (f"validation loss {float(np.median(v[max(0, a - _BEFORE):a])):.4g} "
                            f"before step {int(s[a])}, {float(v[a: worst[1] + 1].max()):.4g} at "
                            f"step {int(s[a])}, {float(v[worst[1] + 1]):.4g} at step "
                            f"{int(s[worst[1] + 1])}"),
    }
