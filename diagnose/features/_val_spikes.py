"""Spikes in the validation loss: one evaluation (or a few) far above the level before, then back.

Validation is logged once per epoch or every few hundred steps, so a train-loss detector
(rolling medians over dozens of points) cannot see it; here each evaluation is compared
with the median of the few evaluations just before it, and the one right after.
"""

from __future__ import annotations

import numpy as np

from ._registry import Value, feature
from ._run import VAL, RunContext, run_scale

__all__: list[str] = []

#: evaluations before a point that set its level (the median of up to this many)
_BEFORE = 3


@feature("val_spike_count", "val_spike_max_ratio", "val_spike_first_step", "val_spike_last_step",
         "val_spike_story",
         params=("val_spike_ratio", "spike_recover_share", "spike_min_height", "chance_acc_tol",
                 "chance_loss_tol", "chance_acc_trend_z"))
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
