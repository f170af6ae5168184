"""A criterion logged for both splits when Lightning writes the train side twice.

A public Lightning Flash segmenter (bench/real-runs/w91l-camvid-flash-seg, tuning half,
labelled from its plot before diagnose ran on it) logs ``train_cross_entropy_step`` and
``train_cross_entropy_epoch`` beside ``val_cross_entropy``: torchmetrics names, no ``loss``.
The criterion pair was read only with one name per split, so `check` judged nothing and said
the run had no loss it recognised. Lightning appends ``_step`` and ``_epoch`` to any name it
logs both ways; they are the same criterion, and the one with the most points is read, as for a
``train_loss_step``/``train_loss_epoch`` pair. The values are compared with the CSV's own cells.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w91l-camvid-flash-seg"


def _column(rows: list[dict[str, str]], name: str) -> tuple[list[int], list[float]]:
    kept = [r for r in rows if r[name] != ""]
    return [int(r["step"]) for r in kept], [float(r[name]) for r in kept]


def test_a_criterion_logged_per_step_and_per_epoch_is_the_train_loss() -> None:
    (path,) = RUN.rglob("metrics.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    run = diagnose.load(str(RUN))
    step_train, train = _column(rows, "train_cross_entropy_epoch")
    step_val, val = _column(rows, "val_cross_entropy")
    assert len(train) > len(_column(rows, "train_cross_entropy_step")[1])  # the fuller one
    for name, (steps, values) in (("train/loss", (step_train, train)),
                                  ("val/loss", (step_val, val))):
        got_steps, got = run.arrays(name)
        assert list(got_steps) == steps
        assert np.allclose(got, values)
    assert run.has("train_cross_entropy_step")  # the other keeps its own name


def test_the_checked_run_is_no_longer_reported_as_unread() -> None:
    from click.testing import CliRunner

    from diagnose.cli import main

    out = CliRunner().invoke(main, ["check", str(RUN)]).output
    assert "no loss or accuracy diagnose recognises" not in out
    assert "read the one criterion logged for both splits" in out
