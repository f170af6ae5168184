"""A loss that blew up at its second logged point started at its first (real public log)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w22b-fypy-v841"


def test_a_blowup_from_the_second_epoch_on_is_judged_from_the_first():
    # a public neuralforecast run at a far too high learning rate (Lightning TensorBoardLogger,
    # one train loss per epoch): 2.0e4 at epoch 0, 1e12-1e17 from epoch 1 to about 110, then it
    # settles near 3e6, 150x where it started. The rise was read from the median of the first
    # three points, already blown up, so the run looked like one that fell: "All checks passed"
    run = diagnose.load(RUN)
    _, train = run.arrays("train/loss")
    train = train[np.isfinite(train)]
    assert train[1] > 1e6 * train[0] and train[2] > 1e6 * train[0]
    assert np.median(train[-50:]) > 100 * train[0]
    found = [f for f in diagnose.check(RUN).findings if f.pattern == "explosion"]
    assert found and found[0].severity == "error"
    assert f"{train[0]:.4g}" in found[0].message
