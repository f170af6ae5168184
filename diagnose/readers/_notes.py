"""Notes every run gets, whatever its format: what the log lacks that the user must know.

A reader reports what its file says. These notes say what the *run* as read cannot
support, each with what to do about it, because otherwise the checker answers "ok"
for a log it could not judge at all:

- a log with no values (empty, or a header only),
- metrics that diagnose does not recognise (no loss it knows: the loss rules cannot run),
- a metric logged against epoch numbers next to one logged against batch steps
  (their curves do not line up, so any comparison of the two is wrong),
- a loss that goes below zero (an ELBO, SI-SNR, a log-likelihood): the loss rules read
  ratios of losses and compare them with ln K, which a signed objective does not support;
- a loss that is exactly 0 at every logged point beside the other split's loss that is
  not: a placeholder for a loss the loop never computed (a distillation script printing
  ``loss: 0.000`` for its evaluation), which :func:`drop_placeholder_losses` removes so that
  no rule reads it as a perfect validation loss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..run import HELD_OUT_WORDS, JUDGED_METRICS, Run, canonical_name

__all__ = ["SIGNED_NOTE", "drop_placeholder_losses", "run_notes"]

#: A metric whose steps are 0..n-1 (or 1..n) with at least this many points, next to one
#: reaching this many times further, was logged per epoch beside one logged per batch.
EPOCH_MIN_POINTS = 3
EPOCH_RATIO = 10
#: words that name a held-out split in a metric's name (the test split too)
_HELD_OUT_WORDS = HELD_OUT_WORDS | {"test", "validate", "holdout", "heldout"}

#: A judged loss exactly 0 at this many logged points or more (and at no other value) is a
#: placeholder when the other split's loss is not: fewer points could be a real zero.
PLACEHOLDER_MIN_POINTS = 3

#: The words of the note on a loss below zero (the summary line looks for them: a run's
#: curves may be gone by then, its notes are not).
SIGNED_NOTE = "below zero: a signed objective"


def run_notes(run: Run, path: Path, aliases: Mapping[str, str] | None) -> list[str]:
    """Notes for ``run`` (read from ``path``) that its reader could not know to give."""
    names = run.metric_names
    if not names:
        if run.warnings:  # the reader already said why (torn, empty, not flushed yet)
            return []
        return [f"{path}: no metric values in this log (empty, or a header only): nothing "
                + "to check yet"]
    notes = []
    if not any(n in JUDGED_METRICS for n in names):
        shown = ", ".join(repr(n) for n in names[:6]) + (", ..." if len(names) > 6 else "")
        notes.append(
            f"{path}: no loss or accuracy diagnose recognises ({', '.join(JUDGED_METRICS)}), so the "
            f"rules that read them did not run; found {shown}. Map yours in pyproject.toml: "
            '[tool.diagnose.metrics] "my_loss" = "train/loss"'
        )
    else:
        notes.extend(_unmapped_losses(names, path, aliases))
    notes.extend(_epoch_vs_step(run, path))
    notes.extend(_signed_losses(run, path))
    return notes


def _unmapped_losses(names: list[str], path: Path, aliases: Mapping[str, str] | None) -> list[str]:
    """A run missing train/ or val/loss while other columns are called ``...loss...`` (not
    those diagnose does map, that kept their own names beside another of the same meaning:
    the reader said so)."""
    missing = [k for k in ("train/loss", "val/loss") if k not in names]
    lossy = [n for n in names if "loss" in n.lower() and n not in JUDGED_METRICS
             and canonical_name(n, aliases) not in JUDGED_METRICS]
    if missing == ["val/loss"]:
        # beside a train loss, only a name that says held-out can be the validation loss
        # (detectron2's ``loss_cls`` is a part of its train loss, not a candidate)
        lossy = [n for n in lossy if set(re.split(r"[/_.\s-]+", n.lower())) & _HELD_OUT_WORDS]
    if not missing or not lossy:
        return []
    shown = ", ".join(repr(n) for n in lossy[:6]) + (", ..." if len(lossy) > 6 else "")
    return [f"{path}: no {' or '.join(missing)} read, but losses under names diagnose does not "
            f"map: {shown}; if one is it, map it in pyproject.toml: [tool.diagnose.metrics] "
            f'"{lossy[0]}" = "{missing[0]}"']


def _per_epoch(name: str) -> bool:
    """Metrics usually logged once per epoch: validation, test, epoch aggregates."""
    return name.startswith(("val/", "test/", "eval")) or "epoch" in name


def _epoch_vs_step(run: Run, path: Path) -> list[str]:
    """A validation metric at steps 0..n-1 (epoch numbers) beside training far beyond."""
    train = [(int(st[-1]), len(st), n) for n in run.metric_names if n.startswith("train/")
             for st in [run.arrays(n)[0]] if len(st)]
    if not train:
        return []
    end, points, other = max(train)
    notes = []
    for name in run.metric_names:
        if not _per_epoch(name):
            continue
        steps = run.arrays(name)[0]
        n = len(steps)
        if n < EPOCH_MIN_POINTS or int(steps[0]) not in (0, 1):
            continue
        last = int(steps[-1])
        if last - int(steps[0]) == n - 1 and end >= EPOCH_RATIO * last and \
                points >= EPOCH_RATIO * n:
            notes.append(
                f"{path}: {name!r} is logged at steps {int(steps[0])}-{last} but {other!r} "
                f"up to step {end}: {name!r} looks logged per epoch and {other!r} per batch, "
                "so their curves do not line up (rules comparing them will be wrong); log "
                "both against the same global step"
            )
    return notes


def _signed_losses(run: Run, path: Path) -> list[str]:
    """One note for the judged losses that go below zero: the rules' ratios do not hold."""
    found = []
    for name in ("train/loss", "val/loss"):
        if name in run.metric_names:
            steps, values = run.arrays(name)
            below = np.flatnonzero(values < 0)  # NaN compares False: never "below zero"
            if len(below):
                found.append(f"{name!r} ({float(values[below[0]]):.4g} at step {int(steps[below[0]])})")
    if not found:
        return []
    return [f"{path}: {' and '.join(found)} {'goes' if len(found) == 1 else 'go'} {SIGNED_NOTE} "
            "(an ELBO, SI-SNR, a log-likelihood). The loss rules compare losses by ratios and "
            "with ln K, which assumes a loss of at least zero, so their verdicts on this run "
            "are not reliable; if an offset makes it non-negative, log that instead"]


def drop_placeholder_losses(run: Run, path: Path) -> list[str]:
    """Remove a judged loss that is 0 at every logged point while the other split's is not,
    and say so: a loss never computed reads as a perfect one (validation "better than
    train", no gap, no overfitting) and would hide what the rest of the run shows."""
    pairs = (("val/loss", "train/loss"), ("train/loss", "val/loss"))
    notes = []
    for name, other in pairs:
        if name not in run.metric_names or other not in run.metric_names:
            continue
        values = run.arrays(name)[1]
        finite = values[np.isfinite(values)]
        theirs = run.arrays(other)[1]
        if len(finite) < PLACEHOLDER_MIN_POINTS or np.any(finite != 0) or \
                not np.any(theirs[np.isfinite(theirs)] != 0):
            continue
        frame = run.metrics
        run.metrics = frame[frame["metric"] != name].reset_index(drop=True)
        notes.append(
            f"{path}: {name!r} is exactly 0 at all {len(finite)} logged points while {other!r} "
            "is not: a placeholder for a loss the loop did not compute (or printed with too "
            f"few digits to read), so it was left out and the rules that need {name!r} did "
            "not run; log the real value to have them judged")
    return notes
