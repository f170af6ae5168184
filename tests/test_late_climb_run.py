"""Validation that climbs at each of four evaluations after its best and gives back most of what
it had gained, while the train loss keeps falling, is overfitting even when the climb stays
under 10% of the best value: a public Keras history of this shape said "All checks passed"."""

from __future__ import annotations

import json
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_four_rises_in_a_row_that_give_back_most_of_the_fall_are_late_overfitting():
    run = RUNS / "w58d-glove-tweets"  # a GloVe-LSTM on tweets, Keras history JSON, 10 epochs
    history = json.loads((run / "training_history.json").read_text())
    val, train = history["val_loss"], history["loss"]
    best = val.index(min(val))
    after = val[best:]
    # by the file: higher at every evaluation after the best (four of them), more than half of
    # the fall before the best given back, and the train loss lower at every epoch after it
    assert len(after) == 5 and all(b > a for a, b in zip(after, after[1:]))
    assert val[-1] - val[best] > 0.5 * (val[0] - val[best]) and val[-1] < 1.1 * val[best]
    assert all(b < a for a, b in zip(train[best:], train[best + 1:]))
    found = [f for f in diagnose.check(run).findings if f.pattern == "late_overfitting"]
    assert [f.rule for f in found] == ["DG104"]
    assert f"lowest at step {best}" in found[0].message
