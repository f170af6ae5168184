"""Steady validation climbs after a best (issue 14, case 6): beside a train loss that has little
left to give, and climbs of a few percent that give back all validation had gained."""

from pathlib import Path

import numpy as np

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _curves(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The run's validation and train losses and the index of the best validation loss."""
    run = diagnose.load(RUNS / name)
    val, train = run.arrays("val/loss")[1], run.arrays("train/loss")[1]
    return val, train, int(np.argmin(val))


def test_steady_climb_while_train_creeps_down_is_late_overfitting_not_a_flat_loss():
    # a public Lightning log (binary tabular, 100 epochs): validation turns at epoch 6 and climbs
    # for 90 epochs while the train loss creeps down by under 2%; DG104 wanted a 10% train fall
    # and passed it by, and DG101 called the train loss flat (a stalled optimizer) instead
    val, train, best = _curves("w20d-lgaimers-v39")
    assert best < len(val) // 10 and val[-1] > 1.1 * val[best]
    assert train[-1] < train[best] and train[best] - train[-1] < 0.1 * train[best]
    # the last third of the validation loss above the second, the train loss below it
    third = len(val) // 3
    assert np.median(val[-third:]) > np.median(val[third:-third])
    assert np.median(train[-third:]) < np.median(train[third:-third])
    rules = {f.rule: f for f in diagnose.check(RUNS / "w20d-lgaimers-v39").findings}
    assert "DG104" in rules and "DG101" not in rules
    assert f"{val[best]:.4g}" in rules["DG104"].message and f"{val[-1]:.4g}" in rules["DG104"].message


def test_a_steady_two_percent_climb_that_gives_back_the_whole_fall_is_late_overfitting():
    # a public Lightning TensorBoard log (300 epochs): validation falls 2.003 -> 1.955 by about
    # epoch 38, then climbs smoothly back to 2.003 while the train loss keeps falling
    # (2.04 -> 1.81); the rise is 2% of the best value, under DG104's 10% bar
    val, train, best = _curves("w24c-irdsi-v3")
    assert best < len(val) // 4
    fall, rise = val[0] - val[best], val[-1] - val[best]
    assert rise > fall > 0 and rise < 0.05 * val[best]
    tenth = len(val) // 10
    assert np.median(val[-tenth:]) > np.median(val[best:best + tenth])  # the end is higher
    assert np.median(train[-tenth:]) < np.median(train[best:best + tenth])  # train still falls
    assert "DG104" in {f.rule for f in diagnose.check(RUNS / "w24c-irdsi-v3").findings}


def test_a_small_climb_that_ends_above_the_first_evaluation_is_late_overfitting():
    # a public DeepAR log (Student-t NLL, 13 epochs): validation best at epoch 2, then drifting
    # up to 9% above it and ending above its first value while the train loss keeps falling;
    # the loss's large offset kept the rise under DG104's 10% and its trend under z 4
    val, train, best = _curves("w23d-airquality-v12")
    assert val[-1] > val[0] > val[best] and val[-1] < 1.1 * val[best]
    assert train[-1] < 0.9 * train[best]
    after = val[best:]
    rising = sum(int(np.sign(b - a)) for i, a in enumerate(after) for b in after[i + 1:])
    assert rising / (len(after) * (len(after) - 1) / 2) >= 0.6  # Kendall's tau of the climb
    late = [f for f in diagnose.check(RUNS / "w23d-airquality-v12").findings if f.rule == "DG104"]
    assert late and f"step {int(diagnose.load(RUNS / 'w23d-airquality-v12').arrays('val/loss')[0][best])}" in late[0].message
