"""Runs of a few epochs were never judged for slow convergence: trend lines need six points
on one curve. A validation log that fell at every evaluation, the last still falling at more
than half its average pace per evaluation, is read point by point; one that did not improve at its last
evaluation is not rate-limited, however few evaluations it has."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _slow(path: Path) -> list[diagnose.Finding]:
    return [f for f in diagnose.check(path).findings if f.rule == "DG206"]


def test_three_epochs_still_falling_at_full_pace_are_slow():
    path = REAL / "tb-medunc-v3"  # a public Lightning TensorBoardLogger run, three epochs
    run = diagnose.load_all(path)[0]
    _, t = run.arrays("train/loss")
    s, v = run.arrays("val/loss")
    assert len(t) < 6 and len(v) < 6
    # the last logged evaluation is one step after the one before: the weights validated again
    assert s[-1] - s[-2] == 1 and np.diff(s[:-1]).min() > 100
    v = v[:-1]
    assert np.all(np.diff(v) < 0) and (v[-2] - v[-1]) / (v[0] - v[-1]) > 0.2
    found = _slow(path)
    assert found and f"{v[-1]:.4g}" in found[0].message and "3 evaluations" in found[0].message
    # the cause fits a run this short: the budget, or the rate, with the way to tell them apart
    assert found[0].cause.startswith("The run ended after a few evaluations")


def test_an_interrupted_fine_tune_still_falling_in_a_line_is_slow():
    path = REAL / "w9d-code-archaeo"  # a public HF Trainer checkpoint at step 100 of 846
    run = diagnose.load(path)
    _, t = run.arrays("train/loss")
    _, v = run.arrays("val/loss")
    assert len(t) < 6 and len(v) == 5 and np.all(np.diff(v) < 0)
    # the last evaluation falls at more than half the average pace per evaluation
    assert (v[-2] - v[-1]) > 0.5 * (v[0] - v[-1]) / (len(v) - 1)
    assert (v[0] - v[-1]) / v[0] < 0.4
    assert _slow(path)


def test_a_last_evaluation_above_the_best_is_not_rate_limited():
    path = REAL / "ai4scup-v58"  # a public resumed run, five evaluations
    run = diagnose.load_all(path)[0]
    _, v = run.arrays("val/loss")
    assert len(v) < 6 and v[-1] > 1.02 * v.min()
    assert not _slow(path)
