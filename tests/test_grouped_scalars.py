"""``SummaryWriter.add_scalars("Loss", {"train_loss": ..., "test_loss": ...})`` writes each member
in its own folder under the tag ``Loss``: read back as ``Loss/train_loss``, a group word that the
member's name repeats. A public handwriting CNN (bench/real-runs/w45d-handwritten-dropoutlight,
validation 0.46 -> 0.31 -> 0.48 while train fell to 0.09) had no curve recognised and no finding."""

from __future__ import annotations

from pathlib import Path

import pytest

import diagnose
from diagnose.run import canonical_name


def test_add_scalars_groups_are_read_as_the_members_they_hold(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    train = [0.9 * 0.85 ** s for s in range(20)]
    test = [0.46 - 0.04 * s if s < 5 else 0.26 + 0.012 * s for s in range(20)]
    w = SummaryWriter(str(tmp_path / "20_epochs"))
    for s in range(20):
        w.add_scalars("Loss", {"train_loss": train[s], "test_loss": test[s]}, s)
        w.add_scalars("Accuracy", {"train_acc": 0.7 + 0.01 * s}, s)
    w.close()
    run = diagnose.load(tmp_path)
    assert {"train/loss", "val/loss", "train/acc"} <= set(run.metric_names)
    assert run.series("val/loss").tolist() == pytest.approx(test, rel=1e-6)
    assert "late_overfitting" in {f.pattern for f in diagnose.check(tmp_path).findings}


@pytest.mark.parametrize(("name", "want"), [
    ("Loss/train_loss", "train/loss"), ("Losses/valid_loss", "val/loss"),
    ("Accuracy/train_acc", "train/acc"),
    # a group that is a split, or a member that names no split, is no such group
    ("Loss/train", "train/loss"), ("loss/total", "loss/total"), ("Loss/box_loss", "Loss/box_loss"),
    # a member the vocabulary does not know keeps the name as logged
    ("Accuracy/test_acc", "Accuracy/test_acc"), ("Loss/Test_Loss", "Loss/Test_Loss"),
])
def test_a_group_word_repeated_by_its_member_is_dropped(name: str, want: str) -> None:
    assert canonical_name(name) == want
