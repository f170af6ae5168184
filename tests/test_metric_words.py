"""Metric names that say how a value was averaged (per batch, per epoch, per iteration) are read
for what they are: ``train_loss_batch_step`` is the train loss, ``Test/Average loss`` a test loss.

A public Lightning run logged ``train_loss_batch_step`` and ``val_loss_batch``: no loss was read,
and its recurring spikes were never looked at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import diagnose
from diagnose.run import canonical_name

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


@pytest.mark.parametrize("raw, name", [
    ("train_loss_batch_step", "train/loss"),
    ("train_loss_batch", "train/loss"),
    ("val_loss_batch", "val/loss"),
    ("Train/Average Loss per Epoch", "train/loss"),
    ("Train/Loss per Iteration", "train/loss"),
    ("val_loss_iter", "val/loss"),
    ("val_accuracy_epoch", "val/acc"),
    ("train_accuracy_step", "train/acc"),
    ("训练/损失", "train/loss"),
    ("验证/损失", "val/loss"),
    ("验证/准确率", "val/acc"),
    ("训练/准确率", "train/acc"),
    # the short split words of hand-written loops (a public log printed ``VAcc:46.25%``)
    ("tr_loss", "train/loss"), ("TrnLoss", "train/loss"), ("va_loss", "val/loss"),
    ("VLoss", "val/loss"), ("tr_acc", "train/acc"), ("VAcc", "val/acc"), ("va_acc", "val/acc"),
    # the lists hand-written loops append to (``history["train_losses"].append(...)``)
    ("train_losses", "train/loss"), ("val_losses", "val/loss"), ("valid_losses", "val/loss"),
    ("train_accuracies", "train/acc"), ("val_accs", "val/acc"), ("Losses/train", "train/loss"),
])
def test_averaging_words_do_not_hide_the_metric(raw: str, name: str) -> None:
    assert canonical_name(raw) == name


@pytest.mark.parametrize("raw", ["val_loss_step", "val_accuracy_step", "train_epoch", "train/step",
                                 "训练/总损失", "rewards/accuracies"])
def test_one_evaluation_batch_and_counters_are_not_renamed(raw: str) -> None:
    # a validation value logged per step is one evaluation batch's, not the validation loss
    assert canonical_name(raw) == raw


def test_public_run_with_batch_suffixed_losses_is_judged() -> None:
    folder = REAL / "w39a-deeploc-prott5-0"
    csv = next(folder.rglob("metrics.csv"))
    raw = pd.read_csv(csv)
    logged = raw[["step", "train_loss_batch_step"]].dropna()
    run = diagnose.load(csv.parent)
    steps, values = run.arrays("train/loss")
    assert np.array_equal(steps, logged["step"].to_numpy())
    assert np.array_equal(values, logged["train_loss_batch_step"].to_numpy())
    assert run.has("val/loss")
    report = diagnose.check([str(folder)])
    assert "loss_spikes" in {f.pattern for f in report.findings}


def test_averaged_test_loss_stands_in_for_validation() -> None:
    folder = REAL / "w41b-lbsgd-b4096-nowarm"
    run = diagnose.load_all(folder)[0]
    assert run.name_map.get("Test/Average loss") == "val/loss"
    assert any("'Test/Average loss' read as 'val/loss'" in w for w in run.warnings)


def test_public_run_logged_under_chinese_names_is_judged() -> None:
    folder = REAL / "w44a-cotmeme-v2"
    csv = next(folder.rglob("metrics.csv"))
    logged = pd.read_csv(csv)[["step", "验证/损失"]].dropna()
    best = logged.loc[logged["验证/损失"].idxmin()]
    assert logged["验证/损失"].iloc[-1] > 1.3 * best["验证/损失"]  # the climb, by plain arithmetic
    report = diagnose.check([str(folder)])
    late = [f for f in report.findings if f.rule == "DG104"]
    assert late and f"lowest at step {int(best['step'])}" in late[0].message


def test_public_history_of_plural_lists_is_judged() -> None:
    # a public JSON history (w60d-sp500-lstm) of ``train_losses`` and ``val_losses``: nothing was
    # read, and the run was "not checked" with its one validation spike unseen
    import json

    folder = REAL / "w60d-sp500-lstm"
    hist = json.loads(next(folder.rglob("training_history.json")).read_text())
    val = hist["val_losses"]
    run = diagnose.load_all(folder)[0]
    assert np.array_equal(run.arrays("val/loss")[1], np.asarray(val, dtype=float))
    assert np.array_equal(run.arrays("train/loss")[1], np.asarray(hist["train_losses"], dtype=float))
    i = int(np.argmax(val))  # the spike, by plain arithmetic: far above both neighbours
    assert val[i] > 5 * max(val[i - 1], val[i + 1])
    report = diagnose.check([str(folder)])
    assert "loss_spikes" in {f.pattern for f in report.findings}
