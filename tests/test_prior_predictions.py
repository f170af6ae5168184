"""A two-class model that learns the class shares and nothing else answers the majority class
for every input: its validation accuracy is that share at every evaluation once it settled,
while its loss falls from ln 2 to the entropy of the shares (0.500 for 80/20). DG208 asked
the loss not to move and the accuracy to be the same from the very first evaluation, and
missed it ("All checks passed")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import diagnose

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "trust"


def test_learning_the_class_shares_only_is_constant_predictions():
    run = diagnose.load(FIX / "prior-k2")
    _, acc = run.arrays("val/acc")
    _, loss = run.arrays("val/loss")
    a = float(acc[-1])
    entropy = -(a * math.log(a) + (1 - a) * math.log(1 - a))
    # most evaluations give exactly the last accuracy, the majority share; the loss fell by
    # far more than noise, to within a few percent of the entropy of those shares
    assert np.sum(acc == acc[-1]) >= 0.75 * len(acc) and a > 0.5
    assert (loss.max() - loss.min()) / np.median(loss) > 0.1
    assert abs(loss[-1] / entropy - 1) < 0.05
    found = [f for f in diagnose.check(FIX / "prior-k2").findings if f.rule == "DG208"]
    assert found and f"{entropy:.4g}" in found[0].message


def test_a_healthy_run_with_unequal_classes_stays_clean():
    # fixtures/healthy-digits-cnn is a multi-class run that learns; the constant-accuracy
    # reading must not fire on any healthy fixture
    for name in ("healthy-digits-cnn", "healthy-mlp-adam", "healthy-sgd-cosine"):
        rules = {f.rule for f in diagnose.check(FIX.parent / name).findings}
        assert "DG208" not in rules, name
