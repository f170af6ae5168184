"""A held-out loss under a name of its own is read as the validation loss when the log has no
other: a regression loop's ``val_mse`` beside ``train_loss`` (a classifier's ``val_cross_entropy``
likewise), a TF2 homework's ``test/v_loss`` (``v_`` its shorthand for held-out), a segmentation
run's ``Test loss (avg on test)``. Each was "not checked: generalization_gap, late_overfitting (no
val/loss)" on a public run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _tb_truth import event_scalars as _scalars

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_a_validation_mse_beside_a_train_loss_is_the_validation_loss() -> None:
    # public California-housing MLP (w33a-tinymlc-housing): early stopping 5 epochs after the
    # best validation MSE, which rose 0.562 -> 0.644 while the train loss kept falling
    path = RUNS / "w33a-tinymlc-housing" / "data" / "processed" / "training_history.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    val = [float(r["val_mse"]) for r in rows]
    train = [float(r["train_loss"]) for r in rows]
    best = val.index(min(val))
    assert 0 < best < len(val) - 2 and val[-1] > min(val) * 1.1 and train[-1] < train[best]
    run = diagnose.load(path)
    assert run.arrays("val/loss")[1].tolist() == val
    assert "val_rmse" in run.metric_names  # the other error stays itself
    assert any("'val_mse' read as 'val/loss'" in w for w in run.warnings)
    found = {f.rule for f in diagnose.check([str(path)]).findings}
    assert "DG104" in found


def test_a_validation_mse_beside_a_validation_loss_stays_a_metric(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss,val_mse\n0,1.0,1.1,1.1\n1,0.8,0.9,0.9\n2,0.7,0.8,0.8\n")
    run = diagnose.load(path)
    assert run.arrays("val/loss")[1].tolist() == [1.1, 0.9, 0.8]
    assert "val_mse" in run.metric_names


def test_a_validation_cross_entropy_beside_a_train_loss_is_the_validation_loss() -> None:
    # public chord-prediction GAT (w77d-chord-gat): a JSON history of ``train_loss`` beside
    # ``val_cross_entropy``, ``val_top1_acc`` and ``val_top5_acc``; its validation was not read
    path = RUNS / "w77d-chord-gat" / "results" / "gat_history.json"
    rows = json.loads(path.read_text())
    run = diagnose.load(path)
    assert run.arrays("val/loss")[1].tolist() == [r["val_cross_entropy"] for r in rows]
    assert run.arrays("train/loss")[1].tolist() == [r["train_loss"] for r in rows]
    assert any("'val_cross_entropy' read as 'val/loss'" in w for w in run.warnings)


def test_a_validation_cross_entropy_beside_a_validation_loss_stays_a_metric(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss,val_cross_entropy\n0,1.0,1.2,1.1\n1,0.8,1.0,0.9\n"
                    "2,0.7,0.9,0.8\n")
    run = diagnose.load(path)
    assert run.arrays("val/loss")[1].tolist() == [1.2, 1.0, 0.9]
    assert "val_cross_entropy" in run.metric_names


@pytest.mark.parametrize("run_dir, tag", [
    ("w41b-tfhw06-cifar/Homework06/logs/all/20221211-005823", "test/v_loss"),
    ("w36b-petsdeeplab-lr7e5/deeplabv3_resnet101/runs/DeepLabV3ResNet_lr7e_5",
     "Test loss (avg on test)"),
])
def test_a_test_loss_spelled_with_a_shorthand_or_a_remark_is_the_validation_loss(
        run_dir: str, tag: str) -> None:
    d = RUNS / run_dir
    logged = _scalars(d)
    assert tag in logged and not any("val" in t.lower() for t in logged)
    run = diagnose.load(d)
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == sorted(logged[tag])
    assert values.tolist() == pytest.approx([logged[tag][s] for s in sorted(logged[tag])], rel=1e-7)


def test_the_tf2_homeworks_test_accuracy_goes_with_its_test_loss() -> None:
    # 41 points between train and test accuracy at the end: a gap the loss alone shows less
    d = RUNS / "w41b-tfhw06-cifar" / "Homework06" / "logs" / "all" / "20221211-005823"
    logged = _scalars(d)
    run = diagnose.load(d)
    assert run.arrays("val/acc")[1].tolist() == pytest.approx(list(logged["test/v_accuracy"].values()),
                                                             rel=1e-7)
    found = {f.rule for f in diagnose.check([str(d)]).findings}
    assert "DG103" in found
