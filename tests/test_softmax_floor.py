"""A validation loss that cannot be a plain cross-entropy beside its accuracy (a softmax applied
twice: Ultralytics classification before 8.3.39), under a train loss that went lower than such a
loss can, is DG225's information, not DG103's gap: a public YOLO classifier at top-1 0.999 had a
warning whose own cause said "likely no gap at all"."""

from __future__ import annotations

import diagnose
from diagnose import Run

#: a public Ultralytics classification log (Ikbarsf/ComputerVision_Training_Dataset at b9b070b,
#: runs/classify/train/results.csv, 50 epochs; outside bench/real-runs): validation top-1 0.71 ->
#: 0.99 while the validation loss sits at 2.94 -> 2.50, 25x the train loss
TRAIN_LOSS = [2.4718, 1.0798, 0.83482, 0.69819, 0.6138, 0.54022, 0.49226, 0.44511, 0.41935, 0.38739, 0.35266, 0.34344, 0.30726, 0.29734, 0.30604, 0.27357, 0.26604, 0.2434, 0.23736, 0.22513, 0.21714, 0.21179, 0.20509, 0.19346, 0.2005, 0.20114, 0.17356, 0.15727, 0.16692, 0.15445, 0.15801, 0.1508, 0.14504, 0.1437, 0.12936, 0.12071, 0.12414, 0.13174, 0.12687, 0.11775, 0.11211, 0.11216, 0.10167, 0.10307, 0.10823, 0.10227, 0.10197, 0.10289, 0.09687, 0.0986]
VAL_ACC = [0.71138, 0.81389, 0.87314, 0.90367, 0.91058, 0.91821, 0.93384, 0.94547, 0.94693, 0.95456, 0.95856, 0.96001, 0.96583, 0.97201, 0.9691, 0.97419, 0.97419, 0.97419, 0.97455, 0.97419, 0.97637, 0.98001, 0.97855, 0.98546, 0.98292, 0.98037, 0.98073, 0.98546, 0.98401, 0.98255, 0.98146, 0.98619, 0.98437, 0.98764, 0.98728, 0.98655, 0.98728, 0.988, 0.98619, 0.988, 0.98655, 0.98691, 0.98764, 0.98946, 0.98873, 0.98837, 0.98837, 0.98909, 0.98946, 0.99055]
VAL_LOSS = [2.9378, 2.7683, 2.6863, 2.649, 2.6267, 2.6155, 2.591, 2.5744, 2.5685, 2.5591, 2.5491, 2.5507, 2.5426, 2.5369, 2.5429, 2.5361, 2.5302, 2.527, 2.5262, 2.5269, 2.5232, 2.5189, 2.5201, 2.5149, 2.5154, 2.5154, 2.5142, 2.5103, 2.5106, 2.5131, 2.5118, 2.5083, 2.5094, 2.5063, 2.5066, 2.5058, 2.505, 2.5051, 2.5061, 2.5046, 2.5053, 2.5047, 2.5042, 2.5033, 2.5032, 2.503, 2.5027, 2.5026, 2.5027, 2.5024]


def _found(series: dict, code: str) -> diagnose.Finding:
    report = diagnose.check([Run.from_series(series)])
    found = [f for f in report.findings if f.rule == code]
    assert len(found) == 1, [f.rule for f in report.findings]
    return found[0]


def _gap(series: dict) -> diagnose.Finding:
    return _found(series, "DG103")


def test_a_loss_beyond_its_accuracy_is_said_not_comparable_and_no_gap():
    series = {"train/loss": TRAIN_LOSS, "val/loss": VAL_LOSS, "val/acc": VAL_ACC}
    f = _found(series, "DG225")
    assert f.severity == "info"
    assert "8.3.39" in f.cause and "Compare the splits on accuracy" in f.next_experiment
    # the numbers it quotes are the log's: the accuracy of the last evaluations, the lowest loss
    assert f"{sorted(VAL_ACC[-3:])[1]:.3g}" in f.message and f"{min(VAL_LOSS):.4g}" in f.message
    assert [r["kind"] for r in f.next_run] == ["inspect"]
    assert not [g for g in diagnose.check([Run.from_series(series)]).findings if g.rule == "DG103"]


def test_a_real_gap_keeps_the_overfitting_cause():
    # the same losses with a validation accuracy that falls short (0.80): the loss is what a
    # cross-entropy gives (2.5 / 0.2 = 12.5 nats on the misclassified fifth), so a gap
    acc = [min(a, 0.80) for a in VAL_ACC]
    f = _gap({"train/loss": TRAIN_LOSS, "val/loss": VAL_LOSS, "val/acc": acc})
    assert f.cause.startswith("Overfitting")


def test_a_train_accuracy_well_above_validation_keeps_the_overfitting_cause():
    # validation top-1 at 0.90 (2.5 nats over the misclassified tenth: 25 > 20) beside a train
    # accuracy of 1.0: the splits differ on accuracy too, so the loss gap is taken as real
    val_acc = [min(a, 0.90) for a in VAL_ACC]
    f = _gap({"train/loss": TRAIN_LOSS, "val/loss": VAL_LOSS, "val/acc": val_acc,
              "train/acc": [1.0] * len(TRAIN_LOSS)})
    assert f.cause.startswith("Overfitting")
