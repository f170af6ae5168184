"""JSON Lines written under a ``.json`` name (detectron2's ``metrics.json``), read from real public
logs (``tests/data/jsonlogs/SOURCES.md``) and checked against the file parsed here with ``json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose import ReadError

DATA = Path(__file__).parent / "data" / "jsonlogs"


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _runs(tmp_path: Path, name: str) -> list[diagnose.Run]:
    d = tmp_path / "output"
    d.mkdir()
    shutil.copy(DATA / name, d / "metrics.json")  # the name detectron2 gives it
    return diagnose.load_all(d)


def test_detectron2_runs_written_into_one_folder_are_told_apart(tmp_path: Path) -> None:
    recs = _records("detectron2-three-runs.json")
    # the runs as the file holds them: a new one wherever the iteration starts again
    parts: list[list[dict]] = []
    for r in recs:
        if not parts or r["iteration"] < parts[-1][-1]["iteration"]:
            parts.append([])
        parts[-1].append(r)
    assert len(parts) == 3
    runs = _runs(tmp_path, "detectron2-three-runs.json")
    assert [r.id.rsplit("#", 1)[1] for r in runs] == ["1", "2", "3"]
    assert any("the step starts again" in w for w in runs[0].warnings)
    for run, part in zip(runs, parts):
        steps, values = run.arrays("train/loss")
        assert steps.tolist() == [r["iteration"] for r in part]
        assert np.array_equal(values, [r["total_loss"] for r in part])
        assert run.name_map["total_loss"] == "train/loss"
        # the mask head's pixel accuracy is no train accuracy of the run, and a part of the
        # train loss is never offered as the validation loss
        assert not run.has("train/acc")
        assert not any("losses under names" in w for w in run.warnings)


def test_detectron2_evaluation_records_keep_their_names(tmp_path: Path) -> None:
    recs = _records("detectron2-with-eval.json")
    (run,) = _runs(tmp_path, "detectron2-with-eval.json")
    train = [r for r in recs if "total_loss" in r]
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [r["iteration"] for r in train]
    assert np.array_equal(values, [r["total_loss"] for r in train])
    ap = [r for r in recs if "bbox/AP" in r]
    assert ap and run.arrays("bbox/AP")[0].tolist() == [r["iteration"] for r in ap]
    assert np.array_equal(run.arrays("bbox/AP")[1], [r["bbox/AP"] for r in ap])


def test_a_json_document_named_metrics_is_not_a_log(tmp_path: Path) -> None:
    d = tmp_path / "model"
    d.mkdir()
    shutil.copy(DATA / "metrics-document.json", d / "metrics.json")
    with pytest.raises(ReadError, match="no training log found"):
        diagnose.load_all(d)


def test_json_lines_with_a_step_under_any_json_name(tmp_path: Path) -> None:
    # one whole record per line, a step key in the first: read; the same records pretty-printed
    # as one JSON array: not claimed
    rows = [{"iteration": i, "total_loss": 2.0 / (i + 1)} for i in range(0, 100, 10)]
    f = tmp_path / "a" / "log.json"
    f.parent.mkdir()
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = diagnose.load(f)
    assert run.arrays("train/loss")[0].tolist() == [r["iteration"] for r in rows]
    g = tmp_path / "b" / "log.json"
    g.parent.mkdir()
    g.write_text(json.dumps(rows, indent=1))
    with pytest.raises(ReadError):
        diagnose.load(g.parent)


def test_only_a_held_out_name_is_offered_as_the_missing_validation_loss(tmp_path: Path) -> None:
    f = tmp_path / "r" / "metrics.csv"
    f.parent.mkdir()
    f.write_text("step,train_loss,loss_cls,holdout_ce_loss\n"
                 + "".join(f"{s},{1 / (s + 1)},{0.5 / (s + 1)},{0.9 / (s + 1)}\n" for s in range(10)))
    (note,) = [w for w in diagnose.load(f).warnings if "losses under names" in w]
    assert "'holdout_ce_loss'" in note and "'loss_cls'" not in note


def test_llamafactory_trainer_log_is_numbered_by_its_current_steps(tmp_path: Path) -> None:
    recs = [json.loads(line) for line in
            (DATA / "llamafactory-trainer-log.jsonl").read_text().splitlines() if line.strip()]
    d = tmp_path / "sft"
    d.mkdir()
    shutil.copy(DATA / "llamafactory-trainer-log.jsonl", d / "trainer_log.jsonl")
    (run,) = diagnose.load_all(d)
    train = [r for r in recs if "loss" in r]
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [r["current_steps"] for r in train]
    assert np.array_equal(values, [r["loss"] for r in train])
    assert run.arrays("lr")[0].tolist() == [r["current_steps"] for r in recs if "lr" in r]


BENCH = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def test_detectron2_validation_hook_losses_are_read_beside_the_total_loss() -> None:
    # a public detectron2 log with a validation hook (tuning split of bench/real-runs)
    f = BENCH / "w43b-sevda-brain-mri" / "train" / "output" / "metrics.json"
    recs = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    run = diagnose.load(f.parent)
    for name, key in (("train/loss", "total_loss"), ("val/loss", "total_val_loss")):
        got = [r for r in recs if key in r]
        assert got and run.arrays(name)[0].tolist() == [r["iteration"] for r in got]
        assert np.array_equal(run.arrays(name)[1], [r[key] for r in got])


def test_llamafactory_progress_keys_are_not_metrics() -> None:
    # a train and an eval record at the same step repeat the progress counters, never a metric
    d = BENCH / "w43c-lora-adapter-stopped" / "lora_adapter"
    recs = [json.loads(line) for line in (d / "trainer_log.jsonl").read_text().splitlines()]
    evals = [r for r in recs if r.get("eval_loss") is not None]
    assert evals and any(r["current_steps"] == e["current_steps"] and "loss" in r
                         for e in evals for r in recs)
    run = diagnose.load(d)
    assert not any("repeated step" in w for w in run.warnings), run.warnings
    assert not {"total_steps", "percentage", "total_tokens"} & set(run.metric_names)
    assert run.arrays("val/loss")[0].tolist() == [r["current_steps"] for r in evals]
