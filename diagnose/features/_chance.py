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
from ._series import smooths

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
    how = (f"smoothed; last logged {float(rv[-1]):.4g} at step {int(rs[-1])}" if smooths(len(tv))
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


@feature("val_acc_points", "val_acc_range", "val_loss_spread", "frozen_story")
def frozen_validation(ctx: RunContext) -> dict[str, Value]:
    """How far validation accuracy and loss moved over the whole run, from the first evaluation
    to the last: ``val_acc_range`` (max minus min, in points of 0..1) and ``val_loss_spread``
    (max minus min over the median). A model whose accuracy is the same number at every
    evaluation gives the same answers every time: one class for every input, say, when the
    accuracy is that class's share. ``frozen_story`` tells it in logged values."""
    s, acc = ctx.finite("val/acc")
    out: dict[str, Value] = {"val_acc_points": len(acc)}
    if len(acc) == 0:
        return out
    out["val_acc_range"] = float(acc.max() - acc.min())
    _, vl = ctx.finite(VAL)
    mid = float(np.median(vl)) if len(vl) else 0.0
    if mid:
        out["val_loss_spread"] = float(vl.max() - vl.min()) / abs(mid)
    loss = (f" and the validation loss stayed within {out['val_loss_spread']:.1%} of {mid:.4g}"
            if mid else "")
    out["frozen_story"] = (f"validation accuracy was {float(acc[0]):.4g} at every one of its {len(acc)} "
                           f"evaluations (steps {int(s[0])}-{int(s[-1])}){loss}")
    return out
