"""DG201's cause fits what the log can show: a NaN that appeared between two logged points
more than a step apart (every 10 steps, once per epoch) may be a divergence that grew and
overflowed unseen, so the finding names both causes; a NaN in a per-step log right after a
normal value is a numerical fault, and one the run was finite again after is one it survived."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

import diagnose

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def _dg201(path: Path, run_id: str) -> diagnose.Finding:
    rep = diagnose.check(path)
    return next(f for f in rep.findings if f.rule == "DG201" and f.run == run_id)


def test_nan_in_a_per_epoch_log_the_run_got_past_is_told_so():
    # the fixture's callback put the NaN in the logs of epoch 3 only: the next epochs are finite,
    # so no divergence overflowed unseen (a model with NaN weights never comes back)
    run = diagnose.load(FORMATS / "keras_csv")
    s, v = run.arrays("train/loss")
    i = int(np.argmin(np.isfinite(v)))
    assert i > 0 and v[i - 1] < v[0] and np.isfinite(v[i + 1:]).all()
    f = _dg201(FORMATS / "keras_csv", run.id)
    assert f.cause.startswith("A numerical fault that the run survived") and "unlogged" not in f.cause


def test_nan_at_the_end_of_a_sparse_log_names_both_causes():
    # a public Lightning run (bench/real-runs/w9c-wsds-v2): logged every 50 steps, NaN at its
    # last row: a fault, or a divergence that grew and overflowed between two logged points
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9c-wsds-v2"
    run = diagnose.load(path)
    s, v = run.arrays("train/loss")
    assert not np.isfinite(v[-1]) and s[-1] - s[-2] > 1
    # the NaN ends the run, so it died there (DG210, which says so instead of DG201)
    (f,) = [f for f in diagnose.check(path).findings if f.rule == "DG210"]
    assert f"{s[-1] - s[-2]} steps went by unlogged" in f.cause
    assert "numerical fault" in f.cause and "climb from normal to overflow" in f.cause


def test_nan_in_a_per_step_log_is_a_numerical_fault():
    runs = {r.id: r for r in diagnose.load_all(FORMATS / "mlflow_file")}
    s, v = runs["sgd-lr0.1"].arrays("train/loss")
    i = int(np.argmin(np.isfinite(v)))
    assert s[i] - s[i - 1] == 1
    f = _dg201(FORMATS / "mlflow_file", "sgd-lr0.1")
    # a fault, not a divergence hidden between logged points; finite again after each NaN/inf
    # (the writer fixture logs 2.0, 1.5, nan, inf, 0.3, -inf, 0.25), so one the run got past
    assert f.cause.startswith("A numerical fault") and "unlogged" not in f.cause
    assert "survived" in f.cause and np.isfinite(v[-1])
    assert "logging the loss every step" in f.next_experiment


def test_a_flat_run_that_ends_in_nan_is_flat_as_well():
    # a public Lightning run (bench/real-runs/w9c-wsds-v2): a per-batch loss logged every 50
    # steps that never moves (noise between 20 and 31) and is NaN at its last row. DG101 read
    # nothing of a run with any NaN in it; the NaN is DG210's, the flat loss before it DG101's.
    path = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w9c-wsds-v2"
    _, v = diagnose.load(path).arrays("train/loss")
    fin = v[np.isfinite(v)]
    assert not np.isfinite(v[-1]) and np.isfinite(v[:-1]).all() and len(fin) > 20
    first, last = np.median(fin[:5]), np.median(fin[-5:])
    assert abs(last - first) < 0.1 * first and fin.max() < 1.6 * fin.min()
    rules = {f.rule for f in diagnose.check(path).findings}
    assert {"DG101", "DG210"} <= rules  # the NaN ends the run: DG210's (wave 74), not DG201's


# -- a run that went on after its NaN/inf: two public Ultralytics logs of the tuning split
# (bench/real-runs): YOLOv5 whose train box and obj losses are NaN for one epoch and finite after,
# and a YOLO11 segmenter whose validation losses are NaN/inf at two warm-up evaluations while
# training stays finite (issue 14, case 11)

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _nonfinite_cells(path: Path, column: str) -> int:
    with open(path, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    return sum(not math.isfinite(float(r[column])) for r in rows)


def test_a_train_nan_the_run_survived_is_told_as_survived():
    log = RUNS / "t10c-boltsnuts-exp2" / "results.csv"
    n = _nonfinite_cells(log, "train/box_loss")
    assert n == 1
    f = _dg201(log.parent, diagnose.load(log.parent).id)
    assert f.severity == "error"
    assert "the run survived" in f.cause and "divergence too fast" not in f.cause
    assert f"train/box_loss: {n} of" in f.message and "finite again" in f.message


def test_a_validation_overflow_is_told_as_an_evaluation_fault():
    log = RUNS / "w40d-3dv-seg11" / "runs" / "segment" / "train11" / "results.csv"
    assert _nonfinite_cells(log, "val/cls_loss") >= 1 and _nonfinite_cells(log, "train/cls_loss") == 0
    f = _dg201(log.parent, diagnose.load(log.parent).id)
    assert "in evaluation" in f.cause and "validation batch" in f.cause


def test_a_curve_that_ends_nan_keeps_the_fault_cause(tmp_path):
    # the validation loss is NaN at its last evaluation: nothing says the run got past it
    with open(tmp_path / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "train_loss", "val_loss"])
        for i, (t, v) in enumerate([(0.9, 1.0), (0.8, 0.9), (0.75, 0.85), (0.7, 0.8), (0.68, 0.78),
                                    (0.66, 0.77), (0.65, float("nan"))]):
            w.writerow([i, t, v])
    f = _dg201(tmp_path, diagnose.load(tmp_path).id)
    assert "survived" not in f.cause and "training did not share" not in f.cause
    assert "finite again" not in f.message
