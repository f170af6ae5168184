"""A history.json whose lists are named by their split alone: ``{"train": [...], "val": [...]}``.

A loop that keeps one curve per split (``history = {"train": [], "val": []}``, then
``history["train"].append(epoch_loss)``) saves its losses under the bare split words. Such a file
was read with no loss, so no rule ran on it. The one curve kept under a split's name is its loss
when the train list falls (an accuracy or a score rises), and is then read as the losses, with a
note saying so. Here a real torch regression loop writes that file; a rising pair of lists of the
same shape is still left unnamed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose


def _losses() -> dict[str, list[float]]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(200, 6)
    y = x @ torch.randn(6, 1) + 0.1 * torch.randn(200, 1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history: dict[str, list[float]] = {"train": [], "val": []}
    for _ in range(15):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[:150]), y[:150])
        loss.backward()
        opt.step()
        with torch.no_grad():
            val = torch.nn.functional.mse_loss(model(x[150:]), y[150:])
        history["train"].append(loss.item())
        history["val"].append(val.item())
    return history


def test_falling_split_lists_are_the_losses(tmp_path: Path) -> None:
    history = _losses()
    path = tmp_path / "checkpoints" / "history.json"
    path.parent.mkdir()
    path.write_text(json.dumps(history))
    run = diagnose.load(str(path))
    np.testing.assert_array_equal(run.arrays("train/loss")[1], history["train"])
    np.testing.assert_array_equal(run.arrays("val/loss")[1], history["val"])
    assert any("read as the losses" in w and str(path) in w for w in run.warnings)


def test_rising_split_lists_are_left_unnamed(tmp_path: Path) -> None:
    history = _losses()
    top = max(history["train"] + history["val"])
    rising = {k: [top - v for v in vs] for k, vs in history.items()}  # a score that rises
    path = tmp_path / "history.json"
    path.write_text(json.dumps(rising))
    run = diagnose.load(str(path))
    assert "train/loss" not in run.metric_names
    assert not any("read as the losses" in w for w in run.warnings)
