"""A gap whose validation loss stalled only over the last third of the evaluations is told.

DG103 reads a loss-only gap as still opening when validation stalled while the train loss kept
falling. "Stalled" was measured over the second half of the evaluations, so a validation loss
that was still falling when that half began (a long first descent, then flat to the end) never
counted, and public runs ending with validation 4x to 40x their train loss, flat for their last
third, got no finding. The last third of the evaluations now says it too, when it went no
lower than the best before it; a validation loss that sets a clearly new best at its end is a
model still learning, and two evaluations are too few to say either.

The logs are public runs from the tuning half of bench/real-runs. Expectations are checked on
the logged numbers by arithmetic, never by diagnose's own features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _curves(run_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The logged train and validation losses of a public run (values only)."""
    run = diagnose.load_all(str(RUNS / run_id))[0]
    return run.arrays("train/loss")[1], run.arrays("val/loss")[1]


def _gap_codes(run_id: str) -> set[str]:
    report = diagnose.check([str(RUNS / run_id)])
    return {f.rule for f in report.findings if f.pattern == "generalization_gap"}


@pytest.mark.parametrize("run_id, min_ratio", [
    # a Keras land-use classifier: validation 0.37-0.45 from epoch 30, train 0.039 at the end
    ("w79d-satellite-landuse", 5.0),
    # a nanoGPT run: validation 0.85-0.90 over its last 1250 steps, train 0.02
    ("w50a-tnnform-shakespeare", 20.0),
    # a small decoder LM (cosine schedule to 0): validation 0.62-0.64 over its last third
    ("w76d-harshalm", 3.0),
])
def test_validation_flat_over_the_last_third_far_above_train_is_a_gap(run_id, min_ratio):
    train, val = _curves(run_id)
    cut = len(val) - len(val) // 3
    # the picture: validation ends several times above the train loss, its last third no more
    # than a tenth below the best before it, and its second half began on the way down (the
    # median of that half's first third more than 5% above that of its last third)
    assert val[-1] / train[-1] > min_ratio
    assert val[cut:].min() > 0.9 * val[:cut].min()
    half = val[len(val) // 2:]
    k = max(1, len(half) // 3)
    assert np.median(half[:k]) > 1.05 * np.median(half[-k:])
    assert "DG103" in _gap_codes(run_id)


def test_two_evaluations_after_the_best_are_not_a_stall():
    """A healthy Hugging Face fine-tune, six evaluations: validation 0.474 -> 0.043 at the fifth,
    0.054 at the sixth, far above a train loss near zero. Its last third is two evaluations."""
    train, val = _curves("hf-image-classification-irr")
    assert len(val) == 6 and val.argmin() == 4
    assert val[-1] / train[-1] > 10
    assert "DG103" not in _gap_codes("hf-image-classification-irr")
