"""A loss logged under its criterion's CamelCase name, for both splits, beside other
validation-only criteria.

A public Moirai forecaster fine-tuned with Lightning (bench/real-runs/w74c-moirai-v4, labelled
from its plot before diagnose ran on it) logs ``train/PackedNLLLoss`` and ``val/PackedNLLLoss``
beside ``val/PackedMSELoss`` and ``val/PackedNRMSELoss``. No name mapped to a loss, so `check`
judged nothing; the one criterion logged for both splits is the loss the run trains on. The
values are compared with what TensorBoard's own EventAccumulator reads from the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w74c-moirai-v4"


def test_the_criterion_logged_for_both_splits_is_the_loss() -> None:
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    (path,) = RUN.rglob("events.out.tfevents.*")
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    run = diagnose.load(str(RUN))
    for tag, name in (("train/PackedNLLLoss", "train/loss"), ("val/PackedNLLLoss", "val/loss")):
        events = acc.Scalars(tag)
        steps, values = run.arrays(name)
        assert list(steps) == [e.step for e in events]
        assert np.allclose(values, [e.value for e in events])
    assert run.has("val/PackedMSELoss")  # the other criteria keep their names


@pytest.mark.parametrize("names", ["train_CELoss,val_CELoss,train_DiceLoss,val_DiceLoss",
                                   # the split as the last word (wave 57's reading)
                                   "box_loss_train,box_loss_valid,cls_loss_train,cls_loss_valid"])
def test_two_criteria_logged_for_both_splits_are_left_alone(tmp_path: Path, names: str) -> None:
    # which of two is the loss the run trains on, the log does not say
    (tmp_path / "metrics.csv").write_text(
        f"epoch,step,{names}\n"
        + "".join(f"{e},{e * 10},{1 / (e + 1)},{1.1 / (e + 1)},{0.5 / (e + 1)},{0.6 / (e + 1)}\n"
                  for e in range(8)))
    run = diagnose.load(str(tmp_path / "metrics.csv"))
    assert not run.has("train/loss") and not run.has("val/loss")
