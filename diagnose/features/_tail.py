"""The end of the raw train loss: is it still falling, is it still bouncing?

The smoothed curve (``tail_drop_rel``) carries a blow-up at the start into its tail when
the run has few points, and hides jumps; the raw values of the tail do neither.
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import Value, feature
from ._gap import gap_scale
from ._run import K_PARAMS, TRAIN, RunContext, classes
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


def bounce_scale(ctx: RunContext) -> float | None:
    """The scale a bounce's height is read on: ln K for a classifier (the loss of uniform
    predictions), else :func:`gap_scale` (the first train loss, or the first validation loss
    when larger).

    Not the first loss of a classifier: a run whose step is too large for the whole run
    often jumps far above ln K at its start, and a first logged point that caught such a
    jump would make the bounce at its end look calm. Not the first train loss alone
    without K: a trainer that logs windowed means writes it after the model already
    learned, and every later wiggle would look tall.
    """
    k = classes(ctx)["k"]
    return math.log(k) if k else gap_scale(ctx)


def _bounce_unit(ctx: RunContext) -> str:
    """What :func:`bounce_scale` is, in words."""
    k = classes(ctx)["k"]
    return f"ln {k}" if k else "the first logged loss"


def bounce_values(ctx: RunContext) -> dict[str, Value]:
    """``bounce_spread`` and ``bounce_height`` with the logged values and steps behind them
    (cached on the context: the spike story reads them too)."""
    key = "bounce"
    if key in ctx._cache:
        return ctx._cache[key]
    out: dict[str, Value] = {}
    s, v = ctx.finite(TRAIN)
    if len(v) >= MIN_POINTS_TREND:
        # the stretch is a suffix of the (sorted) steps: a view, not a copy
        a = int(np.searchsorted(s, s[-1] - ctx.param("bounce_share") * (s[-1] - s[0])))
        w = v[a:]
        q = ctx.param("bounce_quantile")
        both = (w[1:] > 0) & (w[:-1] > 0)  # a logged loss of exactly 0 has no ratio
        if both.sum() >= MIN_POINTS_TREND:
            # one step's rise or fall as a ratio; a bounce goes both ways, a decay only down
            r = w[1:][both]
            r /= w[:-1][both]
            del both
            hi, lo = np.quantile(r, [q, 1 - q])
            del r
            out["bounce_spread"] = float(min(hi, 1 / lo))
            top, low = (float(x) for x in np.quantile(w, [q, 1 - q]))
            scale = bounce_scale(ctx)
            out["bounce_height"] = (top - low) / scale if scale else None
            out["bounce_floor"] = low / scale if scale else None
            out.update(bounce_low=low, bounce_top=top, bounce_unit=_bounce_unit(ctx), bounce_first_step=int(s[a]),
                       bounce_last_step=int(s[-1]))
    ctx._cache[key] = out
    return out


@feature("bounce_spread", "bounce_height", "bounce_floor", "bounce_measured",
         params=("bounce_share", "bounce_quantile", *K_PARAMS))
def bounce(ctx: RunContext) -> dict[str, Value]:
    """How far the raw train loss still jumps, both up and down, over the last ``bounce_share``
    of the run's steps: ``bounce_spread`` as a ratio (1 = calm), ``bounce_height`` on the loss's
    scale.

    ``bounce_spread``: of the ratios of consecutive logged values, the smaller of the
    ``bounce_quantile`` quantile (a typical large rise) and the inverse of the
    ``1 - bounce_quantile`` one (a typical large fall). A run that bounces up and down to its
    end has both; a loss that decays from a blow-up only falls, one that stays up or came back
    is calm there. ``bounce_height``: the spread between the ``bounce_quantile`` and the
    ``1 - bounce_quantile`` quantiles of the values there, over ln K for a classifier, else
    over the first train or validation loss, whichever is larger (:func:`bounce_scale`): a
    loss bouncing near zero is tall in ratio but not in height. ``bounce_floor``: the
    ``1 - bounce_quantile`` quantile there over the same scale: a loss whose low points stay
    far above ln K (or above where it started) bounces around a diverged level, not around a
    fit model. ``bounce_measured`` is 1 when
    both could be measured, 0 when not (too few points, or a tail logged as exactly 0, which
    has no ratios): a rule that sets bouncing runs aside can say "not known to bounce"
    without a missing value making its whole condition unknown.
    """
    b = bounce_values(ctx)
    out = {k: b.get(k) for k in ("bounce_spread", "bounce_height", "bounce_floor")}
    out["bounce_measured"] = 1.0 if out["bounce_spread"] is not None and out["bounce_height"] is not None else 0.0
    return out
