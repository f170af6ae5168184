"""The end of the raw train loss: is it still falling?

The smoothed curve (``tail_drop_rel``) carries a blow-up at the start into its tail when
the run has few points; a robust line through the raw values of the tail does not.
"""

from __future__ import annotations

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
