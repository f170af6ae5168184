"""A validation spike's height is read against the run's scale (its first train loss), not against a
first evaluation of an untrained head that sits far above where the curve settles."""

from __future__ import annotations

import csv
from pathlib import Path

import diagnose

#: a public YOLOv8 detection log (Bilski311/ml-auto-store, runs/detect/train14/results.csv; a
#: tuning-split run of bench/real-runs, labelled loss_spikes from its plot)
RESULTS = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w38a-autostore-train14"
           / "runs" / "detect" / "train14" / "results.csv")


def _column(name: str) -> list[float]:
    with open(RESULTS, newline="") as f:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]
    return [float(r[name]) for r in rows]


def test_a_fivefold_jump_after_a_huge_first_evaluation_is_a_spike():
    val_cls, train_cls = _column("val/cls_loss"), _column("train/cls_loss")
    val = [sum(x) for x in zip(_column("val/box_loss"), val_cls, _column("val/dfl_loss"))]
    # the log itself: the first evaluation is far above the train loss and far above the jump
    assert val_cls[0] > 20 * train_cls[0]
    top = max(range(20, len(val_cls)), key=lambda i: val_cls[i])
    before = val_cls[top - 1]
    assert val_cls[top] > 4 * before and val_cls[top + 1] < 2.5 * before  # up, then back down
    assert val[top] - val[top - 1] < 0.1 * val[0]  # too small against that first value

    found = [f for f in diagnose.check([diagnose.load(RESULTS.parent)]).findings
             if f.rule == "DG207"]
    assert len(found) == 1
    assert found[0].steps[0] == top + 1  # epochs count from 1
    assert f"{val[top]:.4g} at step {top + 1}" in found[0].message
