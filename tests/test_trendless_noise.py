"""A per-batch loss that is noise with no trend reads as flat, not as slow or still improving."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "sml-p1-v1"


def test_noise_ending_on_a_dip_is_flat_not_slow():
    # a public Lightning log: one batch's loss every 50 steps (75 points), validation every
    # epoch. Its smoothed ends halve (the log ends on a dip), which made a "rate-limited 26%
    # fall" of it (DG206) and a run "still improving" (DG203), and kept it from being flat
    run = diagnose.load(RUN)
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    # plain arithmetic on the logged values: the thirds of the train loss sit at one level,
    # the validation loss never moved by 2%, and the last points do dip
    thirds = [float(np.median(t)) for t in np.array_split(train, 3)]
    assert max(thirds) < 1.2 * min(thirds)
    assert (val.max() - val.min()) < 0.02 * val.min()
    assert train[-5:].min() < 0.6 * float(np.median(train))
    rules = {f.rule for f in diagnose.check(RUN).findings}
    assert "DG101" in rules
    assert not rules & {"DG206", "DG203"}
