"""Regression losses that look like something else (issue 14, found on a fresh held-out seed).

Both runs are real training (``fixtures/make_trust_fixtures.py``: ``regression-plateau-4``,
``flat-noisy-regression``); each label is checked by plain arithmetic on the logged values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import diagnose

TRUST = Path(__file__).resolve().parent.parent / "fixtures" / "trust"


def finite(run: diagnose.Run, metric: str) -> np.ndarray:
    _, v = run.arrays(metric)
    return v[np.isfinite(v)]


def test_a_regression_loss_that_settles_near_some_ln_k_is_not_read_as_k_classes():
    run = diagnose.load(TRUST / "regression-plateau-4")
    train, val = finite(run, "train/loss"), finite(run, "val/loss")
    assert run.num_classes is None and len(val) > 5
    # the trap: both second-half medians sit within 1% of ln K for K = e^loss, and within 1%
    # of ln(K - 1) or ln(K + 1) too - any plateau above ~3 is that close to some ln K
    tail_t, tail_v = np.median(train[len(train) // 2:]), np.median(val[len(val) // 2:])
    k = round(math.exp(tail_v))
    assert all(abs(x / math.log(k) - 1) <= 0.01 for x in (tail_t, tail_v))
    assert any(all(abs(x / math.log(j) - 1) <= 0.01 for x in (tail_t, tail_v)) for j in (k - 1, k + 1))
    report = diagnose.check(TRUST / "regression-plateau-4")
    assert "uniform_predictions" not in {f.pattern for f in report.findings}
    assert not any("read off the loss" in f.message for f in report.findings)
    # what is true of it: nothing was learned (the targets are noise)
    assert abs(train[-20:].mean() / train[:20].mean() - 1) < 0.15
    assert "flat_loss" in {f.pattern for f in report.findings}


def test_a_noisy_flat_loss_whose_first_batch_was_low_is_not_an_explosion():
    run = diagnose.load(TRUST / "flat-noisy-regression")
    train = finite(run, "train/loss")
    # the trap: one batch reaches over 3x the first logged loss and the run ends above it ...
    assert train.max() > 3 * train[0] and np.median(train[-100:]) > train[0]
    # ... while the level never moved: first and last tenths within 20% of each other
    tenth = len(train) // 10
    assert abs(np.median(train[-tenth:]) / np.median(train[:tenth]) - 1) < 0.2
    report = diagnose.check(TRUST / "flat-noisy-regression")
    pats = {f.pattern for f in report.findings}
    assert "explosion" not in pats
    assert "flat_loss" in pats
