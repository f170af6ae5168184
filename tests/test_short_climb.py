"""Late overfitting read off a fine-tune of three epochs (issue 14, case 6: the best first)."""

from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9b-keras-bert-imdb"


def test_three_epochs_best_first_then_climbing_is_late_overfitting():
    # a public Keras BERT fine-tune: validation loss best at the first of three epochs, higher
    # at each later one, while the train loss falls by more than half; DG104 wanted four
    # evaluations and passed it by, leaving only the gap
    run = diagnose.load(RUN)
    _, val = run.arrays("val/loss")
    _, train = run.arrays("train/loss")
    assert len(val) == 3 and int(np.argmin(val)) == 0 and (np.diff(val) > 0).all()
    assert val[-1] > 1.2 * val[0] and train[-1] < 0.5 * train[0]
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG104"]
    assert found and f"{val[0]:.4g}" in found[0].message and f"{val[-1]:.4g}" in found[0].message
