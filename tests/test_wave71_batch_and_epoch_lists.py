"""An experiment file that keeps every batch's loss beside each epoch's accuracy.

The Technion deep-learning course (CS236781; dozens of student repositories commit its results)
saves each experiment as ``{"config": {...}, "results": fit_result._asdict()}`` under the
experiment's own name (``exp1_1_L2_K32.json``). Its ``FitResult`` holds the loss of every train
batch and of every test batch, but one accuracy per epoch, so the lists have different lengths.
Such files were not claimed at all ("not a log format"). Here a real torch loop fills a
``FitResult`` the course's way, and the values read back are checked against the loop's own:
every batch's train loss on its own step, each epoch's test loss as the mean of its batches, and
the accuracies at each epoch's last batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import diagnose


class FitResult(NamedTuple):  # the course's shape: losses per batch, accuracies per epoch
    num_epochs: int
    train_loss: list[float]
    train_acc: list[float]
    test_loss: list[float]
    test_acc: list[float]


def _fit(epochs: int = 4, train_batches: int = 6, test_batches: int = 3) -> FitResult:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn((train_batches + test_batches) * 16, 8)
    y = (x[:, :3].sum(1) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    res = FitResult(0, [], [], [], [])
    split = train_batches * 16
    for _ in range(epochs):
        correct = 0
        for b in range(train_batches):
            xb, yb = x[b * 16:(b + 1) * 16], y[b * 16:(b + 1) * 16]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            res.train_loss.append(loss.item())
            correct += int((out.argmax(1) == yb).sum())
        res.train_acc.append(100.0 * correct / split)
        correct = 0
        with torch.no_grad():
            for b in range(test_batches):
                lo = split + b * 16
                xb, yb = x[lo:lo + 16], y[lo:lo + 16]
                out = model(xb)
                res.test_loss.append(loss_fn(out, yb).item())
                correct += int((out.argmax(1) == yb).sum())
        res.test_acc.append(100.0 * correct / (test_batches * 16))
    return res


def _save(tmp_path: Path, res: FitResult) -> Path:
    config = {"run_name": "exp1_1", "seed": 0, "bs_train": 16, "lr": 0.01,
              "filters_per_layer": [32], "layers_per_block": 2, "model_type": "cnn", "kw": {}}
    path = tmp_path / "results" / "exp1_1_L2_K32.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"config": config, "results": res._asdict()}, indent=2))
    return path


def test_batch_losses_and_epoch_accuracies_share_one_step_axis(tmp_path: Path) -> None:
    res = _fit(epochs=4, train_batches=6, test_batches=3)
    path = _save(tmp_path, res)
    (run,) = diagnose.load_all(str(path.parent))
    steps, train = run.arrays("train/loss")
    assert np.array_equal(train, res.train_loss)
    assert np.array_equal(steps, np.arange(len(res.train_loss)))
    epoch_ends = [(e + 1) * 6 - 1 for e in range(4)]
    val_steps, val = run.arrays("val/loss")
    assert list(val_steps) == epoch_ends
    assert np.allclose(val, np.reshape(res.test_loss, (4, 3)).mean(axis=1))
    acc_steps, acc = run.arrays("val/acc")
    assert list(acc_steps) == epoch_ends and np.array_equal(acc, res.test_acc)
    assert run.params.get("lr") == 0.01


def test_lists_as_long_as_each_other_stay_one_per_epoch(tmp_path: Path) -> None:
    res = _fit(epochs=5, train_batches=1, test_batches=1)
    path = _save(tmp_path, res)
    (run,) = diagnose.load_all(str(path.parent))
    assert list(run.arrays("val/loss")[0]) == list(range(5))
    assert np.array_equal(run.arrays("train/loss")[1], res.train_loss)


def test_a_config_with_a_loss_list_but_no_results_is_not_a_run(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"config": {"lr": 0.1}, "loss_weights": [1.0, 0.5]}))
    with pytest.raises(diagnose.DiagnoseError):
        diagnose.load_all(str(tmp_path))
