"""A run that fell fast and then levelled off is converged, not flat: DG101 read a LoRA
language-model fine-tune (a public HF Trainer log, 750 points) as "hardly moved" because its
trend line over the whole run is flat, although its first tenth fell by a third."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_fast_first_drop_then_a_plateau_is_not_flat():
    path = REAL / "hf-gptlora"
    run = diagnose.load(path)
    _, v = run.arrays("train/loss")
    n = len(v)
    assert n >= 100
    head, rest = v[: n // 10], v[n // 2:]
    # the first tenth falls steadily, well below where it started; the second half is level
    assert np.median(head[-10:]) < 0.75 * np.median(head[:10])
    assert np.median(v[: n // 50]) > 1.2 * np.median(rest)
    assert abs(np.polyfit(np.arange(len(rest)), rest, 1)[0] * len(rest)) < 0.05 * np.median(rest)
    assert not [f for f in diagnose.check(path).findings if f.rule == "DG101"]


def test_a_flat_run_without_an_early_fall_is_still_flat():
    # fixtures/trust/flat-noisy-regression: a regression at a tiny learning rate, per-batch noise
    path = Path(__file__).resolve().parents[1] / "fixtures" / "trust" / "flat-noisy-regression"
    found = [f for f in diagnose.check(path).findings if f.rule == "DG101"]
    assert found


def test_a_first_epoch_drop_in_a_very_long_log_is_not_flat():
    # a public Lightning run logging the per-step loss every 50 steps: 0.76 -> 0.1 within its
    # first epoch, then 18,000 points of a level band with isolated spikes; the first tenth of
    # the log is almost all plateau, so only the leading points show the fall
    path = REAL / "w9h-controls-v3"
    run = diagnose.load(path)
    _, v = run.arrays("train/loss")
    n = len(v)
    rest = v[n // 2:]
    lead = int(np.argmin(v[: n // 2] > np.percentile(rest, 90)))
    assert n > 10_000 and lead >= 3
    assert np.median(v[:3]) > 4 * np.median(rest)
    rules = {f.rule for f in diagnose.check(path).findings}
    assert "DG101" not in rules
    assert "DG202" in rules  # no longer hidden by the flat reading: its isolated 36-89x jumps
