"""When Lightning logs a train loss per step and per epoch at the same density, the epoch mean is
the train loss (issue 14: real public runs): one batch's loss per epoch is noise beside it."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w24c-glucose-v51"


def test_the_epoch_mean_is_the_train_loss_when_step_and_epoch_series_are_equally_long():
    # a public Lightning TensorBoard log (glucose regression, 7 epochs, one step value per epoch
    # beside the epoch mean): the single batches read 8.08, 7.21, 9.87, ... and hid that the
    # train loss fell every epoch while validation climbed 9.84 -> 25.8 after its best
    run = diagnose.load(RUN)
    assert run.name_map.get("train_loss_epoch") == "train/loss"
    _, train = run.arrays("train/loss")
    _, step = run.arrays("train_loss_step")
    assert len(train) == len(step)
    _, val = run.arrays("val/loss")
    best = int(np.argmin(val))
    # after validation's best, the epoch mean falls by over a tenth; the single batches by less
    assert train[-1] < 0.9 * train[best] and step[-1] > 0.9 * step[best]
    assert val[-1] > 2 * val[best]
    assert "DG104" in {f.rule for f in diagnose.check(RUN).findings}
