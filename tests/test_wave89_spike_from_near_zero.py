"""A spike from a loss near zero that comes back on a linear axis but only halfway on a log one.

A modular-arithmetic transformer's printed loss falls log-linearly to 1e-7, jumps to 2.04 (44%
of its first loss) for one print and is at 5e-4 a few prints later: a spike by eye, since what is
left of the jump is 0.01% of the run's scale. The spike test measured the way back on the log of
the loss, where 1e-7 -> 2 -> 5e-4 is exactly half the way, and dropped it as a new level: the
report said "All checks passed". What is left of a jump now also counts as gone when it is below
the smallest rise the spike rule ever counts (``spike_broad_height`` of the run's scale).
"""

from __future__ import annotations

import numpy as np
from _real_logs import bench_run as _run

import diagnose


def test_public_grokking_log_spike_from_1e7_is_found() -> None:
    path = _run("w111e-newbie-add97-run1-spike")
    run = diagnose.load_all(str(path))[0]
    steps, loss = run.arrays("train/loss")
    # by plain arithmetic on the logged values: one print over 40% of the first loss after the
    # loss sat under 1e-6, and the last prints back under 0.1% of the first loss
    j = int(np.argmax(loss[10:])) + 10
    assert loss[j] > 0.4 * loss[0] and np.all(loss[j - 5:j] < 1e-6 * loss[0])
    assert np.all(loss[-5:] < 1e-3 * loss[0])
    # on a log axis the way back is no more than half the way up
    up = np.log(loss[j]) - np.log(loss[j - 1])
    back = np.log(loss[j]) - np.log(np.median(loss[j + 1:j + 10]))
    assert back <= 0.55 * up
    report = diagnose.check(str(path))
    spikes = [f for f in report.findings if f.pattern == "loss_spikes"]
    assert spikes and spikes[0].severity == "warning"
    assert int(steps[j]) in range(spikes[0].steps[0], spikes[0].steps[-1] + 1)
    # a ratio over a level of 1e-7 is told in three significant digits, not to a tenth
    assert "e+0" in spikes[0].message


def test_a_new_level_far_above_zero_is_still_no_spike() -> None:
    # the same shape, but the loss settles at 20% of its first value after the jump: a new level
    rng = np.random.default_rng(0)
    n = 200
    loss = np.concatenate([np.geomspace(4.6, 1e-6, 150), np.full(n - 150, 0.9)])
    loss[150] = 2.0
    loss *= np.exp(rng.normal(0, 0.02, n))
    run = diagnose.Run.from_series({"train/loss": loss.tolist()},
                                   {"train/loss": list(range(0, 100 * n, 100))})
    patterns = {f.pattern for f in diagnose.check(run).findings}
    assert "loss_spikes" not in patterns
