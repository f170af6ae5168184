"""A loss named once and logged from both loops, the split as its last word.

A public Lightning model (bench/real-runs/w73c-dfb-ds133-spikes, labelled from its plot before
diagnose ran on it: loss spikes of 26-35 over a level of 0.03-0.1) logs its criterion as
``val_loss`` from the training and the validation loop, so Lightning wrote
``val_loss_train_step``, ``val_loss_train_epoch``, ``val_loss_valid_step`` and
``val_loss_valid_epoch``. No name mapped to a loss and `check` said nothing at all. The values
are compared with what TensorBoard's own EventAccumulator reads from the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _tb_truth import event_scalars

import diagnose
from diagnose.run import canonical_name

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w73c-dfb-ds133-spikes"


def test_the_split_word_before_lightnings_suffix_names_the_curve() -> None:
    (path,) = RUN.rglob("events.out.tfevents.*")
    truth = event_scalars(path.parent)
    run = diagnose.load(str(RUN))
    # the train loss per batch (more points than the epoch means), the validation loss per epoch
    for tag, name in (("val_loss_train_step", "train/loss"), ("val_loss_valid_epoch", "val/loss")):
        steps, values = run.arrays(name)
        assert dict(zip(steps.tolist(), values.tolist())) == pytest.approx(truth[tag])
    # one evaluation batch's loss is not the validation loss
    assert run.has("val_loss_valid_step")
    # a spike hundreds of times the level around it (its height read off the file) is told
    train = list(truth["val_loss_train_step"].values())
    assert max(train) > 100 * float(np.median(train))
    assert "DG202" in {f.rule for f in diagnose.check(str(RUN)).findings}


def test_the_split_word_may_follow_the_loss_word() -> None:
    assert canonical_name("loss_valid") == "val/loss"
    assert canonical_name("loss_valid_epoch") == "val/loss"
    assert canonical_name("loss_train_step") == "train/loss"
    # a validation name keeps its ``_step``: one evaluation batch
    assert canonical_name("loss_val_step") == "loss_val_step"
    assert canonical_name("val_loss_train_step") == "val_loss_train_step"
