"""A validation climb of a few percent counts as late overfitting when it is firm and gives back
what validation had gained (issue 14, case 6: a steady rise after a best)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w24c-irdsi-v3"


def test_a_steady_two_percent_climb_that_gives_back_the_whole_fall_is_late_overfitting():
    # a public Lightning TensorBoard log (300 epochs): validation falls 2.003 -> 1.955 by about
    # epoch 38, then climbs smoothly back to 2.003 while the train loss keeps falling
    # (2.04 -> 1.81); the rise is 2% of the best value, under DG104's 10% bar
    run = diagnose.load(RUN)
    _, val = run.arrays("val/loss")
    _, train = run.arrays("train/loss")
    best = int(np.argmin(val))
    assert best < len(val) // 4
    fall, rise = val[0] - val[best], val[-1] - val[best]
    assert rise > fall > 0 and rise < 0.05 * val[best]
    tenth = len(val) // 10
    assert np.median(val[-tenth:]) > np.median(val[best:best + tenth])  # the end is higher
    assert np.median(train[-tenth:]) < np.median(train[best:best + tenth])  # train still falls
    assert "DG104" in {f.rule for f in diagnose.check(RUN).findings}
