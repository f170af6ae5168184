"""Spikes on a run that never left chance, with only its train curves logged.

A spike of a model that never learned (ln K from the first point to the last, a few one-epoch
jumps that come straight back) is no divergence. That was told apart only when a validation
loss also sat at ln K: a Keras log with train loss and accuracy alone got an explosion error.
With no evaluation, the train curve says it: its end is near the lowest level it ever logged.
A run that learned and then collapsed to ln K after its blow-up ends several times above what
it had learned, and stays an explosion (the issue's second case).
"""

from __future__ import annotations

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def test_train_only_spikes_at_ln3_are_not_an_explosion() -> None:
    path = _run("w70b-rokr-1682056860")
    run = diagnose.load_all(str(path))[0]
    assert "val/loss" not in run.metric_names
    _, loss = run.arrays("train/loss")
    # by plain arithmetic: ln 3 at both ends, a peak over ten times it that is one point wide
    ln3 = np.log(3)
    assert abs(loss[0] / ln3 - 1) < 0.05 and abs(np.median(loss[-20:]) / ln3 - 1) < 0.05
    assert loss.max() > 10 * ln3 and (loss > 2 * ln3).mean() < 0.05
    patterns = {f.pattern for f in diagnose.check(str(path)).findings}
    assert "explosion" not in patterns
    assert {"loss_spikes", "uniform_predictions"} <= patterns


def test_train_only_collapse_after_learning_stays_an_explosion() -> None:
    path = _run("w72b-hema-23340")
    run = diagnose.load_all(str(path))[0]
    _, loss = run.arrays("train/loss")
    assert loss.min() < 0.2 and abs(np.median(loss[-100:]) / np.log(3) - 1) < 0.05
    assert "explosion" in {f.pattern for f in diagnose.check(str(path)).findings}
