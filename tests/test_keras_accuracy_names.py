"""Keras names its accuracy after the metric object (``categorical_accuracy``, ...): read as the
train and validation accuracy (and ultralytics' TensorBoard top-1 as the validation accuracy), and a K read off such an accuracy must agree with the loss."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.run import canonical_name

#: a public Keras CSVLogger log (f-macfarlane95/sorghum-id-fgvc-9, history/EfficientNetB4...csv;
#: a tuning-split run of bench/real-runs labelled uniform_predictions and flat_loss from its plot,
#: 100 cultivars by the repository's labels.pkl)
LOG = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w42a-sorghum-b4-stuck"
       / "history" / "EfficientNetB420220420-201423.csv")


def _column(name: str) -> list[float]:
    with open(LOG, newline="") as f:
        return [float(r[name]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("raw, canonical", [
    ("categorical_accuracy", "train/acc"), ("sparse_categorical_accuracy", "train/acc"),
    ("binary_accuracy", "train/acc"), ("val_categorical_accuracy", "val/acc"),
    ("val_sparse_categorical_accuracy", "val/acc"), ("val_binary_accuracy", "val/acc"),
    ("metrics/accuracy_top1", "val/acc"),  # ultralytics' classifier, through its TensorBoard callback
    ("val_acc_top1_epoch", "val/acc"), ("train_acc_top1_epoch", "train/acc"),  # Lightning, top-1
    ("val_acc_top1", "val/acc"), ("train/acc_top1", "train/acc"),
    ("val_acc_top5_epoch", "val_acc_top5_epoch"),  # a top-5 accuracy is not the accuracy
])
def test_keras_metric_object_names_are_accuracies(raw, canonical):
    assert canonical_name(raw) == canonical


def test_the_accuracy_is_read_from_a_real_keras_log():
    run = diagnose.load(LOG)
    assert run.series("val/acc").values.tolist() == pytest.approx(_column("val_categorical_accuracy"))
    assert run.series("train/acc").values.tolist() == pytest.approx(_column("categorical_accuracy"))


def test_an_accuracy_below_one_over_k_does_not_name_more_classes_than_the_loss_allows():
    acc, val = _column("val_categorical_accuracy"), _column("val_loss")
    k_acc = round(1 / acc[-1])
    # the log itself: the accuracy alone reads as 1/160, the loss sits at ln 100, far below ln 160
    assert abs(acc[-1] * k_acc - 1) < 0.05 and k_acc > 150
    assert abs(val[-1] / math.log(100) - 1) < 0.01 and val[-1] < 0.95 * math.log(k_acc)

    findings = diagnose.check([diagnose.load(LOG)]).findings
    said = " ".join(f.message for f in findings)
    assert f"1/{k_acc}" not in said and f"ln({k_acc})" not in said
    assert "DG102" not in {f.rule for f in findings}  # a train loss above a wrong ln K is no blow-up
    assert "uniform_predictions" in {f.pattern for f in findings}  # the frozen accuracy still says so


def test_a_top1_accuracy_gap_is_read_from_a_real_lightning_log():
    # a public Lightning CSV log (bench/real-runs/w9b-imagebind-v23, tuning split): top-1 accuracy
    # logged as ``*_acc_top1_epoch``; validation 0.057 against a batch-level train top-1 of 0.25 (median of its second half)
    path = LOG.parents[2] / "w9b-imagebind-v23"
    run = diagnose.load(path)
    _, val = run.arrays("val/acc")
    _, train = run.arrays("train/acc")
    assert float(val[-1]) < 0.1 and float(np.median(train[len(train) // 2:])) > 3 * float(val[-1])
    gap = [f for f in diagnose.check(path).findings if f.rule == "DG103"]
    assert gap and f"{float(val[-1]):.3g} (validation)" in gap[0].message


#: a real Keras CSVLogger log of a two-output model (fixtures/make_format_fixtures.py
#: keras_multi_output): every metric carries its output's name
MULTI = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "keras_multi_output" / "training.log"


def test_the_one_output_with_an_accuracy_gives_the_model_accuracy():
    with open(MULTI, newline="") as f:
        rows = list(csv.DictReader(f))
    run = diagnose.load(MULTI)
    assert run.series("train/acc").values.tolist() == [float(r["label_accuracy"]) for r in rows]
    assert run.series("val/acc").values.tolist() == [float(r["val_label_accuracy"]) for r in rows]
    assert run.series("train/loss").values.tolist() == [float(r["loss"]) for r in rows]  # the sum
    assert any("multi-output" in n for n in run.warnings)


def _renamed(names: list[str]) -> dict[str, str]:
    from diagnose.readers._frame import rename_map

    return rename_map(dict.fromkeys(names, 5), None)[0]


def test_an_output_accuracy_is_not_read_when_the_model_says_which_accuracy_it_is():
    two = ["loss", "val_loss", "a_loss", "a_accuracy", "val_a_loss", "val_a_accuracy",
           "b_loss", "b_accuracy", "val_b_loss", "val_b_accuracy"]
    assert not {"train/acc", "val/acc"} & set(_renamed(two).values())  # which head is the task's?
    plain = ["loss", "val_loss", "accuracy", "val_accuracy", "a_loss", "a_accuracy", "val_a_loss",
             "val_a_accuracy"]
    assert _renamed(plain)["accuracy"] == "train/acc" and _renamed(plain)["a_accuracy"] == "a_accuracy"
    top = ["loss", "val_loss", "top5_accuracy", "val_top5_accuracy"]  # no loss of its own: no output
    assert not {"train/acc", "val/acc"} & set(_renamed(top).values())
