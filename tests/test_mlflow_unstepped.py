"""``mlflow.log_metric(key, value)`` with no ``step`` writes every value at step 0: the whole
curve collapsed into its last value and the run "passed" on one point (a public MLflow store,
w41a-plantffnn-3c70, 100 epochs at step 0). Such a metric is read in its logging order."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import diagnose


def _store(root: Path, lines_by_key: dict[str, list[str]]) -> Path:
    run = root / "mlruns" / "1" / "0123abcd"
    (run / "metrics").mkdir(parents=True)
    (root / "mlruns" / "1" / "meta.yaml").write_text(
        "artifact_location: mlruns/1\nexperiment_id: '1'\nlifecycle_stage: active\nname: e\n")
    (run / "meta.yaml").write_text(
        "artifact_uri: mlruns/1/0123abcd/artifacts\nend_time: 1700000100000\nexperiment_id: '1'\n"
        "lifecycle_stage: active\nrun_id: 0123abcd\nrun_name: r\nstart_time: 1700000000000\n"
        "status: 3\nuser_id: u\n")
    for key, lines in lines_by_key.items():
        (run / "metrics" / key).write_text("".join(line + "\n" for line in lines))
    return root / "mlruns"


def test_a_metric_logged_without_steps_is_read_in_logging_order(tmp_path):
    # the file store's line format, 'timestamp value step', every step 0, as MLflow writes it
    loss = [math.log(10) * (0.6 + 0.4 * 0.8 ** i) for i in range(30)]
    store = _store(tmp_path, {"loss": [f"{1700000000000 + 1000 * i} {v} 0" for i, v in enumerate(loss)],
                              "val_loss": [f"{1700000000500 + 1000 * i} {v * 1.05} 0"
                                           for i, v in enumerate(loss)]})
    run, = diagnose.load_all(store)
    steps, values = run.arrays("train/loss")
    assert list(steps) == list(range(30)) and list(values) == pytest.approx(loss)
    assert any("numbered in the order they were logged" in w for w in run.warnings)


def test_real_steps_are_kept(tmp_path):
    store = _store(tmp_path, {"loss": [f"{1700000000000 + i} {1.0 / (i + 1)} {10 * i}" for i in range(5)]})
    run, = diagnose.load_all(store)
    assert list(run.arrays("train/loss")[0]) == [0, 10, 20, 30, 40]
    assert not any("numbered" in w for w in run.warnings)


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_mlflow_itself_logging_without_steps(tmp_path, backend, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store opt-in
    uri = (tmp_path / "mlruns").as_uri() if backend == "file" else f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("no-steps")
        with mlflow.start_run():
            for i in range(12):
                mlflow.log_metric("loss", 2.0 * 0.8 ** i)  # no step: MLflow writes step 0
    finally:
        mlflow.set_tracking_uri(None)
    run, = diagnose.load_all(tmp_path / ("mlruns" if backend == "file" else "mlflow.db"))
    steps, values = run.arrays("train/loss")
    assert list(steps) == list(range(12))
    assert list(values) == pytest.approx([2.0 * 0.8 ** i for i in range(12)])
