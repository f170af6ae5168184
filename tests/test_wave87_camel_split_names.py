"""Hand-written loops tag TensorBoard scalars in CamelCase under a split group
(``writer.add_scalar("Train/EpochLoss", ...)``, ``Val/EpochLoss``, ``Val/EpochAccuracy``). The
vocabulary knew ``train/epoch_loss`` and the joined ``TrainLoss`` but not the CamelCase words
after a slash: such a run was read only through the fallback for curves logged "under one more
word", with a note saying so, and not at all once a plain loss sat beside them. A name the
vocabulary knows word by word is read as its words; a name it does not know keeps its own
spelling."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import diagnose
from diagnose.run import canonical_name


@pytest.mark.parametrize(("tag", "canonical"), [
    ("Train/EpochLoss", "train/loss"), ("Val/EpochLoss", "val/loss"),
    ("Train/EpochAcc", "train/acc"), ("Val/EpochAccuracy", "val/acc"),
    ("Validation/EpochLoss", "val/loss"), ("Loss/Train", "train/loss"),
])
def test_camel_case_words_are_read_as_words(tag: str, canonical: str) -> None:
    assert canonical_name(tag) == canonical


@pytest.mark.parametrize("tag", ["val/mAP50", "RegLoss_val", "EpochTime", "Train/GradNormMax"])
def test_unknown_camel_case_names_keep_their_spelling(tag: str) -> None:
    assert canonical_name(tag) == tag


def test_a_summarywriter_run_tagged_in_camel_case_is_checked(tmp_path: Path) -> None:
    """A 6-class classifier whose loss sits at ln 6 for 40 epochs: read through the real
    SummaryWriter, it is the chance-level finding, not an unread run."""
    tb = pytest.importorskip("torch.utils.tensorboard")
    run = tmp_path / "chance"
    w = tb.SummaryWriter(str(run))
    w.add_text("config", "num_classes: 6")
    for epoch in range(40):
        wobble = 0.004 * math.sin(epoch)
        w.add_scalar("Train/EpochLoss", math.log(6) + wobble, epoch)
        w.add_scalar("Val/EpochLoss", math.log(6) + 0.01 - wobble, epoch)
        w.add_scalar("Train/EpochAccuracy", 1 / 6 + wobble, epoch)
        w.add_scalar("Val/EpochAccuracy", 1 / 6 - wobble, epoch)
    w.close()
    (got,) = diagnose.load_all(run)
    assert {"train/loss", "val/loss", "train/acc", "val/acc"} <= set(got.metric_names)
    report = diagnose.check([str(run)])
    assert report.findings, "a run at chance for 40 epochs must not pass"
    assert not [w for w in got.warnings if "one more word" in w]
