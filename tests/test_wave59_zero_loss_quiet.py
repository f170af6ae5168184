"""A run whose losses are logged as exactly 0 is judged without numpy warnings.

A public Keras history (bench/real-runs/w81d-scenedetect-stuck, labelled flat_loss and
uniform_predictions from its plot before diagnose ran on it) logs loss and val_loss 0.0 at
every epoch beside accuracies of exactly 0.5. The chance-level check divided the validation
loss by its median (0) and `check` printed "RuntimeWarning: invalid value encountered in
divide" in the middle of its report.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w81d-scenedetect-stuck"


def test_zero_losses_are_judged_quietly() -> None:
    (log,) = RUN.rglob("*.json")
    history = json.loads(log.read_text())
    assert set(history["loss"]) == {0.0} and set(history["val_loss"]) == {0.0}
    assert set(history["val_accuracy"]) == {0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = diagnose.check(str(RUN)).findings
    assert {"flat_loss", "uniform_predictions"} <= {f.pattern for f in findings}
