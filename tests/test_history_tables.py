"""Per-epoch tables without an epoch column are read, whatever the losses are called.

A hand-written loop that saves ``train_loss,train_acc,val_loss,val_acc`` one row per epoch,
and ``pandas.DataFrame(history).to_csv(path)`` with its unnamed index column, are common
ways people keep curves; both used to end in "no training runs found".
"""

from pathlib import Path

import numpy as np
import pandas as pd

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "t11c-emodet-hist" / "training_history.csv"


def test_a_public_per_epoch_table_without_epoch_column_is_read():
    raw = pd.read_csv(REAL)
    assert "epoch" not in raw.columns and {"train_loss", "val_loss"} <= set(raw.columns)
    run = diagnose.load(REAL)
    steps, val = run.arrays("val/loss")
    assert list(steps) == list(range(len(raw)))
    np.testing.assert_allclose(val, raw["val_loss"].to_numpy())
    report = diagnose.check(REAL)
    assert not report.errors and len(report.runs) == 1


def test_pandas_unnamed_index_column_is_the_epoch(tmp_path):
    raw = pd.read_csv(REAL).rename(columns={"train_loss": "loss"})
    path = tmp_path / "history.csv"
    raw.to_csv(path)  # pandas writes its index as an unnamed first column
    assert path.read_text().startswith(",loss,")
    run = diagnose.load(path)
    assert "" not in run.metric_names and set(run.metric_names) >= {"train/loss", "val/loss"}
    steps, train = run.arrays("train/loss")
    assert list(steps) == list(range(len(raw)))
    np.testing.assert_allclose(train, raw["loss"].to_numpy())


def test_camel_case_loss_columns_of_a_public_history_are_read():
    # a public pandas history (bench/real-runs/w18d-maebioseq) names its curves Loss and ValLoss,
    # with pandas's unnamed index first; read as "no training runs found" before
    path = REAL.parents[1] / "w18d-maebioseq" / "training_history.csv"
    raw = pd.read_csv(path, index_col=0)
    assert {"Loss", "ValLoss"} <= set(raw.columns)
    run = diagnose.load(path)
    steps, val = run.arrays("val/loss")
    assert list(steps) == list(raw.index)
    np.testing.assert_allclose(val, raw["ValLoss"].to_numpy())
    np.testing.assert_allclose(run.arrays("train/loss")[1], raw["Loss"].to_numpy())
