"""Two loggers of the public batch of wave 60 (w82e) that no reader claimed, so ``check`` said
"no training runs found" for a folder holding a whole run:

- Sacred's ``FileStorageObserver`` folder (``<basedir>/<n>/metrics.json`` of per-metric
  ``steps``/``timestamps``/``values`` lists, ``config.json`` beside it);
- a DVCLive folder (``dvclive/plots/metrics/<split>/<name>.tsv``, ``params.yaml`` beside it),
  each metric file read before as a run of its own, train and validation never together.

A Sacred metric logged without a step counts its own calls, so a train loss logged twice an
epoch and a validation loss logged once would not line up by their counters: Sacred's
timestamps line them up. Values are checked against the raw files with parsers written here.
"""

from __future__ import annotations

import bisect
import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
SACRED_OVERFIT = REAL / "w82e-offenseval-run14"
SACRED_NAN = REAL / "w82e-music-lds-jsb-nan"
SACRED_HEALTHY = REAL / "w82e-tgne-sacred-run8"
DVC_GAP = REAL / "w82e-load-forecast-dvclive"
DVC_FLAT = REAL / "w82e-hardnet-dvclive"


def _only_run(path: Path):
    runs = diagnose.load_all(path)
    assert len(runs) == 1, [r.id for r in runs]
    return runs[0]


def _sacred(folder: Path) -> dict:
    return json.loads(next(folder.rglob("metrics.json")).read_text(encoding="utf-8"))


def _close(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))
                                              | np.isclose(a, b)))


def test_a_sacred_folder_is_one_run_with_its_splits_and_its_config() -> None:
    raw = _sacred(SACRED_OVERFIT)
    run = _only_run(SACRED_OVERFIT)
    for name, canon in (("Train.loss", "train/loss"), ("Validation.loss", "val/loss"),
                        ("Validation.accuracy", "val/acc")):
        steps, values = run.arrays(canon)
        assert steps.tolist() == raw[name]["steps"], name
        assert _close(values, raw[name]["values"]), name
    config = json.loads(next(SACRED_OVERFIT.rglob("config.json")).read_text(encoding="utf-8"))
    assert run.params.get("lr") == config["learning_rate"]
    assert run.params.get("seed") == config["seed"]


def test_sacred_metrics_logged_at_different_rates_line_up_by_their_timestamps() -> None:
    raw = _sacred(SACRED_NAN)
    train, val = raw["trainLoss"], raw["validLoss"]
    assert len(train["values"]) == 2 * len(val["values"])  # what is tested: two rates
    assert train["steps"] == list(range(len(train["values"])))  # counted calls, no steps given
    stamp = [datetime.fromisoformat(t).timestamp() for t in train["timestamps"]]
    expected = [bisect.bisect_right(stamp, datetime.fromisoformat(t).timestamp()) - 1
                for t in val["timestamps"]]
    run = _only_run(SACRED_NAN)
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == expected and expected[-1] > len(val["values"])
    assert _close(values, val["values"])
    assert run.arrays("train/loss")[0].tolist() == train["steps"]
    assert any("timestamp" in w for w in run.warnings)


def test_a_sacred_run_that_turned_nan_and_one_that_overfit_get_their_findings() -> None:
    """Not read at all before: "no training runs found"."""
    found = {r: {f.rule for f in diagnose.check(r).findings}
             for r in (SACRED_NAN, SACRED_OVERFIT, SACRED_HEALTHY)}
    assert "DG210" in found[SACRED_NAN], found
    assert {"DG103", "DG104"} <= found[SACRED_OVERFIT], found
    assert not any(f.severity in ("warning", "error")
                   for f in diagnose.check(SACRED_HEALTHY).findings)


def _tsv(f: Path) -> list[tuple[int, float]]:
    with open(f, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    at = rows[0].index("step")
    col = next(i for i, h in enumerate(rows[0]) if h not in ("step", "timestamp"))
    return [(int(r[at]), float(r[col])) for r in rows[1:]]


def test_a_dvclive_folder_is_one_run_with_its_train_and_eval_curves() -> None:
    root = next(DVC_GAP.rglob("plots")) / "metrics"
    run = _only_run(DVC_GAP)
    for rel, canon in (("train/loss.tsv", "train/loss"), ("eval/loss.tsv", "val/loss"),
                       ("eval/root_mean_squared_error.tsv", "eval/root_mean_squared_error")):
        expected = _tsv(root / rel)
        steps, values = run.arrays(canon)
        assert steps.tolist() == [s for s, _ in expected], rel
        assert np.allclose(values, [v for _, v in expected]), rel
    found = {f.rule for f in diagnose.check(DVC_GAP).findings}
    assert {"DG103", "DG104"} <= found, found


def test_a_dvclive_epoch_file_is_the_epoch_axis_and_params_yaml_the_params() -> None:
    root = next(DVC_FLAT.rglob("plots")) / "metrics"
    epochs = dict(_tsv(root / "epoch.tsv"))
    run = _only_run(DVC_FLAT)
    assert "epoch" not in run.metric_names
    frame = run.metrics[run.metrics["metric"] == "train/loss"]
    assert len(frame) > 10 and any(int(s) in epochs for s in frame["step"])
    assert [epochs.get(int(s), np.nan) for s in frame["step"]] == pytest.approx(
        frame["epoch"].tolist(), nan_ok=True)
    params = (next(DVC_FLAT.rglob("params.yaml"))).read_text(encoding="utf-8")
    assert f"lr: {run.params['lr']}" in params


def test_bad_rows_name_the_file_and_line(tmp_path: Path) -> None:
    d = tmp_path / "dvclive" / "plots" / "metrics" / "train"
    d.mkdir(parents=True)
    (d / "loss.tsv").write_text("step\tloss\n0\t1.0\n1.5\t0.9\n", encoding="utf-8")
    with pytest.raises(diagnose.ReadError, match=r"loss\.tsv:line 3: step '1\.5'"):
        diagnose.load(tmp_path / "dvclive")
    s = tmp_path / "runs" / "1"
    s.mkdir(parents=True)
    (s / "metrics.json").write_text(json.dumps(
        {"loss": {"steps": [0, 1], "timestamps": ["2020-01-01T00:00:00"] * 2,
                  "values": [1.0, "oops"]}}), encoding="utf-8")
    with pytest.raises(diagnose.ReadError, match=r"'loss' point 1"):
        diagnose.load(s)
