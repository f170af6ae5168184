"""A real MLP memorising random labels: train loss falls while validation climbs, the shape of
late overfitting, trained for real by the tests that write logs with the real writers."""

from __future__ import annotations

from typing import Any

import pytest


def random_label_task(seed: int, n_train: int, n_val: int = 128) -> tuple[Any, ...]:
    """``(x, y, xv, yv, model, opt, loss_fn)``: 20 features, 4 random classes, a 256-unit MLP
    under Adam at lr 3e-3, all drawn from ``seed``; skips the test when torch is missing."""
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n_train, 20, generator=g), torch.randint(0, 4, (n_train,), generator=g)
    xv, yv = torch.randn(n_val, 20, generator=g), torch.randint(0, 4, (n_val,), generator=g)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(20, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    return x, y, xv, yv, model, opt, torch.nn.CrossEntropyLoss()
