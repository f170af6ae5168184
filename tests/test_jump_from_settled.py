"""A run that learned, then jumped for good to several times its settled level (issue 14, case 2)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9g-weather-v11"


def test_jump_to_four_times_the_settled_level_is_an_explosion():
    # a public Lightning run: 0.31 at its first log, about 0.13 for two epochs, then 0.45-0.78
    # from the third epoch to the end. Its peak is under 3x its first value, so DG102 stayed
    # silent and only a NaN error (12 scattered NaN rows) spoke, "without the loss growing"
    run = diagnose.load(RUN)
    _, v = run.arrays("train/loss")
    v = v[np.isfinite(v)]
    n = len(v)
    settled, end = float(np.median(v[n // 10: n // 5])), float(np.median(v[-n // 5:]))
    assert end > 3 * settled and end > v[0] and v.max() < 3 * v[0]
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG102"]
    assert found and "lowest level it had settled at" in found[0].message
