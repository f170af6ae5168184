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


def test_binary_loss_at_ln_2_from_its_first_epoch_without_accuracy_is_at_chance():
    # a public loan-default classifier (custom csv: train_loss, val_loss, roc_auc; no accuracy,
    # no config): the loss starts at ln 2 and validation stays within 5% of it for all 13
    # epochs (0.664-0.691). K was read off the loss only within 1%, so only "flat" came out
    run_dir = RUN.parent / "t11a-loandefault-v0"
    run = diagnose.load(run_dir)
    _, train = run.arrays("train/loss")
    _, val = run.arrays("val/loss")
    assert abs(float(train[0]) / math.log(2) - 1) < 0.05
    assert np.all(np.abs(val / math.log(2) - 1) < 0.05)
    found = [f for f in diagnose.check(run_dir).findings if f.rule == "DG204"]
    assert found and "ln(2)" in found[0].message
    assert "K = 2 read off the loss" in found[0].message  # the user is told where K came from
