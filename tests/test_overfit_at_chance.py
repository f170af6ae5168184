"""Late overfitting needs a best checkpoint worth going back to (issue 14, cases 3 and 6)."""

from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_validation_at_chance_throughout_is_uniform_predictions_not_late_overfitting():
    # a public 9-class Keras log (tuning half): validation sits around ln 9 from its first
    # evaluation to its last and climbs at the end while train drifts down. Its "best"
    # checkpoint predicts no better than chance, so going back to it is no advice: the finding
    # is the model at chance (DG204), and DG104 stays silent
    run = diagnose.load(REAL / "action-emotion")
    _, val = run.arrays("val/loss")
    assert np.all(np.abs(val / np.log(9) - 1) < 0.06)
    rules = {f.rule for f in diagnose.check(REAL / "action-emotion").findings}
    assert "DG204" in rules and "DG104" not in rules


def test_validation_that_gives_back_all_it_gained_is_late_overfitting():
    # a public binary pair classifier (tuning half): validation best at epoch 14, then back
    # above its first value by epoch 22, while train keeps falling slowly (4%) but steadily
    run_dir = REAL / "w52c-compass-pairs"
    run = diagnose.load(run_dir)
    _, val = run.arrays("val/loss")
    best = int(np.argmin(val))
    assert val[-1] > val[0] > val[best] and len(val) - 1 - best >= 5
    found = [f for f in diagnose.check(run_dir).findings if f.rule == "DG104"]
    assert found and f"{val[best]:.4g}" in found[0].message
