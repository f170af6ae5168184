"""Keras names its accuracy after the metric object (``categorical_accuracy``, ...): read as the
train and validation accuracy (and ultralytics' TensorBoard top-1 as the validation accuracy), and a K read off such an accuracy must agree with the loss."""

from __future__ import annotations

import csv
import math
from pathlib import Path

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
