"""The chapter's learning-rate sweep, recorded with the Recorder.

Shared by ``diagnose demo`` and ``fixtures/make_fixtures.py`` so the recipe exists
once. The recipe is the chapter's exactly (data seed 11, 240 points, 180/60 split,
model seed 123, Linear(2,8)-ReLU-Linear(8,2), SGD, full-batch steps); recording
only adds no-grad evaluations, which consume no random numbers, so the final
numbers match the chapter's printed table digit for digit on torch's CPU build.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .record import Recorder

CHAPTER_LRS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
CHAPTER_STEPS = 40
DATA_SEED = 11
MODEL_SEED = 123
#: held while torch's global random state is seeded and drawn from: the autopilot runs
#: trials in threads, and a trial seeding it between another's seeding and its draws would
#: give that trial other data or another initial model than its seed says
_GLOBAL_RNG = threading.Lock()


@dataclass
class SweepRow:
    lr: float
    seed: int
    train_loss: float
    val_loss: float
    val_acc: float
    path: Path


def run_dir_name(lr: float, seed: int | None = None) -> str:
    return f"lr={lr:g}" + (f"/seed={seed}" if seed is not None else "")


def chapter_data():
    """The chapter's toy data: (train_x, train_y, val_x, val_y), 180/60 points, data seed 11."""
    import torch

    torch.manual_seed(DATA_SEED)
    X = torch.randn(240, 2)
    y = ((X[:, 0] * 0.8 + X[:, 1] * -0.5) > 0).long()
    return X[:180], y[:180], X[180:], y[180:]


def train_toy(params: dict, recorder: Recorder) -> None:
    """The chapter's task as a ``train(params, recorder)`` for :func:`diagnose.tune`.

    Knobs: ``lr``, ``batch_size`` (180 = the chapter's full batch), ``epochs`` (the
    chapter's 40), ``weight_decay``, ``seed`` (the model's; the chapter's is 123). One
    record per epoch, before its updates, and one after the last, as the chapter logs;
    with the chapter's params the numbers are the chapter's.
    """
    import torch
    from torch import nn

    seed = int(params.get("seed", MODEL_SEED))
    with _GLOBAL_RNG:
        train_x, train_y, val_x, val_y = chapter_data()
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=float(params.get("lr", 1.0)),
                          weight_decay=float(params.get("weight_decay", 0.0)))
    recorder.watch(opt)
    n = len(train_x)
    bs = max(1, min(int(params.get("batch_size", n)), n))
    epochs = int(params.get("epochs", CHAPTER_STEPS))
    order = torch.Generator().manual_seed(seed)

    def val() -> tuple:
        with torch.no_grad():
            logits = model(val_x)
            return loss_fn(logits, val_y), (logits.argmax(dim=1) == val_y).float().mean()

    for epoch in range(epochs):
        idx = torch.randperm(n, generator=order) if bs < n else None
        for i, start in enumerate(range(0, n, bs)):
            xb, yb = (train_x, train_y) if idx is None else (
                train_x[idx[start:start + bs]], train_y[idx[start:start + bs]])
            loss = loss_fn(model(xb), yb)
            if i == 0:
                vl, va = val()
                recorder.log(epoch, train_loss=loss.detach(), val_loss=vl, val_acc=va)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        train_loss = loss_fn(model(train_x), train_y)
    vl, va = val()
    recorder.log(epochs, train_loss=train_loss, val_loss=vl, val_acc=va)


def train_chapter_sweep(
    out_dir: str | Path,
    lrs: Sequence[float] = CHAPTER_LRS,
    steps: int = CHAPTER_STEPS,
    seeds: Sequence[int] = (MODEL_SEED,),
    overwrite: bool = True,
) -> list[SweepRow]:
    """Train every (lr, seed); record each run under ``out_dir``; return the final rows.

    With one seed the run directories are ``lr=<lr>``; with several,
    ``lr=<lr>/seed=<seed>``. The recipe is deterministic, so by default a rerun
    replaces the logs it wrote before (``overwrite=False`` refuses instead).
    """
    import torch
    from torch import nn

    train_x, train_y, val_x, val_y = chapter_data()
    loss_fn = nn.CrossEntropyLoss()
    out = Path(out_dir)
    rows: list[SweepRow] = []

    def evaluate(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            train_loss = loss_fn(model(train_x), train_y)
            val_logits = model(val_x)
            val_loss = loss_fn(val_logits, val_y)
            val_acc = (val_logits.argmax(dim=1) == val_y).float().mean()
        return train_loss, val_loss, val_acc

    for lr in lrs:
        for seed in seeds:
            torch.manual_seed(seed)
            model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            path = out / run_dir_name(lr, seed if len(seeds) > 1 else None)
            params = {
                "lr": lr,
                "batch_size": 180,
                "optimizer": "SGD",
                "weight_decay": 0.0,
                "dropout": 0.0,
                "epochs": steps,
                "seed": seed,
            }
            identity = {"experiment_id": f"chapter-lr-sweep/{run_dir_name(lr, seed)}",
                        "data_version": f"toy-2d-seed{DATA_SEED}-180/60"}
            with Recorder(
                path, params=params, identity=identity, num_classes=2, overwrite=overwrite
            ) as rec:
                rec.watch(opt)
                for step in range(steps):
                    logits = model(train_x)
                    loss = loss_fn(logits, train_y)
                    with torch.no_grad():
                        val_logits = model(val_x)
                        val_loss = loss_fn(val_logits, val_y)
                        val_acc = (val_logits.argmax(dim=1) == val_y).float().mean()
                    rec.log(step, train_loss=loss.detach(), val_loss=val_loss, val_acc=val_acc)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                train_loss, val_loss, val_acc = evaluate(model)
                rec.log(steps, train_loss=train_loss, val_loss=val_loss, val_acc=val_acc)
            rows.append(
                SweepRow(lr, seed, train_loss.item(), val_loss.item(), val_acc.item(), path)
            )
    return rows


def chapter_table(rows: Sequence[SweepRow]) -> str:
    """The chapter's printed table, formatted exactly as the chapter prints it."""
    lines = ["lr_sweep"]
    for r in rows:
        lines.append(
            f"lr={r.lr:g} train_loss={r.train_loss:.3f} val_loss={r.val_loss:.3f} "
            f"val_acc={r.val_acc:.3f}"
        )
    best = min(rows, key=lambda r: r.val_loss)
    lines.append(f"best_lr: {best.lr}")
    return "\n".join(lines)
