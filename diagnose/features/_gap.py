"""Train against validation: how far apart the two curves are, in loss and in accuracy.

The gap is judged against the task's own scale (``gap_scale``): a validation loss 40x a
train loss of 0.001 is a converged model, not a gap, unless the difference matters next
to where the losses started.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..run import HELD_OUT_WORDS, PERCENT, TRAIN_WORDS, in_percent, plain_words
from ._registry import Value, feature
from ._run import K_PARAMS, TRAIN, VAL, RunContext, run_scale
from ._series import safe_ratio, smooths, value_at, window

__all__ = ["gap_scale"]


def gap_scale(ctx: RunContext) -> float | None:
    """The loss scale a gap is measured against: the run's scale (first train loss, or ln K
    when larger) or the first validation loss, whichever is larger.

    Trainers that log a windowed mean (Hugging Face ``logging_steps``, Lightning
    ``log_every_n_steps``) write their first train loss after the model already learned,
    so that value can sit far below where the task started; the first evaluation is on the
    same scale and was made by a model that had learned no more than at its first window.
    """
    scale = run_scale(ctx)
    _, vv = ctx.finite(VAL)
    first_val = abs(float(vv[0])) if len(vv) else 0.0
    return max(scale or 0.0, first_val) or None


def _ratio(val: float, train: float) -> float | None:
    """Validation over train loss; infinite for a train loss logged as 0 (Hugging Face rounds
    to 4 decimals) under a positive validation loss: a gap without end, not a missing number.
    None under a negative train loss (a likelihood that went below zero): no ratio of the two
    says how far apart they are."""
    if train < 0:
        return None
    return math.inf if train == 0 < val else safe_ratio(val, train)


@feature("gap_end", "gap_ratio_end", "gap_rel_end", "gap_best", "gap_ratio_best", "gap_rel_best",
         "train_at_val_end", "train_at_val_best", "gap_first_step", "train_at_val_end_lo",
         "gap_ratio_end_lo", "gap_rel_end_lo", "val_end_note", "gap_train_how",
         params=("gap_start", "gap_min_points", *K_PARAMS))
def loss_gap(ctx: RunContext) -> dict[str, Value]:
    """Validation minus train loss at the end (the final model) and at the best validation step.

    Train is smoothed and read at the validation steps; validation is as logged;
    ``gap_rel_*`` divides by :func:`gap_scale` so the size is judged against the task's own
    scale. ``gap_first_step``: where the gap first exceeds ``gap_start`` of it.
    """
    vs, vv = ctx.finite(VAL)
    ts, tv = ctx.smoothed(TRAIN)
    if len(vv) == 0 or len(tv) == 0:
        return {}
    train_at = value_at(ts, tv, vs)
    train_lo = train_at
    how = "smoothed, " if smooths(len(tv)) else ""
    # a sparse log (one batch every so many steps) is barely smoothed: the median of the
    # m nearest logged points (at most half the log, so the reading stays local) is a second
    # reading of train at a validation step, and a gap (or validation below train) must hold
    # against both: one batch is not the loss
    # A log whose step is the epoch index (Keras, Ultralytics, TensorBoard per-epoch scalars:
    # steps 0, 1, 2, ... with one train value and one evaluation at each) writes each epoch's
    # mean, not one batch: read as it is, since half such a log's points around the end of a
    # falling curve sit far above it (a public 30-epoch Caltech-101 run from scratch: train
    # 0.69 at the end read as 1.45, its median of the last 15 epochs, and a 4.3x gap as 2x).
    # One batch's loss every 50 steps beside an evaluation at the same steps is still a batch.
    # A log with both accuracies keeps the guard: their gap is the direct witness there, and
    # a healthy CIFAR-10 CNN (7-point accuracy gap, validation 1.7x train at the last epoch,
    # both still falling) is no gap
    rs, rv = ctx.finite(TRAIN)
    both_acc = len(ctx.finite("train/acc")[1]) > 0 and len(ctx.finite("val/acc")[1]) > 0
    per_epoch = (len(rs) == len(vs) and bool(np.array_equal(rs, vs))
                 and bool((np.diff(rs) == 1).all()) and not both_acc)
    m = min(int(ctx.param("gap_min_points")), len(tv) // 2)
    if window(len(tv)) < m and not per_epoch and len(rv) >= m:
        at = np.clip(np.searchsorted(rs, vs, side="right") - 1 - m // 2, 0, len(rv) - m)
        med = np.median(np.lib.stride_tricks.sliding_window_view(rv, m)[at], axis=1)
        train_lo = np.minimum(train_at, med)
        if med[-1] > train_at[-1]:  # the number quoted at the end is the median: say so
            how = f"the median of {m} logged train points around it, "
        train_at = np.maximum(train_at, med)
    i = int(np.argmin(vv))
    _, vsm = ctx.smoothed(VAL)
    scale = gap_scale(ctx)
    out: dict[str, Value] = {
        "train_at_val_end": float(train_at[-1]),
        "train_at_val_best": float(train_at[i]),
        "gap_end": float(vsm[-1] - train_at[-1]),
        "gap_best": float(vv[i] - train_at[i]),
        "gap_ratio_end": _ratio(float(vsm[-1]), float(train_at[-1])),
        "gap_ratio_best": _ratio(float(vv[i]), float(train_at[i])),
        "train_at_val_end_lo": float(train_lo[-1]),
        # what messages may call smoothed: a curve too short for a window is read as logged
        "val_end_note": f" (smoothed {float(vsm[-1]):.4g})" if smooths(len(vv)) else "",
        "gap_train_how": how,
        "gap_ratio_end_lo": _ratio(float(vsm[-1]), float(train_lo[-1])),
    }
    if scale:
        out["gap_rel_end"] = out["gap_end"] / scale
        out["gap_rel_end_lo"] = float(vsm[-1] - train_lo[-1]) / scale
        out["gap_rel_best"] = out["gap_best"] / scale
        wide = (vsm - train_at) > ctx.param("gap_start") * scale
        if wide.any():
            out["gap_first_step"] = int(vs[int(np.argmax(wide))])
    return out


#: evaluations the last third of a log needs before it can say the validation loss stalled
#: (two are one step: a healthy fine-tune's last two of six evaluations, 0.043 then 0.054)
MIN_THIRD_EVALS = 3


@feature("val_second_half_gain", "val_last_third_gain", "train_second_half_fall")
def gap_opening(ctx: RunContext) -> dict[str, Value]:
    """Whether the gap is still opening: over the second half of the evaluations, how much
    the validation loss gained (one less the median of that half's last third over the median
    of its first third: 0 when it stalled, below 0 when it rose), how much lower the last third
    of the evaluations (when it holds ``MIN_THIRD_EVALS``) went than every evaluation before
    it (one less the ratio of their lowest values), and by what factor the smoothed train loss
    fell over the second half.

    A validation loss that stalls while the train loss keeps falling is a gap that training
    is widening; one that falls beside it is a model still learning. The last third's new low
    says "stalled" of a validation loss whose second half still began on its way down, and
    "still learning" of one that ends at a clear new best however noisy its median.
    """
    vs, vv = ctx.finite(VAL)
    ts, tv = ctx.smoothed(TRAIN)
    if len(vv) == 0 or len(tv) == 0:
        return {}
    half = vv[len(vv) // 2:]
    k = max(1, len(half) // 3)
    first, last = float(np.median(half[:k])), float(np.median(half[-k:]))
    out: dict[str, Value] = {}
    if first:
        out["val_second_half_gain"] = (first - last) / abs(first)
    cut = len(vv) - len(vv) // 3
    if len(vv) - cut >= MIN_THIRD_EVALS and float(vv[:cut].min()) > 0:
        out["val_last_third_gain"] = 1 - float(vv[cut:].min()) / float(vv[:cut].min())
    train_at = value_at(ts, tv, vs[[len(vv) // 2, len(vv) - 1]])
    if train_at[1] > 0:
        out["train_second_half_fall"] = float(train_at[0] / train_at[1])
    return out


@feature("acc_gap_end", "acc_gap_best", "acc_logged", "train_acc_end", "val_acc_end",
         "val_acc_best", "acc_note")
def accuracy_gap(ctx: RunContext) -> dict[str, Value]:
    """Train minus validation accuracy (in points of 0..1) at the end and at the best validation loss.

    Train accuracy is smoothed and read at the validation steps; None when either is not
    logged (``acc_logged`` is 1 when both are).
    """
    out: dict[str, Value] = {"acc_note": "", "acc_logged": 0.0}
    vs, vv = ctx.finite("val/acc")
    ts, tv = ctx.smoothed("train/acc")
    if len(vv):
        out["val_acc_end"] = float(vv[-1])
        out["val_acc_best"] = float(vv.max())
    if len(tv):
        out["train_acc_end"] = float(tv[-1])
    if len(vv) and len(tv):
        out["acc_logged"] = 1.0
        _, vsm = ctx.smoothed("val/acc")
        t_end = float(value_at(ts, tv, vs[-1:])[0])
        out["acc_gap_end"] = t_end - float(vsm[-1])
        ls, lv = ctx.finite(VAL)
        if len(lv):
            at = float(ls[int(np.argmin(lv))])
            out["acc_gap_best"] = float(value_at(ts, tv, np.array([at]))[0] - value_at(vs, vv, np.array([at]))[0])
        how = "train, smoothed" if smooths(len(tv)) else "train"
        out["acc_note"] = (f"; accuracy {t_end:.3g} ({how}) vs {float(vv[-1]):.3g} "
                           f"(validation) at step {int(vs[-1])}")
    return out


#: scores of agreement with the labels that read, like an accuracy, 1 for a perfect model and are
#: logged per split by segmenters and imbalanced classifiers that log no accuracy (torchmetrics'
#: ``MulticlassJaccardIndex``, a dice, a macro F1). Not recall or sensitivity alone: a model that
#: marks everything positive scores 1 on them
_SCORE_WORD = re.compile(r"dice|iou|jaccard|f1|fbeta", re.IGNORECASE)


def _score_pairs(names: list[str]) -> dict[tuple[str, ...], dict[str, list[str]]]:
    """Score metrics keyed by what they score (their words without the split word), each with
    its train and validation names: ``train_multiclassjaccardindex_epoch`` and
    ``val_multiclassjaccardindex`` share the key ``("multiclassjaccardindex",)``. A name that
    says loss (``train_loss_giou``) is a loss, not a score."""
    out: dict[tuple[str, ...], dict[str, list[str]]] = {}
    unsplit: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        words = plain_words(name)
        train, held_out = bool(TRAIN_WORDS & set(words)), bool(HELD_OUT_WORDS & set(words))
        if "loss" in words or not _SCORE_WORD.search(name) or (train and held_out):
            continue  # a loss, no score, or both splits named
        key = tuple(w for w in words if w not in TRAIN_WORDS | HELD_OUT_WORDS)
        if not train and not held_out:
            unsplit.setdefault(key, []).append(name)
            continue
        out.setdefault(key, {"train": [], "val": []})["train" if train else "val"].append(name)
    for key, found in unsplit.items():  # Keras's way: ``macro_f1`` is train beside ``val_macro_f1``
        if key in out and out[key]["val"] and not out[key]["train"]:
            out[key]["train"] = found
    return out


@feature("score_gap_end", "score_note")
def score_gap(ctx: RunContext) -> dict[str, Value]:
    """Train minus validation of an accuracy-like score (IoU, dice, F1; in points of 0..1) at
    the final evaluation: a segmenter's gap shows in its IoU when its loss, weighted or summed
    over pixels, says little, and a multi-label classifier's in its macro F1 when its per-label
    accuracy, most labels negative, sits near 1 on both splits. The largest over the scores
    logged for both splits, each side's fullest series; train smoothed and read at the last
    validation step, as for the accuracy."""
    out: dict[str, Value] = {"score_note": ""}
    best: tuple[float, str] | None = None
    for key, sides in _score_pairs(list(ctx.run.metric_names)).items():
        if not sides["train"] or not sides["val"]:
            continue
        train, val = (max(sides[k], key=lambda m: len(ctx.finite(m)[1])) for k in ("train", "val"))
        ts, tv = ctx.smoothed(train)
        vs, vv = ctx.smoothed(val)
        both = np.concatenate([ctx.finite(train)[1], ctx.finite(val)[1]])
        if not len(tv) or not len(vv) or float(both.min()) < 0 or float(both.max()) > PERCENT:
            continue
        scale = PERCENT if in_percent(both) else 1.0
        t_end = float(value_at(ts, tv, vs[-1:])[0]) / scale
        gap = t_end - float(vv[-1]) / scale
        if best is None or gap > best[0]:
            note = (f"; {' '.join(key)} {t_end:.3g} (train{', smoothed' if smooths(len(tv)) else ''}) "
                    f"vs {float(vv[-1]) / scale:.3g} (validation{', smoothed' if smooths(len(vv)) else ''}) "
                    f"at step {int(vs[-1])}")
            best = (gap, note)
    if best is not None:
        out["score_gap_end"], out["score_note"] = best
    return out


#: the least loss a softmax applied twice allows (two classes: ln(1 + 1/e)); more classes, more
SOFTMAX_TWICE_FLOOR = math.log(1 + 1 / math.e)
#: the smallest share of misclassified examples an accuracy is read as (1.0 exactly: 1 in 1000)
MIN_WRONG_SHARE = 1e-3


@feature("val_wrong_loss", "val_softmax_floor", "val_wrong_acc", "val_wrong_low",
         "train_under_val_floor")
def softmax_floor(ctx: RunContext) -> dict[str, Value]:
    """How a validation loss squares with its accuracy: ``val_wrong_loss`` is the lowest
    validation loss over the share of examples the final model gets wrong (median accuracy
    of the last three evaluations; at least 1 in 1000): the average loss each misclassified
    example would need if every correct one cost nothing. ``val_softmax_floor`` is 1 when the
    lowest validation loss is at or above ln(1 + 1/e), the least a softmax applied twice
    allows (Ultralytics classification before 8.3.39 computed its validation loss so), else 0.
    ``val_wrong_acc`` and ``val_wrong_low`` are the accuracy and the lowest loss it read.
    ``train_under_val_floor`` is 1 when the train loss ends (median of its last three points)
    under that floor: the train side is a cross-entropy of logits where the validation side
    never got under what a softmax applied twice allows; 0 when not, absent with no train loss.
    """
    _, acc = ctx.finite("val/acc")
    _, lv = ctx.finite(VAL)
    if not len(acc) or not len(lv):
        return {}
    a = float(np.median(acc[-3:]))
    low = float(lv.min())
    out: dict[str, Value] = {
        "val_wrong_loss": low / max(1 - a, MIN_WRONG_SHARE), "val_wrong_acc": a,
        "val_wrong_low": low, "val_softmax_floor": float(low >= SOFTMAX_TWICE_FLOOR)}
    _, lt = ctx.finite(TRAIN)
    if len(lt):
        end = float(np.median(lt[-3:]))  # as the accuracy above: the last three points
        out["train_under_val_floor"] = float(end < SOFTMAX_TWICE_FLOOR)
    return out

