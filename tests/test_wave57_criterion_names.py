"""A loss logged under its criterion's name alone, the train split's without a split word.

A public POS tagger's history (bench/real-runs/w75d-morph-get-pos, labelled from its plot before
diagnose ran on it: validation best at epoch 10, then flat while train keeps falling) has the
columns ``crossentropy`` and ``val crossentropy`` and no ``loss``: `check` judged nothing. The
values are compared with what the csv module reads from the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w75d-morph-get-pos"


def test_a_criterion_without_a_split_word_is_the_train_loss() -> None:
    (path,) = RUN.rglob("*.csv")
    rows = list(csv.DictReader(path.open(newline="")))
    run = diagnose.load(str(RUN))
    for column, name in (("crossentropy", "train/loss"), ("val crossentropy", "val/loss")):
        steps, values = run.arrays(name)
        assert steps.tolist() == [int(r["step"]) for r in rows]
        assert values.tolist() == pytest.approx([float(r[column]) for r in rows])
    # the final validation loss is several times the train loss: a gap
    assert float(rows[-1]["val crossentropy"]) > 3 * float(rows[-1]["crossentropy"])
    assert "DG103" in {f.rule for f in diagnose.check(str(RUN)).findings}


@pytest.mark.parametrize("header, read", [
    ("train_cross_entropy,val_cross_entropy", True),
    # two criteria for both splits: which one the run trains on, the log does not say
    ("crossentropy,val_crossentropy,mse,val_mse", False),
])
def test_cross_entropy_names_a_criterion(tmp_path: Path, header: str, read: bool) -> None:
    width = header.count(",") + 1
    (tmp_path / "history.csv").write_text(
        f"epoch,{header}\n" + "".join(
            f"{e}," + ",".join(str((i + 1) / (e + 1)) for i in range(width)) + "\n"
            for e in range(8)))
    run = diagnose.load(str(tmp_path / "history.csv"))
    assert run.has("train/loss") is read and run.has("val/loss") is read
