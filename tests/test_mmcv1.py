"""MMCV 1.x work dirs (MMDetection 2, MMSegmentation 0.x, ...): ``<timestamp>.log.json``.

The fixture is made by real ``EpochBasedRunner``/``IterBasedRunner`` runs of mmcv 1.7.2
(fixtures/make_mmcv1_fixture.py); expected.json holds what its ``TextLoggerHook`` was handed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import diagnose

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "formats" / "mmcv1_json"
EXPECTED = json.loads((CASE / "expected.json").read_text(encoding="utf-8"))["runs"]


@pytest.mark.parametrize("exp", EXPECTED, ids=[e["match"]["id"] for e in EXPECTED])
def test_a_work_dir_reads_back_what_the_hook_was_handed(exp: dict) -> None:
    runs = {r.id: r for r in diagnose.load_all(CASE)}
    run = runs[exp["match"]["id"]]
    assert run.format == exp["format"]
    for k, v in exp["params"].items():
        assert run.params.get(k) == v, (k, run.params)
    for raw, m in exp["metrics"].items():
        name = run.name_map.get(raw, raw)
        steps, values = run.arrays(name)
        assert list(steps) == m["steps"], raw
        assert np.array_equal(values, np.array(m["values"])), raw
        rows = run.metrics[run.metrics["metric"] == name].sort_values("step")
        assert list(rows["epoch"]) == [float(e) for e in m["epochs"]], raw


def test_the_text_twin_of_a_json_log_is_not_a_second_run() -> None:
    assert (CASE / "mlp_epochs" / "20240101_000000.log").is_file()
    runs = diagnose.load_all(CASE)
    assert sorted(r.id for r in runs) == ["mlp_epochs", "mlp_iters"]


def test_an_epoch_based_log_is_read_over_the_run(tmp_path: Path) -> None:
    # within-epoch iterations start again each epoch: the steps must still only go up, and
    # every validation must lie after its epoch's training
    run = diagnose.load(CASE / "mlp_epochs")
    steps, _ = run.arrays("train/loss")
    assert np.all(np.diff(steps) > 0)
    vsteps, _ = run.arrays("val/loss")
    assert list(vsteps) == sorted(set(vsteps))
    assert any("counted within each epoch" in w for w in run.warnings)


def test_a_loss_that_blows_up_in_an_mmcv_log_is_found(tmp_path: Path) -> None:
    work = tmp_path / "faster_rcnn_r50"
    work.mkdir()
    src = CASE / "mlp_epochs" / "20240101_000000.log.json"
    lines = src.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:  # the same run, its training loss growing 10x per record from epoch 4
        rec = json.loads(line)
        if rec["mode"] == "train" and rec["epoch"] >= 4:
            rec["loss"] = rec["loss"] * 10.0 ** ((rec["epoch"] - 4) * 3 + rec["iter"] // 4)
        out.append(json.dumps(rec))
    (work / "20240101_000000.log.json").write_text("\n".join(out) + "\n", encoding="utf-8")
    shutil.copy(CASE / "mlp_epochs" / "20240101_000000.log", work)
    patterns = {f.pattern for f in diagnose.check(work).findings}
    assert "explosion" in patterns


def test_validations_of_an_iteration_run_shorter_than_an_epoch_stay_apart(tmp_path: Path) -> None:
    # an IterBasedRunner that stops inside its first data epoch: every record says epoch 1, and
    # its validations (whose iter counts the validation loader) must not collapse onto one step
    work = tmp_path / "deeplab_short"
    work.mkdir()
    recs = []
    for i in range(1, 41):
        recs.append({"mode": "train", "epoch": 1, "iter": i * 10, "lr": 0.01, "loss": 2.0 / i})
        if i % 10 == 0:
            recs.append({"mode": "val", "epoch": 1, "iter": 50, "lr": 0.01, "mIoU": 0.1 * i})
    (work / "20240101_000000.log.json").write_text(
        "".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    run = diagnose.load(work)
    steps, values = run.arrays("val/mIoU")
    assert list(steps) == [100, 200, 300, 400]
    assert len(values) == 4
