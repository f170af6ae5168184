"""A train loss that turns NaN and stays so to the end is a dead run, reported as explosion."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "pinn-em-v14"


def test_a_public_run_that_died_in_nan_is_an_explosion_error():
    # a public Lightning PINN run: its mean loss falls from 2.9e12 to about 2 by step 200, then
    # every logged value is NaN from step 218 to the end; before DG210 the only finding was
    # DG201's "non-finite values ... without the loss growing first", a pattern of its own
    run = diagnose.load(RUN)
    steps, v = run.arrays("train/loss")
    last_finite = int(np.flatnonzero(np.isfinite(v))[-1])
    dead = len(v) - 1 - last_finite
    assert dead >= 3 and not np.isfinite(v[last_finite + 1:]).any()
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG210"]
    assert found and found[0].pattern == "explosion" and found[0].severity == "error"
    assert f"step {int(steps[last_finite + 1])}" in found[0].message
    assert f"last {dead} logged point(s)" in found[0].message
