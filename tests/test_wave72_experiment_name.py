"""Experiment files of two different experiments are never one setting's seeds.

The Technion course's experiment JSON records its settings beside the lists (``"config":
{"run_name": "exp1_1", "seed": ..., "lr": ..., "filters_per_layer": [32], ...}``). Only the
tuning knobs become params, so two students' runs of different experiments (other filters, other
hidden sizes) with the same lr, epochs and dropout read as one setting run with two seeds, and a
comparison reported seed variance between them. The recorded ``run_name`` is now the run's
experiment name, so the two are compared with nothing. Here a real torch loop fills both files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import diagnose
from diagnose.grouping import group_runs, identity_of


def _results(seed: int, width: int) -> dict[str, list[float]]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    x = torch.randn(128, 4)
    y = (x.sum(1) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out: dict[str, list[float]] = {k: [] for k in ("train_loss", "test_loss", "train_acc",
                                                   "test_acc")}
    for _ in range(6):
        opt.zero_grad()
        logits = model(x[:96])
        loss = torch.nn.functional.cross_entropy(logits, y[:96])
        loss.backward()
        opt.step()
        with torch.no_grad():
            t = model(x[96:])
            out["train_loss"].append(loss.item())
            out["test_loss"].append(torch.nn.functional.cross_entropy(t, y[96:]).item())
            out["train_acc"].append(100 * (logits.argmax(1) == y[:96]).float().mean().item())
            out["test_acc"].append(100 * (t.argmax(1) == y[96:]).float().mean().item())
    return out


def test_run_name_keeps_two_experiments_apart(tmp_path: Path) -> None:
    runs = []
    for name, seed, width in (("exp1_1", 1, 8), ("exp1_2", 2, 32)):
        folder = tmp_path / f"student-{seed}" / "results"
        folder.mkdir(parents=True)
        path = folder / f"{name}_L4_K{width}.json"
        config = {"run_name": name, "seed": seed, "lr": 0.001, "epochs": 6, "dropout": 0.1,
                  "filters_per_layer": [width]}
        path.write_text(json.dumps({"config": config, "results": _results(seed, width)}))
        runs.append(diagnose.load(str(path)))
    assert [identity_of(r) for r in runs] == [(("experiment_name", "exp1_1"),),
                                              (("experiment_name", "exp1_2"),)]
    assert all(len(g.runs) == 1 for g in group_runs(runs))
