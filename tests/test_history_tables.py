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


def _logistic_nll_log(path: Path, extra_loss: bool = False) -> tuple[list[float], list[float]]:
    """A real fit: logistic regression by gradient descent on two Gaussian blobs, its mean
    negative log-likelihood on the train and validation halves written once per epoch."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-1, 1, (200, 2)), rng.normal(1, 1, (200, 2))])
    y = np.concatenate([np.zeros(200), np.ones(200)])
    idx = rng.permutation(400)
    tr, va = idx[:300], idx[300:]
    w, b = np.zeros(2), 0.0

    def nll(i):
        p = 1 / (1 + np.exp(-(x[i] @ w + b)))
        return float(-np.mean(y[i] * np.log(p) + (1 - y[i]) * np.log(1 - p)))

    rows, tr_nll, va_nll = [], [], []
    for epoch in range(40):
        p = 1 / (1 + np.exp(-(x[tr] @ w + b)))
        w -= 0.1 * x[tr].T @ (p - y[tr]) / len(tr)
        b -= 0.1 * float(np.mean(p - y[tr]))
        tr_nll.append(nll(tr))
        va_nll.append(nll(va))
        row = {"epoch": epoch, "train_nll": tr_nll[-1], "val_nll": va_nll[-1]}
        if extra_loss:
            row["train_loss"] = tr_nll[-1] + 0.01 * float(w @ w)  # the NLL plus an L2 penalty
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return tr_nll, va_nll


def test_a_negative_log_likelihood_per_split_is_the_loss(tmp_path):
    # a PixelCNN's TensorBoard tags train_nll/val_nll (public log w37d-ex4-q1) named no loss:
    # the run was checked on its learning rate alone
    path = tmp_path / "history.csv"
    tr_nll, va_nll = _logistic_nll_log(path)
    run = diagnose.load(path)
    np.testing.assert_allclose(run.arrays("train/loss")[1], tr_nll)
    np.testing.assert_allclose(run.arrays("val/loss")[1], va_nll)
    assert any("'val_nll' read as 'val/loss'" in w for w in run.warnings)


def test_a_logged_loss_keeps_its_name_beside_the_nll(tmp_path):
    path = tmp_path / "history.csv"
    tr_nll, va_nll = _logistic_nll_log(path, extra_loss=True)
    run = diagnose.load(path)
    assert run.name_map.get("train_loss") == "train/loss" and "train_nll" in run.metric_names
    np.testing.assert_allclose(run.arrays("val/loss")[1], va_nll)  # validation has no other loss


def test_an_early_lightning_log_without_step_column_keeps_every_step(tmp_path):
    # Lightning's CSVLogger of 2019 wrote train_loss,epoch,created_at,val_loss: one row per
    # logged step and no step column (public log w38c-hb-caps-v14). Read by epoch, the 68
    # train rows collapsed to 2 points and the run "passed"
    rng = np.random.default_rng(2)
    x = rng.normal(size=(256, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    w = np.zeros(3)
    rows = []
    for epoch in range(3):
        for b in range(0, 256, 32):  # 8 steps an epoch, each row one logged step
            xb, yb = x[b:b + 32], y[b:b + 32]
            p = 1 / (1 + np.exp(-(xb @ w)))
            rows.append({"train_loss": float(-np.mean(yb * np.log(p) + (1 - yb) * np.log(1 - p))),
                         "epoch": epoch, "created_at": f"2019-12-29 18:28:{len(rows):02d}.000000",
                         "val_loss": None})
            w -= 0.5 * xb.T @ (p - yb) / len(xb)
        p = 1 / (1 + np.exp(-(x @ w)))
        rows.append({"train_loss": None, "epoch": epoch, "created_at": "2019-12-29 18:29:00.000000",
                     "val_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))})
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    run = diagnose.load(path)
    steps, train = run.arrays("train/loss")
    logged = [r["train_loss"] for r in rows if r["train_loss"] is not None]
    assert len(train) == len(logged) == 24
    np.testing.assert_allclose(train, logged)
    assert list(steps) == [i for i, r in enumerate(rows) if r["train_loss"] is not None]
    assert len(run.arrays("val/loss")[1]) == 3
    assert any("rows read as steps" in w for w in run.warnings)


def test_a_per_epoch_table_keeps_its_epochs_as_steps(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame({"epoch": range(5), "loss": [1.0, 0.8, 0.7, 0.65, 0.6],
                  "val_loss": [1.1, 0.9, 0.85, 0.8, 0.8]}).to_csv(path, index=False)
    run = diagnose.load(path)
    assert list(run.arrays("train/loss")[0]) == list(range(5))
    assert not any("rows read as steps" in w for w in run.warnings)


def test_runs_appended_to_one_keras_log_stay_apart(tmp_path):
    path = tmp_path / "training.log"
    one = pd.DataFrame({"epoch": range(4), "loss": [1.0, 0.8, 0.7, 0.65], "val_loss": [1.1, 0.9, 0.85, 0.8]})
    two = pd.DataFrame({"epoch": range(4), "loss": [2.0, 1.8, 1.7, 1.6], "val_loss": [2.1, 1.9, 1.8, 1.8]})
    pd.concat([one, two]).to_csv(path, index=False)
    runs = diagnose.load_all(path)
    assert len(runs) == 2 and [list(r.arrays("train/loss")[1]) for r in runs] == [list(one["loss"]), list(two["loss"])]
