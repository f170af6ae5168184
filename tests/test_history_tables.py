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


def _td_learning_log(path: Path, episodes: int = 60) -> list[float]:
    """A real reinforcement-learning loop: linear TD(0) value learning on a 5-state random
    walk, its mean squared TD error per episode written as an RL script keeps it."""
    rng = np.random.default_rng(0)
    w = np.zeros(7)  # states 0 and 6 are terminal; reward 1 on reaching 6
    losses = []
    for _ in range(episodes):
        s, errs = 3, []
        while s not in (0, 6):
            s2 = s + (1 if rng.random() < 0.5 else -1)
            target = (1.0 if s2 == 6 else 0.0) + (0.0 if s2 in (0, 6) else w[s2])
            err = target - w[s]
            w[s] += 0.1 * err
            errs.append(err * err)
            s = s2
        losses.append(float(np.mean(errs)))
    pd.DataFrame({"episode": range(1, episodes + 1), "average_loss": losses}).to_csv(path, index=False)
    return losses


def test_a_loss_logged_per_episode_is_read(tmp_path):
    # a DQN script's loss_history.csv (episode,average_loss) was "no training runs found"
    path = tmp_path / "loss_history.csv"
    losses = _td_learning_log(path)
    run = diagnose.load(path)
    steps, train = run.arrays("train/loss")
    assert list(steps) == list(range(1, len(losses) + 1))
    np.testing.assert_allclose(train, losses)
    assert any("'average_loss' read as 'train/loss'" in w for w in run.warnings)


def test_a_step_column_wins_over_the_episode(tmp_path):
    path = tmp_path / "log.csv"
    losses = _td_learning_log(path)
    raw = pd.read_csv(path)
    raw.insert(0, "step", np.arange(len(raw)) * 100)
    raw.to_csv(path, index=False)
    run = diagnose.load(path)
    assert list(run.arrays("train/loss")[0]) == list(range(0, 100 * len(losses), 100))
    assert "episode" in run.metric_names  # the episode count is a logged quantity there
