"""A long validation climb beside a train loss that has little left to give (issue 14, case 6)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w20d-lgaimers-v39"


def test_steady_climb_while_train_creeps_down_is_late_overfitting_not_a_flat_loss():
    # a public Lightning log (binary tabular, 100 epochs): validation turns at epoch 6 and climbs
    # for 90 epochs while the train loss creeps down by under 2%; DG104 wanted a 10% train fall
    # and passed it by, and DG101 called the train loss flat (a stalled optimizer) instead
    run = diagnose.load(RUN)
    _, val = run.arrays("val/loss")
    _, train = run.arrays("train/loss")
    best = int(np.argmin(val))
    assert best < len(val) // 10 and val[-1] > 1.1 * val[best]
    assert train[-1] < train[best] and train[best] - train[-1] < 0.1 * train[best]
    # the last third of the validation loss above the second, the train loss below it
    third = len(val) // 3
    assert np.median(val[-third:]) > np.median(val[third:-third])
    assert np.median(train[-third:]) < np.median(train[third:-third])
    rules = {f.rule: f for f in diagnose.check(RUN).findings}
    assert "DG104" in rules and "DG101" not in rules
    assert f"{val[best]:.4g}" in rules["DG104"].message and f"{val[-1]:.4g}" in rules["DG104"].message
