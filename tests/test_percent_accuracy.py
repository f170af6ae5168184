"""Accuracies logged in percent are judged as fractions of 1, and the run says so.

Every rule reads accuracy as a fraction: 1/K at chance, a gap of 0.1 as ten points. A
hand-written loop that logs ``100 * correct / total`` would otherwise show a gap of three
points as 3.0 ("far worse on validation") and put chance level at 1/K of 100.
"""

from pathlib import Path

import numpy as np
import pandas as pd

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "t11a-eegpriya-v0" / "training_log.csv"


def test_a_public_log_in_percent_keeps_its_values_and_says_how_they_are_read():
    raw = pd.read_csv(REAL)
    assert raw["Val_Acc"].max() > 1  # the file holds percentages
    run = diagnose.load(REAL)
    _, val = run.arrays("val/acc")
    np.testing.assert_allclose(val, raw["Val_Acc"].to_numpy())  # the run is what was logged
    (note,) = [w for w in run.warnings if "logged in percent" in w]
    assert f"up to {max(raw['Train_Acc'].max(), raw['Val_Acc'].max()):g}" in note
    assert "fractions of 1" in note


def test_a_three_point_gap_in_percent_is_no_generalization_gap():
    # 150 epochs, final accuracies 94.1 (train) and 90.8 (validation) in percent, losses
    # 0.22 and 0.26: the gap rule used to read the 3.3-point gap as 3.3 (330 points)
    raw = pd.read_csv(REAL)
    gap_points = raw["Train_Acc"].iloc[-5:].mean() - raw["Val_Acc"].iloc[-5:].mean()
    assert 0 < gap_points < 5
    found = {f.rule for f in diagnose.check(REAL).findings}
    assert "DG103" not in found


def test_fractions_are_left_alone(tmp_path):
    path = tmp_path / "history.csv"
    pd.DataFrame({"epoch": range(6), "loss": np.linspace(1, 0.4, 6), "val_loss": np.linspace(1.1, 0.5, 6),
                  "accuracy": np.linspace(0.5, 1.0, 6), "val_accuracy": np.linspace(0.5, 0.9, 6)}).to_csv(
        path, index=False)
    run = diagnose.load(path)
    assert run.arrays("train/acc")[1].max() == 1.0
    assert not any("percent" in w for w in run.warnings)
