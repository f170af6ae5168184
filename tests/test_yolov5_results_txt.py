"""YOLOv5 before v6.0 wrote ``results.txt``: no header, 15 whitespace-separated cells per epoch.

Public YOLOv5 runs committed with only that file were "no training runs found"; a run whose
validation loss turned up after epoch 8 was never judged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

#: a public YOLOv5 run (bench/real-runs, tuning half), its results.txt as the trainer wrote it
RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w53a-yolohelmet" / "runs" / "train" / "exp2"


def _cells() -> list[list[str]]:
    return [line.split() for line in (RUN / "results.txt").read_text().splitlines() if line.strip()]


def test_results_txt_is_a_yolo_run_with_summed_losses():
    (run,) = diagnose.load_all(RUN.parent.parent)
    rows = _cells()
    assert run.format == "yolo" and run.id == "train/exp2"
    steps, val = run.arrays("val/loss")
    assert np.array_equal(steps, [int(r[0].split("/")[0]) for r in rows])
    assert np.allclose(val, [float(r[12]) + float(r[13]) + float(r[14]) for r in rows])
    _, train = run.arrays("train/loss")
    assert np.allclose(train, [float(r[2]) + float(r[3]) + float(r[4]) for r in rows])
    _, obj = run.arrays("val/obj_loss")
    assert np.allclose(obj, [float(r[13]) for r in rows])
    _, m50 = run.arrays("val/mAP_0.5")
    assert np.allclose(m50, [float(r[10]) for r in rows])


def test_a_results_csv_named_directly_is_still_the_csv():
    # a YOLOv8 results.csv given by its own path, with no results.txt beside it
    csv = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "yolo" / "train" / "results.csv"
    (run,) = diagnose.load_all(csv)
    assert run.format == "yolo" and "val/mAP50-95" in run.metric_names


def test_the_rules_judge_it():
    r = CliRunner().invoke(main, ["check", str(RUN)], catch_exceptions=False)
    assert r.exit_code in (0, 1)
    assert "no training runs found" not in r.output and "train/exp2" in r.output


def _line(epoch: int, last: int, fifth: float) -> str:
    cells = [f"{epoch}/{last}", "1.2G", 0.1, 0.05, 0.02, 0.17, 30, 640, 0.5, 0.4, 0.3, fifth,
             0.08 + epoch / 100, 0.04, 0.01]
    return "".join(f"{c:>10}" for c in cells)


def test_a_yolov3_f1_column_is_not_read_as_a_map(tmp_path):
    # ultralytics/yolov3 wrote F1 where YOLOv5 wrote mAP@0.5:0.95; F1 may exceed mAP@0.5
    (tmp_path / "results.txt").write_text("\n".join(_line(e, 4, 0.6) for e in range(5)) + "\n")
    (run,) = diagnose.load_all(tmp_path)
    assert "val/mAP_0.5:0.95" not in run.metric_names and "val/mAP_0.5" in run.metric_names


def test_a_torn_last_line_and_a_stray_line(tmp_path):
    lines = [_line(e, 9, 0.2) for e in range(6)]
    lines.insert(3, "Resuming training from exp2/weights/last.pt")
    (tmp_path / "results.txt").write_text("\n".join(lines) + "\n" + _line(6, 9, 0.2)[:40])
    (run,) = diagnose.load_all(tmp_path)
    assert len(run.arrays("val/loss")[0]) == 6 and run.in_progress
    assert any("results.txt:4" in w and "skipped" in w for w in run.warnings)


def test_yolov5_settings_files_are_the_params(tmp_path):
    (tmp_path / "results.txt").write_text("\n".join(_line(e, 4, 0.2) for e in range(5)) + "\n")
    (tmp_path / "opt.yaml").write_text("batch_size: 16\nepochs: 5\n")
    (tmp_path / "hyp.yaml").write_text("lr0: 0.01\nmomentum: 0.937\n")
    (run,) = diagnose.load_all(tmp_path)
    assert run.params.get("batch_size") == 16 and run.params.get("lr") == 0.01
