"""Chance level on the validation split: did the validation loss ever leave it?

A model that learned nothing that transfers predicts every validation example alike, so its
validation loss sits at the loss of those uniform predictions (ln K) from the first
evaluation to the last, whatever its train loss does (memorising the training set lowers the
train loss and leaves validation where it was).
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import Value, feature
from ._run import K_PARAMS, TRAIN, VAL, RunContext, classes
from ._series import window

__all__: list[str] = []


@feature("val_low_vs_chance", "chance_story",
         params=K_PARAMS)
def validation_at_chance(ctx: RunContext) -> dict[str, Value]:
    """The lowest logged validation loss over ln K, minus 1 (relative; about 0: validation
    never got below chance level, -0.5: it reached half of it), and the sentence that says
    which curve sits at ln K (``chance_story``). None without K."""
    k = classes(ctx)["k"]
    _, tv = ctx.smoothed(TRAIN)
    if not k or not len(tv):
        return {}
    lnk = math.log(k)
    rs, rv = ctx.finite(TRAIN)
    dev = abs(float(tv[-1]) / lnk - 1)
    how = (f"smoothed; last logged {float(rv[-1]):.4g} at step {int(rs[-1])}" if window(len(tv)) > 1
           else f"logged at step {int(rs[-1])}")
    story = f"train loss settled at {float(tv[-1]):.4g} ({how}), {dev:.1%} from ln({k}) = {lnk:.4g}"
    vs, vv = ctx.finite(VAL)
    if not len(vv):
        return {"chance_story": story}
    low = float(vv.min()) / lnk - 1
    if dev >= ctx.param("chance_loss_tol"):  # the train loss left chance level; validation did not
        i = int(np.argmin(vv))
        story = (f"validation loss never left ln({k}) = {lnk:.4g}: lowest {float(vv[i]):.4g} at "
                 f"step {int(vs[i])} ({abs(low):.1%} {'below' if low < 0 else 'above'}), last {float(vv[-1]):.4g} at step "
                 f"{int(vs[-1])}, while the train loss went to {float(rv[-1]):.4g}")
    return {"val_low_vs_chance": low, "chance_story": story}
