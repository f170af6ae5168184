"""From raw (step, name, value) columns to a Run's tidy metrics, the same way for every text format.

Readers collect what the file says under the file's own names; this module maps the
names to canonical ones (recording each rename), settles two names that mean the same
metric, and drops repeated steps through ``dedupe_steps``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..run import (ACCURACY_METRICS, CAMEL, HELD_OUT_WORDS, JUDGED_METRICS, Run, _normalise,
                   canonical_name, in_percent, is_averaged, plain_words)
from ._common import dedupe_steps, increasing

__all__ = ["EMPTY", "MISSING", "NONFINITE", "finish_metrics", "json_or_text_float", "on_train_steps",
           "opt_float",
           "parse_float", "percent_note", "rename_map"]

#: A held-out curve whose last step is this many times behind the train loss's step logged at
#: the same wall-clock time counts something of its own (evaluation batches, epochs)...
OWN_COUNTER_RATIO = 2.0
#: ... judged on curves of at least this many points, the held-out one logged until at least this
#: share of the train loss's wall-clock span (not a short evaluation run at the start)
OWN_COUNTER_MIN_POINTS = 5
OWN_COUNTER_MIN_SPAN = 0.5
#: Cells that mean "no value here" (Keras writes NA, pandas an empty cell); nan/inf are values.
MISSING = {"", "na", "n/a", "null", "none"}

#: Non-finite spellings writers use: Python/C (``nan``, ``inf``), JSON5/JS (``NaN``,
#: ``Infinity``), R/Excel-ish (``NA`` is *missing*, not here).
NONFINITE = {
    "nan": math.nan, "+nan": math.nan, "-nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
    "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf,
}


#: a scalar printed with its type: NumPy 2's ``np.float64(0.5)`` / ``float32(0.5)``, and a torch
#: tensor printed whole, ``tensor(0.6858, device='cuda:0', dtype=torch.float64)`` (a loop that
#: prints ``running_corrects.double() / n`` with ``str()`` or as an argument of ``print``; an
#: f-string's ``{}`` prints the bare number); group 1 is the number's text
SCALAR_REPR = re.compile(
    r"\b(?:(?:np\.|numpy\.)?(?:float|int)(?:16|32|64)|tensor)\(([^(),]*)(?:,[^()]*)?\)")


def parse_float(text: str) -> float:
    """A metric value from text, bit-exact for ``repr`` output; NaN/±inf in any usual spelling.

    Raises ValueError for anything else.
    """
    try:
        return float(text)
    except ValueError:
        v = NONFINITE.get(text.strip().lower())
        if v is None:
            raise
        return v


def printed_float(text: str) -> float:
    """:func:`parse_float`, or the number of a whole printed scalar (``tensor(0.69,
    grad_fn=<NllLossBackward0>)``, ``np.float64(0.5)``): the value a loop saved when it kept the
    loss tensor and wrote it with ``str``. Raises ValueError for anything else (``tensor(float)``).
    """
    try:
        return parse_float(text)
    except ValueError:
        m = SCALAR_REPR.fullmatch(text.strip())
        if m is None:
            raise
        return parse_float(m.group(1))


#: spellings of a test-set loss, used as the validation loss when a log has no other, once
#: lower-cased, split into words and stripped of averaging words (``Test/Average loss``,
#: ``test_loss_epoch``, ``loss/test``)
_TEST_LOSS_WORDS = frozenset({("test", "loss"), ("loss", "test"), ("eval", "test", "loss"),
                              ("test", "epoch", "loss")})


#: spellings of a test-set accuracy (top-1), read as the validation accuracy when the test loss
#: is read as the validation loss: the two describe the same held-out set, and the rules need
#: its accuracy to tell chance level (K) and an accuracy gap apart
_TEST_ACC_WORDS = frozenset({("test", w) for w in ("acc", "accuracy", "top1", "acc1")}
                            | {(w, "test") for w in ("acc", "accuracy")})


#: words that say nothing about what a value is in ``Test loss (avg on test)``
_SAYS_NOTHING = frozenset({"on", "of", "the", "set"})


def _what_words(name: str) -> tuple[str, ...]:
    """A name's plain words without a remark in brackets' own filler, a one-letter shorthand
    (``test/v_loss``: the TF2 loop's ``v_`` for held-out) or a repeated word:
    ``Test loss (avg on test)`` -> ``test``, ``loss``."""
    words = plain_words(re.sub(r"[()\[\]]", "_", name))
    kept: list[str] = []
    for w in words:
        if len(w) > 1 and w not in _SAYS_NOTHING and w not in kept:
            kept.append(w)
    return tuple(kept)


def is_test_loss(name: str) -> bool:
    """Whether a raw name spells a test-set loss (``Test Loss``, ``loss/test``)."""
    return _what_words(canonical_name(name)) in _TEST_LOSS_WORDS


def _sole_test(target: Mapping[str, str], spellings: frozenset) -> str | None:
    """The one raw name whose mapped name spells a test metric (``spellings``, as plain words);
    of ``test_loss`` beside ``avg_test_loss``, the plain spelling; None when none or several."""
    found = [r for r, t in target.items() if _what_words(t) in spellings]
    if len(found) > 1:
        found = [r for r in found if not is_averaged(target[r])]
    return found[0] if len(found) == 1 else None


def rename_map(
    counts: Mapping[str, int],
    aliases: Mapping[str, str] | None,
    rename: Callable[[str], str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """raw name -> metric name for one run, and notes.

    When several raw names would get the same canonical name (Lightning's
    ``train_loss_step`` and ``train_loss_epoch``), one keeps it: the raw name already
    spelled canonically, else the one with the most points; on a tie the epoch aggregate
    (a mean over every batch of the epoch, where the step value is one batch's loss), then
    file order. The others keep their own names, so no series is silently merged into another.
    """
    target = {raw: (rename or (lambda r: canonical_name(r, aliases)))(raw) for raw in counts}
    notes: list[str] = []
    if "train/loss" not in target.values():
        target.update(_split_suffixed_loss(target, notes))
    target.update(_nll_as_loss(target, notes))
    target.update(_fastai_accuracy(target, aliases, notes))
    target.update(_output_accuracy(target, notes))
    mapped = set(target.values())
    if mapped & set(JUDGED_METRICS) and not mapped & {"train/loss", "val/loss"}:
        # no loss, but an accuracy: the losses may be logged under their criterion's name
        # (``train_cross_entropy`` and ``test_cross_entropy`` beside ``train_accuracy``)
        pair = _criterion_pair([r for r, t in target.items() if t == r], notes)
        target.update(pair)
        if any(plain_words(r)[0] == "test" for r, c in pair.items() if c == "val/loss"):
            _test_accuracy(target, notes)
    if "val/loss" not in target.values():
        # a test loss is the only held-out loss: the rules read it as the validation loss
        test = _sole_test(target, _TEST_LOSS_WORDS)
        if test is not None:
            target[test] = "val/loss"
            notes.append(f"{test!r} read as 'val/loss': no other validation loss in this log")
            _test_accuracy(target, notes)
    if "val/loss" not in target.values():
        crit = {r: w for r, t in target.items()
                if t == r and len(w := _what_words(_one_word_ce(t))) == 2
                and set(w) & set(_LOSS_CRITERIA) and set(w) & HELD_OUT_WORDS}
        if len(crit) == 1 and "train/loss" in target.values():
            # a loop's validation loss logged under its criterion's name (``train_loss`` beside
            # ``val_mse`` and ``val_rmse``; beside ``val_cross_entropy`` and ``val_top5_acc``)
            (raw, words), = crit.items()
            what = next(_LOSS_CRITERIA[w] for w in words if w in _LOSS_CRITERIA)
            target[raw] = "val/loss"
            notes.append(f"{raw!r} read as 'val/loss': a validation {what} and no other "
                         "validation loss in this log")
    if not set(target.values()) & set(JUDGED_METRICS):
        target.update(_fallback_names(counts, aliases, notes))
    elif "train/loss" not in target.values():
        # a validation loss is read, no train loss: the run's one total loss is it
        # (detectron2 with a validation hook: ``total_loss`` beside ``total_val_loss``)
        total = _total_losses(r for r, t in target.items() if t == r)  # names left unmapped
        if len(total) == 1:
            target[total[0]] = "train/loss"
            notes.append(_TOTAL_NOTE.format(total[0]))
        else:
            target.update(_qualified_train_twin(target, notes))
    if set(target.values()) & set(JUDGED_METRICS):
        # a loss still missing may be logged with an index only (``train_loss_0`` beside
        # ``valid_loss``): names left unmapped. Not an accuracy: ``train_acc_5`` may be top-5
        missing = set(JUDGED_METRICS[:2]) - set(target.values())
        target.update(_indexed_names([r for r, t in target.items() if t == r], missing,
                                     aliases, notes))
    by_target: dict[str, list[str]] = {}
    for raw, t in target.items():
        by_target.setdefault(t, []).append(raw)
    out: dict[str, str] = {}
    for t, raws in by_target.items():
        if len(raws) == 1:
            out[raws[0]] = t
            continue
        winner = t if t in raws else max(raws, key=lambda r: (counts[r], "epoch" in r.lower()))  # max keeps first on ties
        for raw in raws:
            out[raw] = t if raw == winner else raw
        others = ", ".join(repr(r) for r in raws if r != winner)
        notes.append(
            f"{others} would also be {t!r}; {winner!r} ({counts[winner]} points) is used as "
            f"{t!r} and {others} keep(s) its own name"
        )
    return out, notes


def _raw_words(raw: str) -> list[str]:
    """The plain words of a logged name, its CamelCase words apart (``TrainLossCls`` -> ``train``,
    ``loss``, ``cls``): what the per-split loss and accuracy readings compare."""
    return plain_words(CAMEL.sub("_", raw))


def _loss_split_rest(raw: str, test: bool = False) -> tuple[str, tuple[str, ...]]:
    """The split word of a loss name naming exactly one (the test split's too with ``test``) and
    its other words (``train_loss_cls`` -> ``train``, ``(cls,)``); ("", ()) for any other name."""
    words = _raw_words(raw)
    splits = [w for w in words if w in _SPLIT_SUFFIX or (test and w == "test")]
    if "loss" not in words or len(splits) != 1:
        return "", ()
    return splits[0], tuple(w for w in words if w not in ("loss", splits[0]))


def _qualified_train_twin(target: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    """The train loss under one more word (``train_loss_cls``) when the validation loss is logged
    both plain and under that same word (``val_loss`` and ``val_loss_cls``: a script that logs
    its one validation loss twice, the plain name for checkpointing) and that word is the only
    one either split's losses carry; nothing when several do (``val_loss`` may then be a total)."""
    if "val/loss" not in target.values():
        return {}
    rests: dict[str, set[tuple[str, ...]]] = {"train/loss": set(), "val/loss": set()}
    train: dict[tuple[str, ...], list[str]] = {}
    for raw in (r for r, t in target.items() if t == r):
        split, rest = _loss_split_rest(raw)
        if split and rest:
            rests[_SPLIT_SUFFIX[split]].add(rest)
            if _SPLIT_SUFFIX[split] == "train/loss":
                train.setdefault(rest, []).append(raw)
    if len(rests["train/loss"]) != 1 or rests["train/loss"] != rests["val/loss"]:
        return {}
    (raws,) = train.values()
    if len(raws) != 1:
        return {}
    notes.append(f"{raws[0]!r} read as 'train/loss': the validation loss is logged plain and "
                 "under the same extra word, the train loss only under it")
    return {raws[0]: "train/loss"}


def _underscore_split(raw: str) -> tuple[str, str]:
    """``val_loss_train_step`` -> (``val_loss``, ``train``): a name's last word before
    Lightning's ``_step``/``_epoch``, and the words before it; ("", "") for a validation loss's
    ``_step`` (one evaluation batch) or a name of one word."""
    words = [w for w in _normalise(raw).split("_") if w]
    if words and words[-1] in ("step", "epoch"):
        if words[-1] == "step" and len(words) > 1 and words[-2] in HELD_OUT_WORDS:
            return "", ""
        words = words[:-1]
    return ("_".join(words[:-1]), words[-1]) if len(words) > 1 else ("", "")


#: the last words of a loss logged per split as ``<name>/<split>`` (``add_scalars`` and
#: torch-points3d write ``loss_seg/train``, ``loss_seg/val``)
_SPLIT_SUFFIX = {"train": "train/loss", "training": "train/loss",
                 **dict.fromkeys(HELD_OUT_WORDS, "val/loss")}


def _split_suffixed_loss(target: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    """``<x>/train`` and ``<x>/val`` as the train and validation losses, when ``x`` names a loss
    (``loss_seg``) and is the only such name logged per split; nothing when ambiguous. The split
    may also be the last word of ``x_<split>`` under Lightning's ``_step``/``_epoch`` (a loss
    logged as ``val_loss`` from both loops: ``val_loss_train_step``, ``val_loss_valid_epoch``),
    a validation loss per evaluation batch (``_step``) excepted."""
    found: dict[str, dict[str, str]] = {}
    for raw, t in target.items():
        if t != raw:
            continue
        head, sep, split = raw.strip().rpartition("/")
        if not sep:
            head, split = _underscore_split(raw)
        if "loss" in head.lower() and split.lower() in _SPLIT_SUFFIX:
            found.setdefault(head, {})[raw] = split.lower()
    if len(found) != 1:
        return {}
    (head, names), = found.items()
    taken = set(target.values())
    out = {raw: _SPLIT_SUFFIX[w] for raw, w in names.items() if _SPLIT_SUFFIX[w] not in taken}
    used = {names[r] for r in out}  # ``x/val`` beside ``x/validation``: which one?
    if len({_SPLIT_SUFFIX[w] for w in used}) != len(used):
        return {}
    if out:
        shown = f"{head!r}/" if any("/" in r for r in out) else repr(head)
        notes.append(f"losses logged per split under {shown} read as "
                     + ", ".join(f"{r!r} as {c!r}" for r, c in out.items()))
    return out


#: a negative log-likelihood per split (a PixelCNN's ``train_nll``/``val_nll``, a Gaussian-NLL
#: regressor's): the loss such a model trains on, read as that split's loss when it has no other
_NLL = {"train/loss": frozenset({"nll", "train_nll", "training_nll", "train/nll", "nll/train",
                                  "nll_train"}),
        "val/loss": frozenset({"val_nll", "valid_nll", "validation_nll", "eval_nll", "dev_nll",
                               "val/nll", "valid/nll", "validation/nll", "eval/nll", "nll/val",
                               "nll/valid", "nll/validation", "nll_val"})}


def _nll_as_loss(target: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    """A split's negative log-likelihood as its loss, when the split logs no loss under any name
    and exactly one raw name is its NLL; nothing otherwise (a VAE's ``loss`` beside its ``nll``
    keeps the loss)."""
    out: dict[str, str] = {}
    taken = set(target.values())
    for split, names in _NLL.items():
        if split in taken:
            continue
        raws = [r for r, t in target.items() if t == r and _normalise(r) in names]
        if len(raws) == 1:
            out[raws[0]] = split
            notes.append(f"{raws[0]!r} read as {split!r}: a negative log-likelihood, and no other "
                         f"{split.split('/')[0]} loss in this log")
    return out


#: fastai's CSVLogger and Recorder write ``epoch,train_loss,valid_loss,<metrics>,time``, and every
#: metric in it is computed on the validation set: its bare ``accuracy`` is not a train accuracy
_FASTAI_LOSSES = frozenset({"train_loss", "valid_loss"})
_BARE_ACCURACY = frozenset({"accuracy", "acc"})


def _fastai_accuracy(target: Mapping[str, str], aliases: Mapping[str, str] | None,
                     notes: list[str]) -> dict[str, str]:
    """A bare ``accuracy`` as the validation accuracy in a log with fastai's loss columns and no
    other accuracy by split (a Keras log names its losses ``loss``/``val_loss``); nothing when the
    user's aliases name it."""
    if not _FASTAI_LOSSES <= set(target) or "val/acc" in target.values():
        return {}
    bare = [r for r, t in target.items() if t == "train/acc" and r in _BARE_ACCURACY]
    if len(bare) != 1 or sum(t == "train/acc" for t in target.values()) != 1 \
            or (aliases and bare[0] in aliases):
        return {}
    notes.append(f"{bare[0]!r} read as 'val/acc': beside 'train_loss' and 'valid_loss' (fastai's "
                 "columns) a metric is computed on the validation set")
    return {bare[0]: "val/acc"}


#: a Keras multi-output model's per-output names: ``<output>_acc`` beside ``<output>_loss``, and
#: ``val_<output>_acc`` beside ``val_<output>_loss``
_OUTPUT_ACC = re.compile(r"(?!val_)(\w+?)_(acc|accuracy)", re.IGNORECASE)


def _output_accuracy(target: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    """A Keras model with several outputs prefixes every metric with its output's name
    (``out_caps_acc``, ``val_out_caps_acc``, each beside that output's own loss): when exactly
    one output logs an accuracy on both splits, and no other accuracy is read, it is the model's
    accuracy (a capsule network's class output beside its decoder's reconstruction loss).
    Nothing when several outputs have one: which is the task's is not in the log."""
    if {"train/acc", "val/acc"} & set(target.values()):
        return {}
    unmapped = {r for r, t in target.items() if t == r}
    found = []
    for raw in unmapped:
        m = _OUTPUT_ACC.fullmatch(raw)
        if m is None:
            continue
        out, word = m.groups()
        val = f"val_{out}_{word}"
        if f"{out}_loss" in unmapped and val in unmapped and f"val_{out}_loss" in unmapped:
            found.append((raw, val))
    if len(found) != 1:
        return {}
    (train, val), = found
    notes.append(f"{train!r} and {val!r} read as 'train/acc' and 'val/acc': the one output of "
                 "this multi-output model that logs an accuracy")
    return {train: "train/acc", val: "val/acc"}


#: a run's whole training loss under a plain name, read as the train loss when nothing else is
TOTAL_LOSS = frozenset({"mean_loss", "total_loss", "avg_loss", "average_loss", "overall_loss"})
#: the first words of a held-out split's names (the test split too): no training loss under them
_HELD_OUT = HELD_OUT_WORDS | {"test", "evaluation"}


_TOTAL_NOTE = "{!r} read as 'train/loss': no other training loss in this log"


def _test_accuracy(target: dict[str, str], notes: list[str]) -> None:
    """The test split's one accuracy as the validation accuracy, once its loss is read as the
    validation loss (and no validation accuracy is logged)."""
    acc = _sole_test(target, _TEST_ACC_WORDS)
    if acc is not None and "val/acc" not in target.values():
        target[acc] = "val/acc"
        notes.append(f"{acc!r} read as 'val/acc': the accuracy on the set whose loss is read as "
                     "the validation loss")


def _total_losses(names: Iterable[str]) -> list[str]:
    """The names that are a run's whole training loss: a total-loss name alone, or under a
    namespace that names no held-out split (Lightning's ``loss/total_loss`` beside
    ``loss/pose_rot_loss``, ...)."""
    return [r for r in names
            if r.strip().lower().rpartition("/")[2] in TOTAL_LOSS
            and re.split(r"[/_.\s-]", r.strip().lower())[0] not in _HELD_OUT]


def _fallback_names(counts: Mapping[str, int], aliases: Mapping[str, str] | None,
                    notes: list[str]) -> dict[str, str]:
    """Names for a run none of whose metrics maps to a curve the rules read (it would not be
    checked at all): the names under its one namespace read without it (Lightning's
    ``finetuning/train_loss_epoch``: a stage or task prefix), else its one total loss
    (``mean_loss`` beside per-term losses). Each with a note; nothing when ambiguous."""
    inner: dict[str, dict[str, str]] = {}
    for raw in counts:
        ns, sep, rest = raw.partition("/")
        c = canonical_name(rest, aliases)
        if sep and c in JUDGED_METRICS:
            inner.setdefault(ns, {})[raw] = c
    total = _total_losses(counts)
    # a namespace that holds only an accuracy (detectron2's ``mask_rcnn/accuracy``, a head's
    # pixel accuracy) does not stand for the run beside its one total loss (``total_loss``)
    only_acc = len(inner) == 1 and not set(next(iter(inner.values())).values()) & set(JUDGED_METRICS[:2])
    if len(inner) == 1 and not (only_acc and len(total) == 1):
        (ns, found), = inner.items()
        notes.append(f"no curve the rules read under a plain name; read the ones under {ns!r}/: "
                     + ", ".join(f"{r!r} as {c!r}" for r, c in found.items()))
        return found
    if len(total) == 1 and (not inner or only_acc):
        notes.append(_TOTAL_NOTE.format(total[0]))
        return {total[0]: "train/loss"}
    if inner or total:
        return {}
    return (_qualified_losses(counts, notes) or _criterion_pair(counts, notes)
            or _indexed_names(counts, JUDGED_METRICS, aliases, notes) or _leading_loss(counts, notes))


#: words after a leading ``loss`` that make the name a setting of the loss, not its value (AMP's
#: ``loss_scale``, a term's ``loss_weight``)
_LOSS_SETTINGS = frozenset({"scale", "scaler", "weight", "weights", "coef", "coeff", "coefficient"})
#: words that, after a leading ``loss``, make the name no loss of the whole run: a setting, a split
#: (the split readings handle those), another ``loss``
_NOT_AFTER_LOSS = _LOSS_SETTINGS | set(_SPLIT_SUFFIX) | _HELD_OUT | {"loss"}


def _leading_loss(raws: Iterable[str], notes: list[str]) -> dict[str, str]:
    """The one name that starts with the word ``loss`` and names no split (a TensorFlow 1 sweep's
    ``loss_learning_rate``: the loss of a run filed under the knob the sweep varies) as the train
    loss, as a plain ``loss`` is; nothing when several such names are logged (``loss_cov`` beside
    ``loss_marginal``: terms of an objective the log does not hold)."""
    found = []
    for raw in raws:
        words = _raw_words(raw)
        if len(words) > 1 and words[0] == "loss" and not set(words[1:]) & _NOT_AFTER_LOSS:
            found.append(raw)
    if len(found) != 1:
        return {}
    notes.append(f"{found[0]!r} read as 'train/loss': the one name in this log that starts with "
                 "'loss' and names no split")
    return {found[0]: "train/loss"}


def _qualified_losses(raws: Iterable[str], notes: list[str]) -> dict[str, str]:
    """A loss logged per split with one more word in its name (``exposure_train_loss`` and
    ``exposure_val_loss``, ``train_loss_RANK``) as that split's loss, when one such word
    qualifies every split loss of the log; nothing when several do (``train_classification_loss``
    beside ``train_regression_loss``: parts of a total the log does not hold). The test split's
    loss under the same word stands for a validation loss the log does not have, and the
    accuracies under it are read with the losses."""
    raws = list(raws)
    groups: dict[tuple[str, ...], dict[str, str]] = {}
    tests: dict[tuple[str, ...], list[str]] = {}  # a test loss per qualifier, held out if none is
    for raw in raws:
        split, rest = _loss_split_rest(raw, test=True)
        if rest and split == "test":
            tests.setdefault(rest, []).append(raw)
        elif rest:
            groups.setdefault(rest, {})[raw] = _SPLIT_SUFFIX[split]
    # several qualified losses, one of them logged for both splits: the loss the run trains on
    # and validates with (a forecaster's ``train/PackedNLLLoss`` and ``val/PackedNLLLoss``
    # beside the validation-only ``val/PackedMSELoss`` and ``val/PackedNRMSELoss``)
    both = [k for k, g in groups.items() if sorted(g.values()) == ["train/loss", "val/loss"]]
    if len(groups) == 1:
        rest = next(iter(groups))
    elif len(both) == 1:
        rest = both[0]
    else:
        return {}
    found = dict(groups[rest])
    # the test split's loss is the only held-out one (``epochs_test_loss`` beside
    # ``epochs_train_loss``), as a plain ``test_loss`` is
    test = "val/loss" not in found.values() and len(tests.get(rest, ())) == 1
    if test:
        found[tests[rest][0]] = "val/loss"
    found.update(_qualified_accuracies(raws, rest, test=test))
    notes.append("no loss under a plain name; read the curves logged per split under one more "
                 "word: " + ", ".join(f"{r!r} as {c!r}" for r, c in found.items()))
    return found


def _qualified_accuracies(raws: Iterable[str], rest: tuple[str, ...], *,
                          test: bool) -> dict[str, str]:
    """The accuracies qualified by the same words ``rest`` as the losses just read
    (``combined_train_acc`` beside ``combined_train_loss``: a script's curves grouped under
    ``combined``), one per split; none for a split that logs several. The test split's stands
    for the validation split when ``test`` (its loss was read as the validation loss)."""
    per_split: dict[str, list[str]] = {}
    for raw in raws:
        words = _raw_words(raw)
        splits = [w for w in words if w in _SPLIT_SUFFIX or (test and w == "test")]
        accs = [w for w in words if w in _BARE_ACCURACY]
        if len(splits) == 1 and len(accs) == 1 and \
                tuple(w for w in words if w not in (splits[0], accs[0])) == rest:
            split = "val" if splits[0] == "test" else _SPLIT_SUFFIX[splits[0]].split("/")[0]
            per_split.setdefault(f"{split}/acc", []).append(raw)
    return {names[0]: c for c, names in per_split.items() if len(names) == 1}




#: the criteria a model is trained on under their own name, whose validation value stands for the
#: validation loss beside a train loss (a mean absolute error beside a squared-error loss does not)
_LOSS_CRITERIA = {"mse": "mean squared error", "crossentropy": "cross-entropy"}


def _one_word_ce(name: str) -> str:
    """``val_cross_entropy`` -> ``val_crossentropy``: the criterion as one word."""
    return re.sub(r"(?i)cross[\s_-]*entropy", "crossentropy", name)


#: words that name a training criterion on their own: ``train_l1`` beside ``val_l1`` is a loss
#: logged under its criterion's name
_CRITERIA = frozenset({"l1", "l2", "mae", "mse", "rmse", "nll", "bce", "huber", "crossentropy"})


def _criterion_pair(raws: Iterable[str], notes: list[str]) -> dict[str, str]:
    """A criterion logged per split and nothing else named a loss (a GAN's ``train_l1`` and
    ``val_l1`` beside its adversarial ``g_loss`` and ``d_loss``): the pair as the train and
    validation losses, when exactly one criterion is logged for both splits. A criterion with no
    split word is the train split's, as a plain ``loss`` is (Keras's ``crossentropy`` beside
    ``val crossentropy``); the test split's stands for the validation split when that criterion
    has no validation name (a grokking run's ``train_cross_entropy`` and ``test_cross_entropy``),
    as a plain ``test_loss`` does."""
    pairs: dict[str, dict[str, str]] = {}
    tests: dict[str, str] = {}  # a criterion's test-split name, the held-out one when no other is
    for raw in raws:
        words = plain_words(_one_word_ce(raw))
        crit = [w for w in words if w in _CRITERIA]
        splits = [w for w in words if w in _SPLIT_SUFFIX or w == "test"]
        if len(crit) == 1 and words == crit:
            pairs.setdefault(crit[0], {})[raw] = "train/loss"
        elif len(words) == 2 and len(crit) == 1 and splits == ["test"]:
            tests[crit[0]] = raw
        elif len(words) == 2 and len(crit) == 1 and len(splits) == 1:
            pairs.setdefault(crit[0], {})[raw] = _SPLIT_SUFFIX[splits[0]]
    for crit, raw in tests.items():  # ``train_cross_entropy`` beside ``test_cross_entropy`` only
        if crit in pairs and "val/loss" not in pairs[crit].values():
            pairs[crit][raw] = "val/loss"
    # a split may log its criterion twice (Lightning's ``train_cross_entropy_step`` and
    # ``_epoch``): both are kept here, and the one with the most points is read, as for a loss
    found = [p for p in pairs.values() if set(p.values()) == {"train/loss", "val/loss"}]
    if len(found) != 1:
        return {}
    notes.append("no loss under a plain name; read the one criterion logged for both splits as "
                 "the losses: " + ", ".join(f"{r!r} as {c!r}" for r, c in found[0].items()))
    return found[0]


def _indexed_names(raws: Iterable[str], wanted: Iterable[str], aliases: Mapping[str, str] | None,
                   notes: list[str]) -> dict[str, str]:
    """A name with an index after it (``loss: 0``, ``train_loss_0``: one entry of a list of
    losses written by a loop) as the curve it names, for each ``wanted`` curve that exactly one
    such name is."""
    wanted = set(wanted)
    indexed: dict[str, list[str]] = {}
    for raw in raws:
        m = _INDEXED.fullmatch(raw.strip())
        c = canonical_name(m.group(1), aliases) if m else None
        if c in wanted:
            indexed.setdefault(c, []).append(raw)
    found = {raws[0]: c for c, raws in indexed.items() if len(raws) == 1}
    for raw, c in found.items():
        notes.append(f"{raw!r} read as {c!r}: no other name in this log is one")
    return found


#: a name followed by an index: ``loss: 0``, ``loss_1``, ``val_loss[0]``
_INDEXED = re.compile(r"(.*?[a-z])[\s:_/#\[(-]+\d+[\])]?", re.IGNORECASE)


#: Metrics of a Run under construction: none yet (``finish_metrics`` fills them in).
EMPTY = None


def on_train_steps(cats: list[str], cat_code: np.ndarray, step: np.ndarray, wall: np.ndarray,
                   value: np.ndarray, where: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str]]:
    """Held-out curves logged against a counter of their own, put on the train loss's steps.

    A hand-written loop may log each evaluation batch (or each epoch) at its own counter,
    ``add_scalar("val_loss", v, epoch * len(val_loader) + i)``, beside the train loss at
    the train loop's: the validation curve then ends at step 159 of a 760-step run, and
    every comparison with the train loss (the gap at the final model, overfitting after
    the best) reads the train loss of the wrong moment. Event files, MLflow and W&B stamp
    each value with its wall time, which both curves share: a held-out curve whose steps stay
    far behind the train step logged at the same time (:data:`OWN_COUNTER_RATIO`), over most
    of the run, is read at the train step of its wall time. Values that come several at a time
    between two train logs are one evaluation's batches: the evaluation is their mean (one
    batch's loss is not the model's), at the step of the group's last.

    Returns the steps and values, the rows to keep (None: all) and what was done.
    """
    if "train/loss" not in cats:
        return step, value, None, []
    codes = {c: i for i, c in enumerate(cats)}
    t = np.flatnonzero(cat_code == codes["train/loss"])
    ts, tw = step[t], wall[t]
    if len(t) < OWN_COUNTER_MIN_POINTS or not increasing(ts) or not increasing(tw, False) \
            or tw[-1] <= tw[0]:
        return step, value, None, []
    keep: np.ndarray | None = None
    notes: list[str] = []
    for c in cats:
        if not c.startswith(("val/", "test/")):
            continue
        r = np.flatnonzero(cat_code == codes[c])
        vs, vw = step[r], wall[r]
        if len(r) < OWN_COUNTER_MIN_POINTS or not increasing(vs) or not increasing(vw, False) \
                or vw[-1] - tw[0] < OWN_COUNTER_MIN_SPAN * (tw[-1] - tw[0]):
            continue
        at = np.interp(vw, tw, ts)
        if at[-1] < OWN_COUNTER_RATIO * max(int(vs[-1]), 1):
            continue
        ticks = np.arange(len(r))
        # values between the same two train logs, one step apart in their order
        new = np.maximum.accumulate(np.rint(at).astype(np.int64) - ticks) + ticks
        if keep is None:
            step, value, keep = step.copy(), value.copy(), np.ones(len(step), dtype=bool)
        group = np.searchsorted(tw, vw, side="right")
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        batches = ""
        if len(starts) * 2 <= len(r) and len(starts) * 2 <= len(t):
            ends = np.r_[starts[1:], len(r)] - 1
            with np.errstate(invalid="ignore"):
                value[r[ends]] = np.add.reduceat(value[r], starts) / np.diff(np.r_[starts, len(r)])
            drop = np.ones(len(r), dtype=bool)
            drop[ends] = False
            keep[r[drop]] = False
            batches = (f"; its {len(r)} values come {len(r) / len(starts):.3g} at a time between "
                       f"two train logs (one evaluation's batches), so each evaluation is read as "
                       f"their mean ({len(starts)} evaluations)")
        step[r] = new.astype(step.dtype)
        kept = step[r[keep[r]]]
        said = f"{int(kept[0])}-{int(kept[-1])}"
        notes.append(
            f"{where}: {c!r} is logged at steps {int(vs[0])}-{int(vs[-1])}, a counter of its own, "
            f"over the same wall-clock time as 'train/loss' at steps {int(ts[0])}-{int(ts[-1])}: "
            f"each of its values is read at the train step logged at the same time ({said}), "
            f"so that the two curves line up{batches}")
    return step, value, keep, notes


def finish_metrics(
    run: Run,
    steps: Sequence[int] | np.ndarray,
    names: Sequence[str] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    aliases: Mapping[str, str] | None,
    where: str,
    wall_time: Iterable[float] | None = None,
    epoch: Iterable[float] | None = None,
    rename: Callable[[str], str] | None = None,
) -> None:
    """Fill ``run.metrics`` from raw columns in file order; record renames and notes on the run."""
    import pandas as pd  # here, not at import: walking folders must not pay for pandas

    step_arr = np.asarray(steps, dtype=np.int64).reshape(-1)
    codes, uniques = pd.factorize(pd.Series(np.asarray(names, dtype=object).reshape(-1),
                                            dtype=object))
    cols: dict[str, np.ndarray] = {"step": step_arr}
    for opt, given in (("wall_time", wall_time), ("epoch", epoch)):
        if given is not None:
            arr = np.asarray(list(given) if not isinstance(given, np.ndarray) else given,
                             dtype=np.float64).reshape(-1)
            if len(arr) and not np.isnan(arr).all():
                cols[opt] = arr
    raw = [str(u) for u in uniques]
    counts = np.bincount(codes, minlength=len(raw)) if len(codes) else np.zeros(0, int)
    mapping, notes = rename_map(dict(zip(raw, counts.tolist())), aliases, rename)
    run.warnings.extend(f"{where}: {n}" for n in notes)
    for r, name in mapping.items():
        if name != r:
            run.name_map[r] = name
    final = np.array([mapping[r] for r in raw], dtype=object)
    value_arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if "wall_time" in cols and len(codes):
        cats = list(dict.fromkeys(final.tolist()))
        to_cat = np.array([cats.index(c) for c in final.tolist()], dtype=np.int64)
        step_arr, value_arr, keep, more = on_train_steps(
            cats, to_cat[codes], step_arr, cols["wall_time"], value_arr, where)
        run.warnings.extend(more)
        if keep is not None:
            step_arr, value_arr, codes = step_arr[keep], value_arr[keep], codes[keep]
            cols = {k: v[keep] for k, v in cols.items() if k != "step"}
    df = pd.DataFrame({
        "step": step_arr,
        "metric": final[codes] if len(codes) else np.array([], dtype=object),
        "value": value_arr,
        **{k: v for k, v in cols.items() if k != "step"},
    })
    df["metric"] = df["metric"].astype(str)
    if _needs_dedupe(codes, step_arr):
        df, more = dedupe_steps(df, where)
        run.warnings.extend(more)
        df = df.reset_index(drop=True)
    run.metrics = df
    run.invalidate()


def percent_note(run: Run, where: str) -> list[str]:
    """Say when an accuracy is logged in percent: the run keeps the values as logged, and the
    rules read them as fractions of 1 (see :func:`diagnose.run.in_percent`)."""
    scaled = [n for n in ACCURACY_METRICS if in_percent(run.arrays(n)[1])]
    if not scaled:
        return []
    top = max(float(np.nanmax(run.arrays(n)[1])) for n in scaled)
    return [f"{where}: {' and '.join(scaled)} logged in percent (up to {top:g}); the rules read "
            "them as fractions of 1"]


def detector_loss_parts(names: Collection[str]) -> dict[str, list[str]]:
    """``train/loss`` / ``val/loss`` -> the logged parts that sum to it, for an Ultralytics
    (YOLO) run: its ``train/box_loss``, ``train/cls_loss``, ``train/dfl_loss`` beside
    ``metrics/mAP50(B)``, and no total. The trainer optimises their sum, so the sum is the
    loss the rules judge; each part keeps its own name too. Empty for any other run."""
    if not any(n.startswith("metrics/") for n in names):
        return {}
    out = {}
    for split in ("train", "val"):
        parts = sorted(n for n in names if n.startswith(f"{split}/") and n.endswith("_loss"))
        if parts and f"{split}/loss" not in names:
            out[f"{split}/loss"] = parts
    return out if "train/loss" in out or "train/loss" in names else {}


def with_detector_totals(
    run: Run, where: str, names: list[str], step: np.ndarray, wall: np.ndarray,
    value: np.ndarray, code: np.ndarray, epoch: np.ndarray | None,
    aliases: Mapping[str, str] | None,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None,
           Callable[[str], str] | None]:
    """A detector's run (Ultralytics: loss parts and ``metrics/...``, no total), whatever wrote
    it (TensorBoard, MLflow): each missing total added as the sum of its parts, noted on the
    run, and the renaming that reads ``metrics/...`` as validation measurements (as in
    ``results.csv``). Any other run comes back as it was, with no renaming."""
    totals = detector_loss_parts(names)
    if not totals:
        return names, step, wall, value, code, epoch, None
    names, step, wall, value, code, epoch = _add_totals(totals, names, step, wall, value, code,
                                                        epoch)
    run.warnings.extend(
        (f"{where}: no {t} logged: read as the sum of {', '.join(repr(p) for p in parts)} "
         "(a detector's loss parts)") for t, parts in totals.items() if t in names)

    def rename(raw: str) -> str:
        named = detector_metric_name(raw)
        return named if named != raw else canonical_name(raw, aliases)
    return names, step, wall, value, code, epoch, rename


def _add_totals(
    totals: Mapping[str, list[str]], names: list[str], step: np.ndarray, wall: np.ndarray,
    value: np.ndarray, code: np.ndarray, epoch: np.ndarray | None,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Each total as one more metric: its parts summed at the steps they all logged (at a
    step logged twice, the last value counts, as for every metric)."""
    names = list(names)
    add: list[tuple[np.ndarray, ...]] = []
    for total, parts in totals.items():
        rows = []
        for p in parts:
            r = np.flatnonzero(code == names.index(p))
            r = r[np.argsort(step[r], kind="stable")]  # equal steps keep file order
            rows.append(r[np.append(step[r][1:] != step[r][:-1], True)])  # the last of each
        common = rows[0]
        for r in rows[1:]:
            common = common[np.isin(step[common], step[r])]
        at = step[common]
        if not len(at):
            continue
        total_v = np.sum([value[r][np.searchsorted(step[r], at)] for r in rows], axis=0)
        names.append(total)
        add.append((at, wall[common], total_v, np.full(len(at), len(names) - 1, dtype=code.dtype),
                    None if epoch is None else epoch[common]))
    if not add:
        return names, step, wall, value, code, epoch
    cat = [np.concatenate([x[i] for x in ((step, wall, value, code, epoch), *add)])
           for i in range(4)]
    ep = None if epoch is None else np.concatenate([epoch, *(x[4] for x in add)])
    return names, cat[0], cat[1], cat[2], cat[3], ep


def detector_metric_name(col: str) -> str:
    """An Ultralytics (YOLO) name as the rules read it: ``metrics/mAP50-95(B)`` ->
    ``val/mAP50-95`` (the trainer measures them on the validation set after each epoch),
    ``metrics/accuracy_top1`` -> ``val/acc``, ``lr/pg0`` -> ``lr``; any other name unchanged."""
    if col.startswith("metrics/"):
        name = col[len("metrics/"):]
        if name.endswith("(B)"):
            name = name[:-3]
        if name == "accuracy_top1":
            return "val/acc"
        return "val/" + name
    if col == "lr/pg0":
        return "lr"
    return col


def _needs_dedupe(codes: np.ndarray, steps: np.ndarray) -> bool:
    """Whether any metric repeats a step or goes back (else dedupe_steps would change nothing)."""
    if len(codes) < 2:
        return False
    order = np.argsort(codes, kind="stable")
    c, s = codes[order], steps[order]
    same = c[1:] == c[:-1]
    return bool(np.any(same & (s[1:] <= s[:-1])))  # not np.diff: int64 steps can wrap


def json_or_text_float(v: Any) -> float | None:
    """A value from a tidy record: numbers as they are, missing as NaN, text parsed."""
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        if v.strip().lower() in MISSING:
            return math.nan
        try:
            return parse_float(v)
        except ValueError:
            return None
    return None


def opt_float(v: Any) -> float:
    """An optional column (epoch, wall time): NaN when absent or not a number."""
    x = json_or_text_float(v)
    return math.nan if x is None else x
