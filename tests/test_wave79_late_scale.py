"""The scale a validation rise must matter on, read from the smoothed train loss.

DG104 asks a rise after the validation loss's best to be at least a small share of the run's
scale, so that a loss of 1e-6 that doubles is not called overfitting. The scale was the first
logged train loss; a per-batch log whose first ten batches blew up to 30-38 (then 2.3, falling)
set it ten times too high, and a validation loss that climbed 45% from its best was read as
noise on it.
"""

from __future__ import annotations

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _patterns(report: diagnose.Report) -> set[str]:
    return {f.pattern for f in report.findings if f.severity != "info"}


def test_a_rise_after_blown_up_first_batches_is_overfitting() -> None:
    path = _run("w101a-omer-ycn-l9-overfit")
    run = diagnose.load(str(path))
    run = run[0] if isinstance(run, list) else run
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    # the premise: the first batches sit far above the level the train loss settles at
    assert train[:3].min() > 10 * np.median(train[:1000])
    assert val[-1] > 1.3 * val.min()
    assert "late_overfitting" in _patterns(diagnose.check(str(path)))


def test_a_tiny_loss_that_doubles_is_still_noise() -> None:
    steps = np.arange(1, 201)
    train = 1.0 * np.exp(-steps / 14.0)  # 0.93 -> 6e-7, still falling
    val_steps = steps[9::10]
    val = np.concatenate([np.linspace(3e-6, 1e-6, 10), np.linspace(1.1e-6, 2e-6, 10)])
    run = diagnose.Run.from_series({"train/loss": train, "val/loss": val},
                                   {"train/loss": steps, "val/loss": val_steps})
    assert "late_overfitting" not in _patterns(diagnose.check(run))
