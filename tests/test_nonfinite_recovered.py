"""DG201 on a run that went on after its NaN/inf: the cause printed must fit it (issue 14, case 11).

Two public Ultralytics logs of the tuning split (bench/real-runs): YOLOv5 whose train box and
obj losses are NaN for one epoch and finite after, and a YOLO11 segmenter whose validation losses
are NaN/inf at two warm-up evaluations while training stays finite.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _nonfinite_cells(path: Path, column: str) -> int:
    with open(path, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    return sum(not math.isfinite(float(r[column])) for r in rows)


def _dg201(path: Path):
    (finding,) = [f for f in diagnose.check([str(path)]).findings if f.rule == "DG201"]
    return finding


def test_a_train_nan_the_run_survived_is_told_as_survived():
    log = RUNS / "t10c-boltsnuts-exp2" / "results.csv"
    n = _nonfinite_cells(log, "train/box_loss")
    assert n == 1
    f = _dg201(log.parent)
    assert f.severity == "error"
    assert "the run survived" in f.cause and "divergence too fast" not in f.cause
    assert f"train/box_loss: {n} of" in f.message and "finite again" in f.message


def test_a_validation_overflow_is_told_as_an_evaluation_fault():
    log = RUNS / "w40d-3dv-seg11" / "runs" / "segment" / "train11" / "results.csv"
    assert _nonfinite_cells(log, "val/cls_loss") >= 1 and _nonfinite_cells(log, "train/cls_loss") == 0
    f = _dg201(log.parent)
    assert "in evaluation" in f.cause and "validation batch" in f.cause


def test_a_curve_that_ends_nan_keeps_the_fault_cause(tmp_path):
    # the validation loss is NaN at its last evaluation: nothing says the run got past it
    with open(tmp_path / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "train_loss", "val_loss"])
        for i, (t, v) in enumerate([(0.9, 1.0), (0.8, 0.9), (0.75, 0.85), (0.7, 0.8), (0.68, 0.78),
                                    (0.66, 0.77), (0.65, float("nan"))]):
            w.writerow([i, t, v])
    f = _dg201(tmp_path)
    assert "survived" not in f.cause and "training did not share" not in f.cause
    assert "finite again" not in f.message
