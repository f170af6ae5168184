"""Params where people keep them: folder names without ``=`` and config files beside the log.

The logs are written by the real ``SummaryWriter`` during a tiny real training; the params
come only from the folder names and the ``config.json`` / ``args.json`` written next to them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import diagnose
from diagnose.readers._params import path_params

torch = pytest.importorskip("torch")
SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter


def _train(folder: Path, lr: float, steps: int = 30) -> list[float]:
    """A real SGD run on a linear task, its loss logged by SummaryWriter; returns the losses."""
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    w = torch.zeros(4, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    writer = SummaryWriter(str(folder))
    losses = []
    for step in range(steps):
        loss = ((x @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        writer.add_scalar("train_loss", loss.item(), step)
        if step % 5 == 4:
            writer.add_scalar("val_loss", loss.item() * 1.1, step)
        losses.append(loss.item())
    writer.close()
    return losses


@pytest.mark.parametrize("name,expected", [
    ("lr_sweep_3e-3", {"lr": 0.003}), ("lr-0.001", {"lr": 0.001}), ("lr3e-3", {"lr": 0.003}),
    ("bs64", {"batch_size": 64}), ("lr0.01_bs32", {"lr": 0.01, "batch_size": 32}),
    ("version_0", {}), ("run2", {}), ("drop_last", {}),
])
def test_a_knob_spelled_in_a_folder_name_without_equals(name, expected):
    assert path_params(f"sweep/{name}") == expected


def test_an_lr_sweep_in_lr_sweep_folders_with_config_json(tmp_path):
    lrs = [1e-3, 1e-2, 5e-2]
    logged = {}
    for lr in lrs:
        d = tmp_path / "sweep" / f"lr_sweep_{lr:g}"
        logged[lr] = _train(d, lr)
        # nested, as people write it; the batch size is only here, the lr only in the name
        (d / "config.json").write_text(json.dumps({"optimizer": {"name": "sgd", "momentum": 0.0},
                                                   "batch_size": 64, "hidden_size": 128}))
    report = diagnose.check(str(tmp_path / "sweep"))
    assert not report.errors
    by_lr = {r.params.get("lr"): r for r in report.runs}
    assert sorted(by_lr) == lrs
    for lr, run in by_lr.items():
        assert run.params["batch_size"] == 64 and run.params["momentum"] == 0.0
        assert "hidden_size" not in run.params  # a model's size is not a tuning knob
        s, v = run.arrays("train/loss")
        assert len(v) == len(logged[lr]) and math.isclose(v[-1], logged[lr][-1], rel_tol=1e-6)
    sweep = diagnose.sweep(str(tmp_path / "sweep"))
    assert [(g.kind, g.param) for g in report.groups] == [("sweep", "lr")]  # not "no varying parameter"
    assert sorted(row["lr"] for row in sweep.rows) == lrs
    final = {lr: logged[lr][-1] * 1.1 for lr in lrs if len(logged[lr]) % 5 == 0}
    assert sweep.best["params"]["lr"] == min(final, key=final.get)


def test_a_damaged_config_json_is_a_note_not_an_error(tmp_path):
    d = tmp_path / "lr-0.01"
    _train(d, 0.01, steps=10)
    (d / "args.json").write_text("{not json")
    run = diagnose.load(d)
    assert run.params["lr"] == 0.01
    assert any("args.json" in w and "params not read" in w for w in run.warnings)
