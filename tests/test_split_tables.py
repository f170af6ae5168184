"""Tables whose split is only in the file name (``val_performance.csv``: ``accuracy,loss``).

A validation table's ``loss`` is the validation loss, not a train loss; sibling tables that differ
only in the split are one run; and a table named for its split needs no step column.
"""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

import diagnose
from diagnose.cli import main

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "formats" / "split_tables"


def _write(path: Path, header: list[str], rows: list[list[float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_a_validation_table_with_an_epoch_column_holds_the_validation_loss() -> None:
    run = diagnose.load(FIXTURE / "solo" / "val_log.csv")
    assert set(run.metric_names) == {"val/loss", "val/acc"}
    assert any("read as the val split" in w for w in run.warnings)


def test_split_tables_in_one_folder_are_one_run_of_that_folder() -> None:
    runs = diagnose.load_all(FIXTURE / "models")
    assert [r.id for r in runs] == ["mlp"]
    assert {"train/loss", "val/loss", "train/acc", "val/acc"} <= set(runs[0].metric_names)
    steps, _ = runs[0].arrays("val/loss")
    assert list(steps) == list(range(8))


def test_a_table_that_names_its_splits_in_its_columns_is_the_whole_log(tmp_path: Path) -> None:
    _write(tmp_path / "train_log.csv", ["epoch", "loss", "val_loss", "lr"],
           [[0, 1.0, 1.1, 0.1], [1, 0.8, 1.0, 0.1]])
    run = diagnose.load(tmp_path / "train_log.csv")
    assert set(run.metric_names) == {"train/loss", "val/loss", "lr"}


def test_a_folder_with_another_metrics_table_is_not_one_run(tmp_path: Path) -> None:
    for split in ("train", "val"):
        _write(tmp_path / f"{split}_history.csv", ["loss"], [[1.0], [0.9]])
    _write(tmp_path / "summary.csv", ["step", "train_loss"], [[0, 1.0], [1, 0.5]])
    runs = diagnose.load_all(tmp_path)
    # summary.csv is a generic name (timm's): that run takes its folder's name
    assert sorted(r.id for r in runs) == sorted([tmp_path.name, "train_history", "val_history"])
    val = next(r for r in runs if r.id == "val_history")
    assert set(val.metric_names) == {"val/loss"}


def test_a_rising_validation_loss_in_split_tables_is_found(tmp_path: Path) -> None:
    run_dir = tmp_path / "models" / "cnn"
    epochs = range(30)
    _write(run_dir / "train_performance.csv", ["Accuracy", "loss"],
           [[0.5 + 0.015 * e, 1.5 * 0.9 ** e] for e in epochs])
    _write(run_dir / "val_performance.csv", ["Accuracy", "loss"],
           [[0.5 + 0.01 * min(e, 8), 1.5 * 0.9 ** min(e, 8) + 0.05 * max(0, e - 8)]
            for e in epochs])
    out = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert out.exit_code != 0, out.output
    assert "All checks passed" not in out.output
    assert "cnn" in out.output
