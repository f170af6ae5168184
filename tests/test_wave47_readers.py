"""Shapes found unread in the public batch of wave 47 (w61), each read as its writer meant it:

- AllenNLP's trainer logs a table per epoch, one column per split (``loss | 1.581 | 1.572``
  under ``Training | Validation``), after an ``Epoch N/M`` line: two public SST logs read as
  no run at all;
- a JSON history with one object per split (``{"train": {"loss": [...]}, "val": {...}}``) read
  as a file with no per-epoch list;
- a summed loss named ``train_loss_sum`` beside its parts (``train_cls_loss``, ...) was not the
  train loss, so a flat public lane-detection run was not judged.

Values are checked against the raw files with parsers written here, not through the readers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.run import canonical_name

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _allennlp_tables(text: str) -> dict[str, list[tuple[int, float]]]:
    """(epoch, value) per split and name, read the plain way: the last ``Epoch N/`` line,
    then the rows under the split header."""
    out: dict[str, list[tuple[int, float]]] = {}
    epoch, inside = None, False
    for line in text.splitlines():
        body = line.split(" - ")[-1]
        m = re.search(r"Epoch (\d+)/", body)
        if m:
            epoch, inside = int(m.group(1)), False
            continue
        if re.fullmatch(r"\s*Training \|\s+Validation\s*", body):
            inside = True
            continue
        row = re.fullmatch(r"\s*(\w+)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*", body) if inside else None
        if row is None:
            inside = False
            continue
        for split, cell in (("train", row.group(2)), ("val", row.group(3))):
            if cell != "N/A":
                out.setdefault(f"{split}_{row.group(1)}", []).append((epoch, float(cell)))
    return out


@pytest.mark.parametrize("run_id", ["w61a-enesozi-sst-baseline", "w61a-enesozi-sst-elmo"])
def test_allennlp_split_tables_are_read_per_epoch(run_id: str) -> None:
    log = next((REAL / run_id).rglob("*.log"))
    want = _allennlp_tables(log.read_text())
    assert len(want["val_loss"]) >= 10
    run = diagnose.load(log)
    for raw, name in (("train_loss", "train/loss"), ("val_loss", "val/loss"),
                      ("train_accuracy", "train/acc"), ("val_accuracy", "val/acc")):
        steps, values = run.arrays(name)
        assert steps.tolist() == [e for e, _ in want[raw]], raw
        assert np.allclose(values, [v for _, v in want[raw]]), raw


def test_a_split_table_after_no_epoch_line_and_n_a_cells(tmp_path: Path) -> None:
    """Cells of ``N/A`` are no value; a table with no ``Epoch`` line before it (the summary a
    script prints at its end) and one that repeats an epoch are not records."""
    rows = []
    for e, (tl, vl) in enumerate([(1.6, 1.55), (1.2, 1.4), (0.9, 1.35), (0.7, 1.38)]):
        rows += [f"INFO - trainer - Epoch {e}/9", "INFO - writer -        Training |  Validation",
                 f"INFO - writer - loss          |  {tl:.3f}  |  {vl:.3f}",
                 "INFO - writer - cpu_memory_MB |  2140.5  |  N/A",
                 f"INFO - writer - accuracy      |  {0.3 + e / 10:.3f}  |  N/A"]
    rows += ["INFO - trainer - Epoch 3/9", "INFO - writer -        Training |  Validation",
             "INFO - writer - loss          |  0.111  |  9.999"]  # the same epoch again
    rows += ["INFO - done", "        Training |  Validation", "loss   |  0.5  |  1.3"]
    p = tmp_path / "train.log"
    p.write_text("\n".join(rows) + "\n")
    run = diagnose.load(p)
    s, v = run.arrays("val/loss")
    assert s.tolist() == [0, 1, 2, 3] and np.allclose(v, [1.55, 1.4, 1.35, 1.38])
    s, v = run.arrays("train/acc")
    assert np.allclose(v, [0.3, 0.4, 0.5, 0.6])
    assert "val/acc" not in set(run.metrics["metric"])


def test_a_history_with_one_object_per_split_is_read() -> None:
    path = REAL / "w61d-gruxnet-eeg" / "outputs" / "training_history.json"
    raw = json.loads(path.read_text())
    run = diagnose.load(path)
    for split, key, name in (("train", "loss", "train/loss"), ("val", "loss", "val/loss"),
                             ("train", "accuracy", "train/acc"), ("val", "accuracy", "val/acc")):
        _, values = run.arrays(name)
        assert np.allclose(values, raw[split][key]), (split, key)


def test_settings_objects_beside_split_objects_are_not_curves(tmp_path: Path) -> None:
    data = {"train": {"loss": [1.0, 0.8, 0.7, 0.65]}, "val": {"loss": [1.1, 0.9, 0.85, 0.86],
                                                            "labels": []},
            "config": {"lr": 0.001, "milestones": [10, 20, 30]}, "best_val_loss": 0.85}
    p = tmp_path / "training_history.json"
    p.write_text(json.dumps(data))
    run = diagnose.load(p)
    assert set(run.metrics["metric"]) == {"train/loss", "val/loss"}
    assert float(run.params["lr"]) == 0.001


@pytest.mark.parametrize("raw, name", [
    ("train_loss_sum_step", "train/loss"), ("train_loss_sum_epoch", "train/loss"),
    ("train_total_loss", "train/loss"), ("train_loss_total", "train/loss"),
    ("val_loss_sum", "val/loss"), ("val_loss_total", "val/loss"),
])
def test_a_summed_loss_is_the_loss(raw: str, name: str) -> None:
    assert canonical_name(raw) == name


@pytest.mark.parametrize("raw", ["total_norm_sum", "train_total_acc", "sum_of_weights"])
def test_sum_and_total_are_dropped_only_from_a_loss(raw: str) -> None:
    assert canonical_name(raw) != "train/loss"
    assert canonical_name(raw) == raw or raw == "total_norm_sum"


def test_public_lane_detection_run_with_a_summed_loss_is_judged_flat() -> None:
    """Labelled flat from its plot (its summed train loss 14.6 -> 15.1 over 3,704 steps); the
    loss is read from ``train_loss_sum_step`` and the run is no longer left unjudged."""
    report = diagnose.check(REAL / "w61c-lanedet-v1")
    assert "flat_loss" in {f.pattern for f in report.findings}


@pytest.mark.parametrize("group", ["stats", "scores"])
def test_split_objects_named_with_a_group_word_read_like_per_epoch_dicts(
        tmp_path: Path, group: str) -> None:
    """``{"val_stats": {"loss": [...]}}`` is the same history as ``[{"loss": ...}, ...]`` under
    ``val_stats``: both shapes drop the group word, so both read as ``val/loss``."""
    raw = json.loads((REAL / "w61d-gruxnet-eeg" / "outputs" / "training_history.json").read_text())
    keys = ("loss", "accuracy")
    objects = {f"{split}_{group}": {k: raw[split][k] for k in keys} for split in ("train", "val")}
    rows = {f"{split}_{group}": [dict(zip(keys, epoch)) for epoch in zip(
        *(raw[split][k] for k in keys))] for split in ("train", "val")}
    for shape, data in (("objects", objects), ("rows", rows)):
        p = tmp_path / shape / "training_history.json"
        p.parent.mkdir()
        p.write_text(json.dumps(data))
        run = diagnose.load(p)
        assert not [w for w in run.warnings if "one more word" in w], run.warnings
        for split, key, name in (("train", "loss", "train/loss"), ("val", "loss", "val/loss"),
                                 ("train", "accuracy", "train/acc"),
                                 ("val", "accuracy", "val/acc")):
            _, values = run.arrays(name)
            assert np.allclose(values, raw[split][key]), (shape, split, key)
