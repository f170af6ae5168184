"""A generalization gap shown by an accuracy-like score (IoU, dice, F1) when no accuracy is logged.

Segmenters and imbalanced classifiers log a score per split instead of an accuracy. A public
Lightning Flash UNet (bench/real-runs/w91l-camvid-flash-seg, tuning half, labelled a gap from
its plot before diagnose ran on it) ended at mean IoU 0.41 on train and 0.24 on validation while
its validation cross-entropy sat under twice the train one: `check` said "All checks passed".
A public healthy segmenter whose IoUs end close (bench/real-runs/w22c-muadseg) stays clean.
The gaps the tests expect are read off the CSV cells, not from diagnose.
"""

from __future__ import annotations

import csv
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _last(path: Path, column: str) -> float:
    with open(path, newline="") as f:
        return [float(r[column]) for r in csv.DictReader(f) if r[column] != ""][-1]


def _gap_findings(run_dir: Path) -> list[diagnose.Finding]:
    report = diagnose.check(diagnose.load_all(str(run_dir)))
    return [f for f in report.findings if f.rule == "DG103"]


def test_an_iou_gap_is_a_generalization_gap() -> None:
    run_dir = RUNS / "w91l-camvid-flash-seg"
    (path,) = run_dir.rglob("metrics.csv")
    train_iou = _last(path, "train_multiclassjaccardindex_epoch")
    val_iou = _last(path, "val_multiclassjaccardindex")
    assert train_iou - val_iou > 0.15  # what the log says, before any smoothing
    (finding,) = _gap_findings(run_dir)
    assert finding.severity == "warning"
    assert "multiclassjaccardindex" in finding.message
    assert f"{val_iou:.2g}" in finding.message  # the validation score it quotes is the log's


def test_close_scores_on_a_healthy_segmenter_make_no_gap() -> None:
    run_dir = RUNS / "w22c-muadseg"
    path = run_dir / "training_history.csv"
    assert abs(_last(path, "train_miou") - _last(path, "val_miou")) < 0.1
    assert not _gap_findings(run_dir)
