"""A sparse log (one batch's loss every 50 steps) is not a generalization gap by one low batch.

``fixtures/slow/noisy-healthy-every50`` is real training (``fixtures/make_slow_fixtures.py``):
a converged regression whose Recorder keeps one batch loss every 50 steps. The label is
checked by plain arithmetic on the logged values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parent.parent / "fixtures" / "slow" / "noisy-healthy-every50"


def test_one_low_batch_of_a_sparse_log_is_not_a_gap():
    run = diagnose.load(RUN)
    s, train = run.arrays("train/loss")
    vs, val = run.arrays("val/loss")
    i = int(np.argmin(val))
    at = int(np.searchsorted(s, vs[i]))
    # the trap: the one batch logged at the best validation step is far below validation ...
    assert val[i] / train[at] > 1.5
    # ... while the train loss around it, and over the second half, is not below validation
    assert np.median(train[max(0, at - 2):at + 3]) > 0.9 * val[i]
    assert np.median(train[len(train) // 2:]) >= np.median(val[len(val) // 2:])
    report = diagnose.check(RUN)
    pats = {f.pattern for f in report.findings}
    assert "generalization_gap" not in pats
    assert "val_better_than_train" not in pats
