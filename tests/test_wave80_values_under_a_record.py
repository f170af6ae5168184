"""A line of values printed under each record, with no counter of its own.

An Othello move-prediction script prints ``epoch : 3/100 - loss = 4.01`` and, under it,
``Accuracy Train:13.28%, Dev:12.38% ; Time:101 (...)``. The second line was dropped (a line with
no counter was kept only when it held validation values alone), and its ``Dev`` would not have
been read as an accuracy anyway: the metric's name comes once, before the first split. The
train/dev accuracy gap of 27 points was invisible and the run came out clean.
"""

from __future__ import annotations

import re

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _read(path) -> diagnose.Run:
    run = diagnose.load(str(path))
    return run[0] if isinstance(run, list) else run


def _printed(path) -> tuple[list[float], list[float]]:
    line = re.compile(r"^Accuracy Train:([\d.]+)%, Dev:([\d.]+)%")
    found = [line.match(t) for t in path.read_text().splitlines()]
    pairs = [(float(m.group(1)), float(m.group(2))) for m in found if m]
    return [t for t, _ in pairs], [d for _, d in pairs]


def test_the_accuracies_under_each_epoch_line_are_that_epochs() -> None:
    path = _run("w95k-othello-mlp100-gap")
    train, dev = _printed(path / "logs" / "mlp18-100.log")
    run = _read(path)
    steps, acc = run.arrays("train/acc")
    assert len(train) == len(run.arrays("train/loss")[1])
    assert np.array_equal(steps, run.arrays("train/loss")[0])
    assert np.allclose(acc, train)  # kept in percent, as printed (the rules rescale)
    assert np.allclose(run.arrays("val/acc")[1], dev)


def test_the_gap_between_train_and_dev_accuracy_is_found() -> None:
    report = diagnose.check([str(_run("w95k-othello-mlp100-gap"))])
    assert "generalization_gap" in {f.pattern for f in report.findings}


def test_a_summary_printed_once_after_the_last_epoch_is_no_curve() -> None:
    path = _run("w70a-repstab-constlr")
    log = next(path.rglob("train.log"))
    assert "Final test accuracy" in log.read_text()
    run = _read(path)
    assert not [n for n in run.metric_names if "final" in n]
