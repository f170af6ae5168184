"""A spike on a loss below zero is told without a ratio.

A public DCCRN speech-enhancement run (bench/real-runs/w89l-dccrn-dns5-v7, tuning split) trains
on negative SI-SNR: every logged loss is below zero. Its loss-spike finding read "the largest
infx the level just before it": a ratio to a negative level is no number a user can act on.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose
from diagnose.features import compute
from diagnose.features._run import RunContext

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w89l-dccrn-dns5-v7"


def test_a_spike_from_a_negative_level_names_no_ratio() -> None:
    run = diagnose.load_all(RUN)[0]
    assert float(np.nanmax(run.arrays("train/loss")[1][:20])) < 0  # a signed objective
    found = compute({"spike_story", "spike_count", "spike_max_ratio"}, RunContext(run))
    assert found["spike_count"] and not np.isfinite(found["spike_max_ratio"])
    story = str(found["spike_story"])
    assert "inf" not in story and "at or below zero" in story
