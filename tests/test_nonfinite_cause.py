"""DG201's cause fits what the log can show: a NaN that appeared between two logged points
more than a step apart (every 10 steps, once per epoch) may be a divergence that grew and
overflowed unseen, so the finding names both causes; a NaN in a per-step log right after a
normal value is a numerical fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diagnose

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def _dg201(path: Path, run_id: str) -> diagnose.Finding:
    rep = diagnose.check(path)
    return next(f for f in rep.findings if f.rule == "DG201" and f.run == run_id)


def test_nan_in_a_per_epoch_log_names_both_causes():
    run = diagnose.load(FORMATS / "keras_csv")
    s, v = run.arrays("train/loss")
    i = int(np.argmin(np.isfinite(v)))
    assert i > 0 and v[i - 1] < v[0]  # falling, not growing, when it broke
    f = _dg201(FORMATS / "keras_csv", run.id)
    assert f.cause.startswith("Either a numerical fault") and "a whole epoch went by unlogged" in f.cause


def test_nan_in_a_per_step_log_is_a_numerical_fault():
    runs = {r.id: r for r in diagnose.load_all(FORMATS / "mlflow_file")}
    s, v = runs["sgd-lr0.1"].arrays("train/loss")
    i = int(np.argmin(np.isfinite(v)))
    assert s[i] - s[i - 1] == 1
    f = _dg201(FORMATS / "mlflow_file", "sgd-lr0.1")
    assert f.cause.startswith("A numerical fault rather than a too-large step")
    assert "logging the loss every step" in f.next_experiment
