"""Per-epoch records whose splits hold their own numbers.

A public toy U-Net (bench/real-runs/w80d-unet-toy-seg-slow, labelled slow_convergence from its
plot before diagnose ran on it) stores one record an epoch, ``{"epoch": 1, "train": {"loss":
1.59, "dice": 0.24, ...}, "val": {"loss": 1.57, ...}}``. The history reader took only numbers
at the top of a record, found none, and the run was not read at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
UNET = RUNS / "w80d-unet-toy-seg-slow"


def test_the_public_nested_history_is_read_split_by_split() -> None:
    records = json.loads((UNET / "outputs" / "history.json").read_text())
    run = diagnose.load(str(UNET))
    for split in ("train", "val"):
        steps, values = run.arrays(f"{split}/loss")
        assert list(steps) == [r["epoch"] for r in records]
        assert list(values) == [r[split]["loss"] for r in records]
    _, dice = run.arrays("val_dice")
    assert list(dice) == [r["val"]["dice"] for r in records]


def test_the_public_nested_history_is_still_improving() -> None:
    val = [r["val"]["loss"] for r in json.loads((UNET / "outputs" / "history.json").read_text())]
    tail = val[int(len(val) * 0.8):]  # the last fifth still lowers it by a tenth of its drop
    assert min(val) == val[-1] and (tail[0] - val[-1]) >= 0.1 * (val[0] - val[-1])
    found = {f.pattern for f in diagnose.check(str(UNET)).findings if f.severity != "info"}
    assert "slow_convergence" in found


def test_group_words_and_text(tmp_path: Path) -> None:
    rows = [{"epoch": e, "val_metrics": {"loss": 2.0 / e, "acc": 0.1 * e},
             "train": {"loss": 1.0 / e, "note": "text"}} for e in (1, 2, 3)]
    (tmp_path / "history.json").write_text(json.dumps(rows))
    run = diagnose.load(str(tmp_path / "history.json"))
    _, val = run.arrays("val/loss")
    assert list(val) == [2.0, 1.0, 2.0 / 3]  # ``metrics`` dropped: ``val_loss``
    _, train = run.arrays("train/loss")
    assert list(train) == [1.0, 0.5, 1.0 / 3]
    assert "train/loss" in run.metric_names and not any("note" in n for n in run.metric_names)
