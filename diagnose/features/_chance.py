"""Chance level on the validation split: did the validation loss ever leave it?

A model that learned nothing that transfers predicts every validation example alike, so its
validation loss sits at the loss of those uniform predictions (ln K) from the first
evaluation to the last, whatever its train loss does (memorising the training set lowers the
train loss and leaves validation where it was).
"""

from __future__ import annotations

import math
import re

import numpy as np

from ._registry import Value, feature
from ._run import K_PARAMS, TRAIN, VAL, RunContext, chance_k, classes, prior_entropy_range
from ._series import MIN_POINTS_TREND, smooths, trailing_same

__all__: list[str] = []

#: the number of classes whose prior's entropy the accuracy alone gives (the majority share)
BINARY = 2
#: evaluations of one output needed before its second half says anything
MIN_EVALS_HEAD = 4
#: train points a loss-only output needs before its train loss alone can put it at chance
MIN_POINTS_TRAIN_HEAD = 10


@feature("val_low_vs_chance", "chance_story",
         params=(*K_PARAMS, "witnessed_loss_tol"))
def validation_at_chance(ctx: RunContext) -> dict[str, Value]:
    """The lowest logged validation loss over ln K, minus 1 (relative; about 0: validation
    never got below chance level, -0.5: it reached half of it), and the sentence that says
    which curve sits at ln K (``chance_story``). None without K."""
    k = classes(ctx)["k"]
    _, tv = ctx.smoothed(TRAIN)
    vs, vv = ctx.finite(VAL)
    if not k or not (len(tv) or len(vv)):
        return {}
    lnk = math.log(k)
    low = float(vv.min()) / lnk - 1 if len(vv) else None

    def val_story(tail: str) -> str:
        i = int(np.argmin(vv))
        return (f"validation loss never left ln({k}) = {lnk:.4g}: lowest {float(vv[i]):.4g} at "
                f"step {int(vs[i])} ({abs(low):.1%} {'below' if low < 0 else 'above'}), last "
                f"{float(vv[-1]):.4g} at step {int(vs[-1])}, {tail}")

    if not len(tv):  # a log of evaluations only: the validation loss is the curve to tell
        return {"val_low_vs_chance": low,
                "chance_story": val_story(f"over {len(vv)} evaluations (no train loss logged)")}
    rs, rv = ctx.finite(TRAIN)
    dev = abs(float(tv[-1]) / lnk - 1)
    how = (f"smoothed; last logged {float(rv[-1]):.4g} at step {int(rs[-1])}" if smooths(len(tv))
           else f"logged at step {int(rs[-1])}")
    story = f"train loss settled at {float(tv[-1]):.4g} ({how}), {dev:.1%} from ln({k}) = {lnk:.4g}"
    if not len(vv):
        return {"chance_story": story}
    # the train loss left chance level while validation did not; or the train loss is a point or
    # two (written once) beside many evaluations: the validation loss is then the curve to tell
    if dev >= ctx.param("chance_loss_tol") or (not smooths(len(tv)) and len(vv) > len(tv)):
        story = val_story(f"while the train loss went to {float(rv[-1]):.4g}")
    elif float(vv[-1]) > lnk * (1 + ctx.param("witnessed_loss_tol")):
        # beyond what a class-weighted loss explains, only the accuracies can put validation at
        # chance (DG204): say why its loss does not, so that the user is not left comparing
        # ln K with a number far above it
        story += (f"; the validation loss ({float(vv[-1]):.4g} at step {int(vs[-1])}) is "
                  f"{float(vv[-1]) / lnk:.3g}x ln({k}), on another scale (a sum over batches "
                  "rather than a mean?)")
    return {"val_low_vs_chance": low, "chance_story": story}


#: validation metrics that score the positive class (or foreground pixels) only: exactly 0 when
#: the model marks nothing as positive, whatever the accuracy says
_OVERLAP = re.compile(r"dice|iou|jaccard|f1|fbeta|recall|sensitivity", re.IGNORECASE)


def _overlap_zero(ctx: RunContext) -> tuple[int, str]:
    """The most evaluations at the end at which a validation dice, IoU, F1 or recall was
    exactly 0 (with the metric's name): a segmentation model that collapsed to the background
    class, a detector of a rare class that answers "no" to everything."""
    best, name = 0, ""
    for m in ctx.run.metric_names:
        low = m.lower()
        if not (low.startswith(_VAL_PREFIXES) and _OVERLAP.search(low)):
            continue
        _, v = ctx.finite(m)
        n = trailing_same(v) if len(v) and float(v[-1]) == 0 else 0
        if n > best:
            best, name = n, m
    return best, name


@feature("val_acc_points", "val_acc_range", "val_acc_frozen", "val_loss_spread", "val_frozen_loss_spread",
         "val_late_loss_spread", "val_under_prior", "val_prior_dev", "train_prior_dev", "val_overlap_zero", "frozen_story",
         params=("max_acc_range", "max_acc_wobble", *K_PARAMS))
def frozen_validation(ctx: RunContext) -> dict[str, Value]:
    """How far validation accuracy and loss moved over the whole run, from the first evaluation
    to the last: ``val_acc_range`` (max minus min, in points of 0..1) and ``val_loss_spread``
    (max minus min over the median). A model whose accuracy is the same number at every
    evaluation gives the same answers every time: one class for every input, say, when the
    accuracy is that class's share. ``frozen_story`` tells it in logged values.

    ``val_prior_dev``: how far the last validation loss is from the entropy of the class
    shares its accuracy implies (a model that predicts the class prior for every input scores
    the majority share a as accuracy and the prior's entropy as loss: -a ln a - (1-a) ln(1-a)
    = 0.500 for 80/20). Learning the prior moves the loss from ln K down to that entropy while
    the answers never change. With K > 2 known classes the shares of the others are unknown:
    any loss from the least entropy (as many classes at a as fit, the rest on one more) to the
    most (the rest spread evenly) fits, and counts 0. Read as two classes when K is unknown
    (with more classes the prior's entropy is higher, so the reading errs towards "it learned
    something"); None with accuracy at or below one half and K unknown, or under 1/K.
    ``train_prior_dev``: the same for the last train loss, with K known
    (:func:`prior_entropy_range`)."""
    s, acc = ctx.finite("val/acc")
    out: dict[str, Value] = {"val_acc_points": len(acc)}
    vs, vl = ctx.finite(VAL)
    mid = float(np.median(vl)) if len(vl) else 0.0
    if mid:  # the loss's own spread: a log with no accuracy has one too
        out["val_loss_spread"] = float(vl.max() - vl.min()) / abs(mid)
    if len(acc) == 0:
        return out
    out["val_acc_range"] = float(acc.max() - acc.min())
    # the evaluations at the end that all gave the last one's accuracy (the run's answers
    # settled there: a model that first learns the class shares moves before it freezes)
    frozen = trailing_same(acc, ctx.param("max_acc_range"))
    out["val_acc_frozen"] = frozen
    # fewer equal evaluations at the end than before them: the range tells it better
    wobbled = frozen < len(acc) - frozen and out["val_acc_range"] < ctx.param("max_acc_wobble")
    # the same over the evaluations whose accuracy froze: a model that learned the class shares
    # first (its loss falling from ln K) and then gave the same answers with the same confidence
    held = vl[vs >= s[len(acc) - frozen]] if frozen else vl[:0]
    if len(held) >= MIN_POINTS_TREND and np.median(held):
        out["val_frozen_loss_spread"] = float(held.max() - held.min()) / abs(float(np.median(held)))
    # the same over the second half of the evaluations: a model that gives the same answers
    # from the start moves its loss only while it learns how sure to be of them (from ln K down
    # to the entropy of the class shares), in the first epochs; then the loss stays too
    late = vl[len(vl) // 2:]
    if len(late) >= MIN_POINTS_TREND and np.median(late):
        out["val_late_loss_spread"] = float(late.max() - late.min()) / abs(float(np.median(late)))
    a = float(acc[-1])
    k = classes(ctx)["k"]
    # the same for the last train loss over K known classes, whatever the largest share (a log
    # with no validation loss: a model that learned only the class shares has their entropy as
    # its train loss too)
    _, tl = ctx.finite(TRAIN)
    span = prior_entropy_range(a, k) if k and len(tl) else None
    if span:
        out["train_prior_dev"] = _off_range(float(tl[-1]), span)
    prior = None  # the entropy of the class shares the last accuracy implies
    if (1 - a < a or k) and a < 1 and len(vl):
        # the majority share a leaves 1 - a to the other classes: all of it on one class is the
        # least entropy (two classes; K unknown is read so), spread evenly over K - 1 the most;
        # with K known a majority under one half fits too (30% of 5 classes: 30/30/30/10 at
        # least), and an accuracy under 1/K fits no class shares at all
        prior = prior_entropy_range(a, k or BINARY)
    if prior is not None:
        out["val_prior_dev"] = _off_range(float(vl[-1]), prior)
        # below the least entropy class shares with that majority can have: the model knows
        # more than the class balance, whatever its accuracy says
        out["val_under_prior"] = max(0.0, 1 - float(vl[-1]) / prior[0]) if prior[0] else 0.0
    moved = out.get("val_loss_spread", 0.0) >= ctx.param("chance_loss_tol")
    if prior is not None and moved:
        low, high = prior
        if not k and float(vl[-1]) > low * (1 + ctx.param("chance_loss_tol")):
            # K unknown: the rest of the examples may belong to several classes, whose shares'
            # entropy is higher; do not say the loss went to the two-class figure
            shares = (f"above the {low:.4g} entropy of {a:.0%}/{1 - a:.0%} class shares, as when "
                      f"the other {1 - a:.0%} are spread over more classes")
        elif low == high:
            shares = f"the entropy of {a:.0%}/{1 - a:.0%} class shares ({low:.4g})"
        else:
            shares = (f"where the entropy of {k} class shares with {a:.0%} in the largest lies "
                      f"({low:.4g} to {high:.4g})")
        loss = (f" while the validation loss went from {float(vl[0]):.4g} to {float(vl[-1]):.4g}, "
                f"{shares}")
        if wobbled and "val_late_loss_spread" in out:
            loss += (f"; over the last {len(late)} evaluations it moved only "
                     f"{out['val_late_loss_spread']:.1%}")
        elif "val_frozen_loss_spread" in out and frozen < len(acc):
            loss += (f"; over those {frozen} evaluations it moved only "
                     f"{out['val_frozen_loss_spread']:.1%}")
    else:
        loss = (f" and the validation loss stayed within {out['val_loss_spread']:.1%} of {mid:.4g}"
                if mid else "")
    zero, zero_name = _overlap_zero(ctx)
    out["val_overlap_zero"] = zero
    if frozen == 1 < len(acc) or wobbled:  # no settled stretch (or a short one): the answers
        # barely moved all run (DG208's max_acc_wobble), a few flipping around the majority share
        out["frozen_story"] = (f"validation accuracy stayed between {float(acc.min()):.4g} and "
                               f"{float(acc.max()):.4g} at all {len(acc)} evaluations (steps "
                               f"{int(s[0])}-{int(s[-1])}){loss}")
        return out
    if zero >= frozen > 1:
        loss += f"; {zero_name} was 0 at each of them: nothing was predicted as the positive class"
    which = (f"every one of its {len(acc)} evaluations" if frozen == len(acc) else
             f"each of its last {frozen} evaluations of {len(acc)}")
    out["frozen_story"] = (f"validation accuracy was {float(acc[-1]):.4g} at {which} "
                           f"(steps {int(s[len(acc) - frozen])}-{int(s[-1])}){loss}")
    return out


@feature("train_acc_points", "train_acc_frozen", "train_acc_last", "train_frozen_story",
         params=("max_acc_range",))
def frozen_train_accuracy(ctx: RunContext) -> dict[str, Value]:
    """The train accuracy's counterpart of ``val_acc_frozen``, for a log with no validation
    accuracy: how many logged points at the end gave the last one's train accuracy. Computed
    over each epoch's (or window's) examples, a model that learns moves it every time; the same
    number epoch after epoch is a model that answers the same thing for every input (a softmax
    over a single output unit, which is 1.0 whatever the input)."""
    s, acc = ctx.finite("train/acc")
    out: dict[str, Value] = {"train_acc_points": len(acc)}
    if len(acc) == 0:
        return out
    frozen = trailing_same(acc, ctx.param("max_acc_range"))
    out.update(train_acc_frozen=frozen, train_acc_last=float(acc[-1]))
    which = (f"every one of its {len(acc)} logged points" if frozen == len(acc) else
             f"each of its last {frozen} logged points of {len(acc)}")
    out["train_frozen_story"] = (f"train accuracy was {float(acc[-1]):.4g} at {which} (steps "
                                 f"{int(s[len(acc) - frozen])}-{int(s[-1])}) and no validation "
                                 "accuracy was logged")
    return out


def _off_range(x: float, span: tuple[float, float]) -> float:
    """0 inside [low, high], else the relative distance of ``x`` from the nearer bound."""
    low, high = span
    return 0.0 if low <= x <= high else min(abs(x / low - 1), abs(x / high - 1))


#: how a validation metric's name starts, and how an output's accuracy and loss end
_VAL_PREFIXES = ("val_", "val/", "val-", "valid_", "validation_", "eval_", "eval/")
_TRAIN_PREFIXES = ("train_", "train/", "train-")
_HEAD_SUFFIXES = (("_accuracy", "acc"), ("_acc", "acc"), ("_loss", "loss"))


def output_heads(names: list[str],
                 prefixes: tuple[str, ...] = _VAL_PREFIXES) -> dict[str, dict[str, str]]:
    """The validation curves of each output of a model with several (Keras multi-output
    ``val_<head>_accuracy`` / ``val_<head>_loss``, a multi-task Lightning run's
    ``val_<task>_loss``): head -> {"acc": name, "loss": name}. The run's own ``val/loss`` and
    ``val/acc`` are not heads, nor top-k accuracies (k/K at chance, not 1/K). ``prefixes``:
    :data:`_TRAIN_PREFIXES` gives the train curves of the same outputs."""
    out: dict[str, dict[str, str]] = {}
    for name in names:
        low = name.lower()
        pre = next((p for p in prefixes if low.startswith(p)), None)
        rest = low[len(pre):] if pre else ""
        if not rest or "top" in rest:
            continue
        for suffix, kind in _HEAD_SUFFIXES:
            if rest.endswith(suffix) and len(rest) > len(suffix):
                out.setdefault(rest[: -len(suffix)], {})[kind] = name
                break
    return out


def _train_heads_at_ln_k(ctx: RunContext, val_heads: dict[str, dict[str, str]], k: int,
                         loss_tol: float, said: str) -> list[str]:
    """Loss-only outputs evaluated too rarely to judge on validation (a multi-task run that
    validates once) whose train loss sits at ln K of the configured classes over the second
    half, every evaluation they have agreeing: the head learned nothing, batch after batch."""
    lnk, found = math.log(k), []
    for head, train in sorted(output_heads(list(ctx.run.metric_names), _TRAIN_PREFIXES).items()):
        val = val_heads.get(head, {})
        if "loss" not in train or "acc" in val:
            continue
        name = train["loss"]
        _, vv = ctx.finite(val["loss"]) if "loss" in val else (None, np.array([]))
        if len(vv) >= MIN_EVALS_HEAD or any(abs(float(v) / lnk - 1) > loss_tol for v in vv):
            continue  # judged on validation above, or validation contradicts
        _, tv = ctx.finite(name)
        if len(tv) < MIN_POINTS_TRAIN_HEAD:
            continue
        loss = float(np.median(tv[len(tv) // 2:]))
        if abs(loss / lnk - 1) <= loss_tol:
            seen = ("" if not len(vv) else f", its one evaluation at {float(vv[0]):.4g} too"
                    if len(vv) == 1 else f", its {len(vv)} evaluations too")
            found.append(f"output '{head}': train loss {loss:.4g} ~ ln {k} = {lnk:.4g} "
                         f"({k} {said}){seen}")
    return found


@feature("heads_at_chance", "head_chance_story", params=K_PARAMS)
def heads_at_chance(ctx: RunContext) -> dict[str, Value]:
    """Outputs of a multi-output or multi-task model whose validation curves sit at chance
    over the second half of the run while the total loss may fall (the other outputs learn):
    accuracy about 1/K' with the loss about ln K' (K' read off the accuracy), or, for an output
    that logs only a loss, the loss about ln K of the configured number of classes. Checked
    with the tolerances the chance-level reading uses (``chance_acc_tol``, ``chance_loss_tol``).
    """
    heads = output_heads(list(ctx.run.metric_names))
    acc_tol, loss_tol = ctx.param("chance_acc_tol"), ctx.param("chance_loss_tol")
    known = classes(ctx)
    # a loss-only output is judged against the config's K, or the K the run's own validation
    # accuracy sits at chance for (two witnesses: accuracy 1/K and that output's loss ln K)
    k_cfg, said = known["k_config"], "classes in the config"
    if not k_cfg and known["k_acc"]:
        _, acc = ctx.finite("val/acc")
        k_cfg = known["k_acc"]
        said = f"classes: the validation accuracy {float(np.median(acc)):.3g} is about 1/{k_cfg}"
    found: list[str] = []
    for head, names in sorted(heads.items()):
        if "loss" not in names:
            continue
        _, lv = ctx.finite(names["loss"])
        if len(lv) < MIN_EVALS_HEAD:
            continue
        loss = float(np.median(lv[len(lv) // 2:]))
        if "acc" in names:
            _, av = ctx.finite(names["acc"])
            if len(av) < MIN_EVALS_HEAD:
                continue
            a = float(np.median(av[len(av) // 2:]))
            k = chance_k(a, loss, acc_tol, loss_tol)[1] if a > 0 else None
            if not k:
                continue
            found.append(f"output '{head}': validation accuracy {a:.3g} ~ 1/{k} and loss "
                         f"{loss:.4g} ~ ln {k} = {math.log(k):.4g}")
        elif k_cfg and k_cfg >= BINARY and abs(loss / math.log(k_cfg) - 1) <= loss_tol:
            found.append(f"output '{head}': validation loss {loss:.4g} ~ ln {k_cfg} = "
                         f"{math.log(k_cfg):.4g} ({k_cfg} {said})")
    if k_cfg and k_cfg >= BINARY:
        found += _train_heads_at_ln_k(ctx, heads, k_cfg, loss_tol, said)
    out: dict[str, Value] = {"heads_at_chance": len(found)}
    if found:
        out["head_chance_story"] = "; ".join(found) + " (medians over the second half of the run)"
    return out


#: the squared error of answering 1/2 to a 0/1 target, whichever the target is: where a
#: mean-squared-error loss over balanced binary targets sits when the model outputs a constant
HALF_MSE = 0.25


@feature("half_mse_dev", "half_mse_spread", "half_mse_points", "half_mse_story")
def constant_half_output(ctx: RunContext) -> dict[str, Value]:
    """How far the train loss's last fifth sits from 0.25 (``half_mse_dev``, relative to it)
    and how far it moves there (``half_mse_spread``: max minus min over the median): a model
    trained with MSE on balanced 0/1 targets (XOR, a binary LSTM) that answers 1/2 to every
    input sits at exactly 0.25, the uniform prediction of a regression on two classes. ln K
    names no such level, so DG204 cannot see it."""
    s, v = ctx.finite(TRAIN)
    out: dict[str, Value] = {"half_mse_points": len(v)}
    tail, ts = v[len(v) * 4 // 5:], s[len(s) * 4 // 5:]
    if not len(tail):
        return out
    mid = float(np.median(tail))
    if not mid > 0:
        return out
    lo, hi = f"{float(tail.min()):.5g}", f"{float(tail.max()):.5g}"
    span = lo if lo == hi else f"{lo}-{hi}"
    out.update(half_mse_dev=abs(mid / HALF_MSE - 1),
               half_mse_spread=float(tail.max() - tail.min()) / mid,
               half_mse_story=(f"train loss {float(v[0]):.4g} at step {int(s[0])}, then {span} "
                               f"over its last {len(tail)} logged points (steps {int(ts[0])}-"
                               f"{int(ts[-1])})"))
    return out
