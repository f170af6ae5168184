"""K read off the loss when the accuracy names a K the loss does not bear out (issue 14, case 3)."""

import math
from pathlib import Path

import numpy as np

import diagnose

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "eeg-clf-v19"


def test_loss_at_ln_6_with_accuracy_about_1_7_is_stuck_at_chance():
    # a public Lightning EEG classifier with no recorded number of classes: train and
    # validation loss sit at ln 6 for all 13 epochs while the validation accuracy reads about
    # 1/7; K was taken from the accuracy (7), the loss was then 8% under ln 7, and only
    # "flat loss" came out, never "stuck at chance"
    run = diagnose.load(RUN)
    _, val = run.arrays("val/loss")
    _, acc = run.arrays("val/acc")
    assert abs(float(np.median(val)) / math.log(6) - 1) < 0.01
    assert abs(float(np.median(acc)) * 7 - 1) < 0.1
    found = [f for f in diagnose.check(RUN).findings if f.rule == "DG204"]
    assert found and "ln(6)" in found[0].message
