"""A loss logged as exactly 0 at its first point (a tiny loss rounded by the logger) is a ratio's
denominator in many sentences: judging such a run must never crash (it did: the burst sentence
formatted the None that `end_over_first` is then)."""

from __future__ import annotations

import math

import pytest

import diagnose

SHAPES = {
    # a fresh bench healthy K=2 run logged every 50 steps by TensorBoard: 0.0, then 3e-8 .. 6.7e-8
    "tiny-with-a-top-inside": [0.0, 3e-8, 4e-8, 6.7e-8, 3e-8, 2e-8, 2.5e-8],
    "zero-then-a-burst": [0.0, 0.1, 0.2, 5.0, 0.1, 0.05, 0.04, 0.03],
    "zero-then-nan": [0.0, 1e-6, 2e-6, math.nan, math.nan],
    "all-zero": [0.0] * 12,
    # long enough to smooth, and ending ten times above the level it had settled at: that end
    # was compared with the end over the first value (a division by the 0)
    "zero-then-settled-then-ten-times-up": [0.0] + [1e-9] * 59 + [1e-8] * 60,
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_first_loss_of_zero_is_judged_without_an_internal_error(name: str) -> None:
    values = SHAPES[name]
    run = diagnose.Run.from_series({"train/loss": values, "val/loss": values[::2]}, id=name)
    report = diagnose.check([run])
    assert not report.errors, report.errors
    assert [r.id for r in report.runs] == [name]
    for f in report.findings:  # every sentence was written out
        assert f.message and "{" not in f.message
