"""The end of the raw train loss: is it still falling, is it still bouncing?

The smoothed curve (``tail_drop_rel``) carries a blow-up at the start into its tail when
the run has few points, and hides jumps; the raw values of the tail do neither.
"""

from __future__ import annotations

import numpy as np

from ._registry import Value, feature
from ._run import TRAIN, RunContext
from ._series import MIN_POINTS_TREND, theil_sen_drop

__all__: list[str] = []


@feature("train_tail_trend_drop", params=("tail_fraction",))
def train_tail_trend(ctx: RunContext) -> dict[str, Value]:
    """How far the Theil-Sen line of the raw train loss falls over the last ``tail_fraction``
    of the run's steps, over its median there (relative; None with too few points)."""
    s, v = ctx.finite(TRAIN)
    if len(v) < MIN_POINTS_TREND:
        return {}
    cut = s[-1] - ctx.param("tail_fraction") * (s[-1] - s[0])
    keep = s >= cut
    return {"train_tail_trend_drop": theil_sen_drop(s[keep], v[keep])}


@feature("bounce_spread", params=("bounce_share", "bounce_quantile"))
def bounce(ctx: RunContext) -> dict[str, Value]:
    """How far the raw train loss still jumps, both up and down, over the last ``bounce_share``
    of the run's steps (ratio; 1 = calm).

    Of the ratios of consecutive logged values, the smaller of the ``bounce_quantile`` quantile
    (a typical large rise) and the inverse of the ``1 - bounce_quantile`` one (a typical large
    fall). A run that bounces up and down to its end has both; a loss that decays from a
    blow-up only falls, one that stays up or came back is calm there.
    """
    s, v = ctx.finite(TRAIN)
    if len(v) < MIN_POINTS_TREND:
        return {}
    keep = s >= s[-1] - ctx.param("bounce_share") * (s[-1] - s[0])
    q = ctx.param("bounce_quantile")
    w = v[keep]
    both = (w[1:] > 0) & (w[:-1] > 0)  # a logged loss of exactly 0 has no ratio
    if both.sum() < MIN_POINTS_TREND:
        return {}
    # one step's rise or fall as a ratio; a bounce goes both ways, a decay only down
    r = w[1:][both] / w[:-1][both]
    return {"bounce_spread": float(min(np.quantile(r, q), 1 / np.quantile(r, 1 - q)))}
