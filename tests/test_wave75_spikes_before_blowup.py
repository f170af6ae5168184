"""Spikes that came back long before a finite blow-up are told, not swallowed by it.

A public Keras LSTM (2,000 epochs, TensorBoard ``epoch_loss``) jumps from about 0.2 to 12.9 at
epoch 205 and to 17.4 at epoch 264, comes back within an epoch or two, falls smoothly to 4.5e-6,
and blows up to 22,452 at epoch 1984. The explosion rule speaks for the run and silences the
spike rule, as it should for the blow-up's own jumps; the spikes far before it went untold.
DG216 told such spikes only before a NaN.
"""

from __future__ import annotations

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def _jumps_that_came_back(v: np.ndarray, end: int) -> list[int]:
    """Indices before ``end`` where the loss rose 10x over the point before and one of the next
    three points was back under a fifth of the jump: plain arithmetic on the logged values."""
    return [i for i in range(1, end - 3)
            if v[i] > 10 * v[i - 1] and min(v[i + 1:i + 4]) < v[i] / 5]


def test_spikes_before_a_finite_blowup_are_told() -> None:
    path = _run("w71b-drdo-26176")
    run = diagnose.load(str(path))
    s, v = run.arrays("train/loss")
    assert np.isfinite(v).all()
    peak = int(np.argmax(v))
    assert v[peak] > 1000 * v[0]  # a blow-up with no NaN
    early = _jumps_that_came_back(v, peak - 100)
    assert len(early) >= 2
    findings = diagnose.check(str(path)).findings
    assert "explosion" in {f.pattern for f in findings}
    told = [f for f in findings if f.rule == "DG227"]
    assert told, "the spikes before the blow-up are a finding"
    first = int(s[early[0]])
    assert f"step {first}" in told[0].message or f"steps {first}" in told[0].message


def test_a_blowup_with_no_spikes_before_it_stays_one_finding() -> None:
    # a public Lightning run: a fall to 0.15, then a climb to 22.8 that never comes back
    path = _run("luis-nn-v10")
    findings = diagnose.check(str(path)).findings
    assert "explosion" in {f.pattern for f in findings}
    assert "loss_spikes" not in {f.pattern for f in findings}
