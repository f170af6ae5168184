"""A TUM I2DL classifier (a public Lightning run, tuning half of the benchmark) logs its train
loss only as ``train_loss_cls`` and its validation loss twice, as ``val_loss_cls`` and a plain
``val_loss`` for checkpointing. With no train loss read, a run whose train loss fell to 0.003
while validation sat at 1.0 was never checked for a gap. The train loss under the validation
loss's extra word is read as the train loss, but only when that word is the only one the losses
carry: beside several (``_cls`` and ``_box``) the plain validation loss may be their total."""

from __future__ import annotations

import csv
from pathlib import Path

import diagnose
from tests._real_logs import bench_run


def test_the_train_loss_logged_under_the_validation_twins_word_is_read() -> None:
    run = diagnose.load(bench_run("w108b-yz-cls-v1"))
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    assert len(train) and len(val)
    assert any("'train_loss_cls' read as 'train/loss'" in w for w in run.warnings)
    report = diagnose.check(bench_run("w108b-yz-cls-v1"))
    assert "generalization_gap" in {f.pattern for f in report.findings}


def _metrics(path: Path, names: list[str]) -> Path:
    path.mkdir(parents=True)
    with (path / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", "step", *names])
        for e in range(20):
            values = [f"{1.0 / (e + 1) + i * 0.1:.4f}" for i in range(len(names))]
            w.writerow([e, e * 10 + 9, *values])
    return path


def test_beside_several_qualified_losses_nothing_is_guessed(tmp_path: Path) -> None:
    run = diagnose.load(_metrics(tmp_path / "lightning_logs" / "version_0",
                                 ["train_loss_cls", "train_loss_box", "val_loss", "val_loss_cls",
                                  "val_loss_box"]))
    assert "train/loss" not in run.metric_names
    assert "val/loss" in run.metric_names


def test_without_a_plain_validation_loss_the_train_twin_is_not_read(tmp_path: Path) -> None:
    """The reading needs the validation loss logged plain: beside ``val_loss_cls`` alone (and a
    validation accuracy) the train loss is not read on one split only."""
    run = diagnose.load(_metrics(tmp_path / "lightning_logs" / "version_0",
                                 ["train_loss_cls", "val_loss_cls", "val_acc"]))
    assert "train/loss" not in run.metric_names
