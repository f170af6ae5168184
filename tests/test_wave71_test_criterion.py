"""A criterion logged for the train and test splits beside accuracies: ``train_cross_entropy``.

Grokking studies log ``train_cross_entropy`` and ``test_cross_entropy`` beside ``train_accuracy``
and ``test_accuracy`` (and terms of their objective such as a ``congruence_loss``). The criterion
pair was read only when no accuracy was mapped and only for a validation split, so such a run
was judged on its accuracies alone, with no loss read. Here a real torch loop on modular addition
writes that table, and the criterion's two curves are read as the losses and the test accuracy as
the validation accuracy, with the values the loop wrote.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import diagnose


def test_train_and_test_cross_entropy_are_the_losses(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    p = 11
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    order = torch.randperm(len(pairs))
    train, test = order[:60], order[60:]
    model = torch.nn.Sequential(torch.nn.Embedding(p, 16), torch.nn.Flatten(),
                                torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, p))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    rows = []
    for step in range(300):
        opt.zero_grad()
        loss = loss_fn(model(pairs[train]), labels[train])
        loss.backward()
        opt.step()
        if step % 10 == 0:
            with torch.no_grad():
                out_tr, out_te = model(pairs[train]), model(pairs[test])
                hit_tr = (out_tr.argmax(1) == labels[train]).float().mean().item()
                hit_te = (out_te.argmax(1) == labels[test]).float().mean().item()
                rows.append({"step": step,
                             "train_cross_entropy": loss_fn(out_tr, labels[train]).item(),
                             "test_cross_entropy": loss_fn(out_te, labels[test]).item(),
                             "train_accuracy": hit_tr, "test_accuracy": hit_te,
                             "congruence_loss": 0.0})
    path = tmp_path / "loss_curve.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(path, newline="") as f:
        back = list(csv.DictReader(f))
    run = diagnose.load(str(path))
    for name, col in (("train/loss", "train_cross_entropy"), ("val/loss", "test_cross_entropy"),
                      ("val/acc", "test_accuracy")):
        steps, values = run.arrays(name)
        assert np.array_equal(values, [float(r[col]) for r in back]), name
        assert np.array_equal(steps, [int(r["step"]) for r in back]), name
