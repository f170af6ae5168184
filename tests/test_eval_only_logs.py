"""A log of evaluations only (no train loss: Lightning runs that log ``val_loss`` alone) was
never judged for slow convergence: DG206 required a train loss. The validation loss's own
shape decides then, and the message says which curve it read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_a_public_validation_only_log_still_falling_in_a_line_is_slow():
    path = REAL / "eurosat-mm-v0"
    run = diagnose.load_all(path)[0]
    assert "train/loss" not in run.metric_names
    s, v = run.arrays("val/loss")
    # still falling at the end, by little overall: the last fifth brings more than its share
    fall = v[0] - v[-1]
    assert 0.05 < fall / v[0] < 0.4 and (v[-3] - v[-1]) > 0.2 * fall and np.all(np.diff(v) < 0)
    found = [f for f in diagnose.check(path).findings if f.pattern == "slow_convergence"]
    assert found and found[0].message.startswith("validation loss fell "), found
    assert "no train loss is logged" in found[0].message

