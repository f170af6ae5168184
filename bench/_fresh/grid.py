"""Grid recipes: each trains once (a plain torch loop that keeps every step) and is then written
by several writers at logging intervals 1, 5, 10 and 50 (``writers.py``), so one recipe gives
the same run as each writer would have logged it at each interval.

Every recipe evaluates every 50 steps (or at its own ``eval_every`` for short runs), so the
evaluations are the same points at every interval. K runs from 2 to 1000; regression too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .core import Split, ce_loss, make_opt, make_sched, mlp, regression_data, seeded, teacher_data
from .writers import Curve

INTERVALS = (1, 5, 10, 50)


@dataclass
class GridSpec:
    name: str
    pattern: str  # "healthy" or the pattern the recipe should show
    about: str
    fn: Callable[[int], Curve]
    intervals: tuple[int, ...] = INTERVALS


GRID: list[GridSpec] = []


def grid(name: str, pattern: str, about: str, intervals: tuple[int, ...] = INTERVALS) -> Callable:
    def deco(fn: Callable[[int], Curve]) -> Callable[[int], Curve]:
        GRID.append(GridSpec(name, pattern, about, fn, intervals))
        return fn
    return deco


def centroid_data(n_train: int, n_val: int, d: int, k: int, seed: int, *, noise: float = 1.0) -> Split:
    """K Gaussian clusters around random centroids (learnable for any K up to thousands)."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(k, d, generator=g) * 1.5

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, k, (n,), generator=g)
        return c[y] + noise * torch.randn(n, d, generator=g), y

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    return Split(xtr, ytr, xva, yva, k)


@torch.no_grad()
def _eval(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
          classify: bool) -> tuple[float, float | None]:
    model.eval()
    out = model(x)
    model.train()
    loss = float(loss_fn(out, y))
    return loss, (float((out.argmax(-1) == y).float().mean()) if classify else None)


def train(data: Split, model: nn.Module, *, optim: str, lr: float, steps: int, bs: int,
          sched: str = "constant", loss_fn: Callable = ce_loss, eval_every: int = 50,
          corrupt: float = 0.0, corrupt_scale: float = 20.0, jump: tuple[int, float] | None = None,
          opt_model: nn.Module | None = None, opt_kw: dict[str, Any] | None = None,
          params: dict[str, Any] | None = None, seed: int = 0) -> Curve:
    """Mini-batch training for ``steps`` steps; every step's loss, lr and gradient norm kept.

    ``jump=(step, factor)``: the learning rate is multiplied by ``factor`` from that step on
    (a schedule bug); ``opt_model``: the optimizer holds that module's weights (a frozen run).
    """
    g = torch.Generator().manual_seed(seed)
    opt = make_opt(optim, (opt_model or model).parameters(), lr, **(opt_kw or {}))
    scheduler = make_sched(sched, opt, steps, lr)
    classify = data.k is not None
    n = len(data.xtr)
    sub = torch.arange(min(n, 1000))
    loss_l, lr_l, gn_l = [], [], []
    evals: list[tuple[int, float, float | None, float | None]] = []
    perm, pos = torch.randperm(n, generator=g), 0
    dead = 0
    for step in range(1, steps + 1):
        if pos + bs > n:
            perm, pos = torch.randperm(n, generator=g), 0
        idx = perm[pos:pos + bs]
        pos += bs
        x, y = data.xtr[idx], data.ytr[idx]
        if corrupt and float(torch.rand(1, generator=g)) < corrupt:
            x = x * corrupt_scale
        if jump and step == jump[0]:
            for pg in opt.param_groups:
                pg["lr"] *= jump[1]
        cur_lr = opt.param_groups[0]["lr"]
        if dead > 20:  # past a non-finite loss every step is NaN: skip the arithmetic
            loss_l.append(math.nan)
            gn_l.append(math.nan)
        else:
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = nn.utils.clip_grad_norm_(model.parameters(), math.inf)
            opt.step()
            lv = float(loss.detach())
            loss_l.append(lv)
            gn_l.append(float(gn))
            dead = dead + 1 if not math.isfinite(lv) else 0
        lr_l.append(float(cur_lr))
        if scheduler is not None:
            scheduler.step()
        if step % eval_every == 0:
            vl, va = _eval(model, data.xva, data.yva, loss_fn, classify)
            ta = _eval(model, data.xtr[sub], data.ytr[sub], loss_fn, classify)[1]
            evals.append((step, vl, va, ta))
    spe = max(1, n // bs)
    p = {"lr": lr, "optimizer": optim, "batch_size": bs, "max_steps": steps, "schedule": sched,
         **({"num_classes": data.k} if data.k else {}), **(params or {})}
    return Curve(loss_l, lr_l, gn_l, evals, data.k, spe, p)


MSE = F.mse_loss


# ---- healthy ------------------------------------------------------------------------------------
@grid("g-h-k2-sgd", "healthy", "teacher K=2, MLP, SGD 0.2 constant, 1000 steps, bs 32")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 1000, 10, 2, seed + 101, temp=0.2), mlp(10, 32, 2), optim="sgd",
                 lr=0.2, steps=1000, bs=32, seed=seed)


@grid("g-h-k10-adam-cosine", "healthy", "teacher K=10, Adam 2e-3 + cosine, 800 steps, bs 64")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(4000, 800, 24, 10, seed + 102, temp=0.2), mlp(24, 64, 10), optim="adam",
                 lr=2e-3, sched="cosine", steps=800, bs=64, seed=seed)


@grid("g-h-k100-adamw-warmup", "healthy", "clusters K=100, AdamW 3e-3 warmup+linear, 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(centroid_data(8000, 1000, 32, 100, seed + 103), mlp(32, 128, 100, depth=1),
                 optim="adamw", lr=3e-3, sched="warmup_linear", steps=800, bs=64, seed=seed)


@grid("g-h-k1000-adam", "healthy", "clusters K=1000, Adam 3e-3 constant, 800 steps, bs 128")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(centroid_data(20000, 2000, 64, 1000, seed + 104, noise=0.8), mlp(64, 128, 1000, depth=1),
                 optim="adam", lr=3e-3, steps=800, bs=128, seed=seed)


@grid("g-h-reg-onecycle", "healthy", "regression (MSE ~2000 at start), AdamW OneCycle, 1000 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(2000, 500, 12, seed + 105), mlp(12, 64, 1), optim="adamw", lr=1e-2,
                 sched="onecycle", steps=1000, bs=32, loss_fn=MSE, seed=seed)


@grid("g-h-reg-rmsprop-step", "healthy", "regression (scale 3), RMSprop 3e-3 + step decay, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(3000, 400, 8, seed + 106, scale=3.0, noise=0.2), mlp(8, 32, 1),
                 optim="rmsprop", lr=3e-3, sched="step", steps=600, bs=32, loss_fn=MSE, seed=seed)


@grid("g-h-k5-sgdm-step", "healthy", "teacher K=5, SGD momentum 0.05 + step decay, 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(4000, 800, 20, 5, seed + 107, temp=0.2), mlp(20, 64, 5), optim="sgdm",
                 lr=0.05, sched="step", steps=800, bs=32, seed=seed)


@grid("g-h-k2-tiny-noise-spikes", "healthy",
      "separable K=2, Adam 1e-2; 3% of batches with inputs x3: late bumps ~0.01 on a loss that started at 0.69")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(centroid_data(3000, 500, 8, 2, seed + 108, noise=0.6), mlp(8, 32, 2), optim="adam",
                 lr=1e-2, steps=800, bs=32, corrupt=0.03, corrupt_scale=3.0, seed=seed)


@grid("g-h-k3-still-improving", "healthy", "teacher K=3, SGD 0.05 constant, 600 steps: still falling at the end")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(4000, 800, 16, 3, seed + 109, temp=0.2), mlp(16, 64, 3), optim="sgd",
                 lr=0.05, steps=600, bs=32, seed=seed)


@grid("g-h-k20-rmsprop", "healthy", "teacher K=20, RMSprop 1e-3, bs 128, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 1000, 32, 20, seed + 110, temp=0.1), mlp(32, 128, 20), optim="rmsprop",
                 lr=1e-3, steps=600, bs=128, seed=seed)


# ---- flat loss ----------------------------------------------------------------------------------
@grid("g-flat-reg-sgd-1e-6", "flat_loss", "regression (scale 5), SGD lr=1e-6, 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(3000, 400, 10, seed + 111, scale=5.0), mlp(10, 32, 1), optim="sgd",
                 lr=1e-6, steps=800, bs=32, loss_fn=MSE, seed=seed)


@grid("g-flat-frozen-k3", "flat_loss", "teacher K=3; the optimizer holds a stale copy's weights, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(2000, 500, 16, 3, seed + 112), mlp(16, 64, 3), optim="adam", lr=1e-3,
                 steps=600, bs=50, opt_model=mlp(16, 64, 3), seed=seed)


@grid("g-flat-k10-adam-1e-6", "flat_loss", "teacher K=10, Adam lr=1e-6, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(4000, 800, 24, 10, seed + 113, temp=0.2), mlp(24, 64, 10), optim="adam",
                 lr=1e-6, steps=600, bs=64, seed=seed)


@grid("g-flat-short-28-k2", "flat_loss", "28 per-batch points, K=2 random labels, lr=0 (frozen), bs 8",
      intervals=(1,))
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(400, 200, 8, 2, seed + 114, random_labels=True), mlp(8, 16, 2), optim="sgd",
                 lr=1e-9, steps=28, bs=8, eval_every=7, seed=seed)


@grid("g-flat-short-28-k4", "flat_loss", "28 per-batch points, K=4 random labels, SGD lr=1e-5, bs 8",
      intervals=(1,))
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(400, 200, 8, 4, seed + 115, random_labels=True), mlp(8, 16, 4), optim="sgd",
                 lr=1e-5, steps=28, bs=8, eval_every=7, seed=seed)


# ---- explosion ----------------------------------------------------------------------------------
@grid("g-explode-reg-sgd", "explosion", "regression (MSE ~2000), SGD lr 0.02 -> inf/NaN, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(2000, 400, 12, seed + 116), mlp(12, 64, 1), optim="sgd", lr=0.02,
                 steps=600, bs=32, loss_fn=MSE, seed=seed)


@grid("g-explode-first-window", "explosion",
      "deep MLP K=6, Adam lr=1 from step 1: the blow-up is inside the first logging window")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(2000, 400, 16, 6, seed + 117), mlp(16, 128, 6, depth=4), optim="adam",
                 lr=1.0, steps=600, bs=32, seed=seed)


@grid("g-explode-collapse", "explosion",
      "teacher K=3 learns with Adam 1e-3, lr x1000 at step 60: blow-up, dead units, chance for the rest")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(3000, 500, 16, 3, seed + 118, temp=0.2), mlp(16, 64, 3), optim="adam",
                 lr=1e-3, steps=600, bs=32, jump=(60, 1000.0), seed=seed)


@grid("g-explode-k100-sgd", "explosion", "clusters K=100, SGD lr 30 (far too high), 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(centroid_data(6000, 1000, 32, 100, seed + 119), mlp(32, 128, 100, depth=1), optim="sgd",
                 lr=30.0, steps=600, bs=64, seed=seed)


@grid("g-explode-after-warmup", "explosion", "teacher K=10, SGD warmup to lr 20 (5% of 600 steps): blow-up during warmup")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(3000, 500, 24, 10, seed + 120, temp=0.2), mlp(24, 64, 10), optim="sgd",
                 lr=20.0, sched="warmup_constant", steps=600, bs=32, seed=seed)


# ---- generalization gap -------------------------------------------------------------------------
@grid("g-gap-final-memorize-k2", "generalization_gap",
      "64 near-random K=2 labels, 256-wide MLP, Adam 1e-3: train acc 1.0, val acc ~0.5 at the end")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(64, 1000, 20, 2, seed + 121, temp=3.0), mlp(20, 256, 2), optim="adam",
                 lr=1e-3, steps=600, bs=16, seed=seed)


@grid("g-gap-k4-48", "generalization_gap", "48 train examples, 64 features, 512-wide MLP, Adam 3e-4")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(48, 1000, 64, 4, seed + 122), mlp(64, 512, 4), optim="adam", lr=3e-4,
                 steps=600, bs=16, seed=seed)


@grid("g-gap-reg-30", "generalization_gap", "regression on 30 examples, 40 features, 256-wide MLP")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(30, 500, 40, seed + 123, scale=10.0), mlp(40, 256, 1), optim="adam",
                 lr=1e-3, steps=800, bs=10, loss_fn=MSE, seed=seed)


# ---- late overfitting ---------------------------------------------------------------------------
@grid("g-late-first-eval", "late_overfitting",
      "300 examples, 40% noisy labels, Adam 1e-2: best validation at the first eval, then a rise")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(300, 1000, 20, 3, seed + 124, label_noise=0.4, temp=0.15), mlp(20, 256, 3),
                 optim="adam", lr=1e-2, steps=800, bs=25, seed=seed)


@grid("g-late-slow-rise", "late_overfitting",
      "regression on 200 noisy examples, Adam 3e-4, 1500 steps: large drop then a slow steady rise")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(200, 1000, 20, seed + 125, scale=1.0, noise=0.7), mlp(20, 128, 1),
                 optim="adam", lr=3e-4, steps=1500, bs=20, loss_fn=MSE, seed=seed)


@grid("g-late-noisy-sgdm", "late_overfitting", "300 examples, 30% noisy labels, SGD momentum 0.03, 1000 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(300, 1000, 20, 3, seed + 126, label_noise=0.3, temp=0.15), mlp(20, 256, 3),
                 optim="sgdm", lr=0.03, steps=1000, bs=25, seed=seed)


# ---- uniform predictions ------------------------------------------------------------------------
@grid("g-uniform-k10-random", "uniform_predictions", "K=10 random labels, small MLP, SGD momentum, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(8000, 1000, 20, 10, seed + 127, random_labels=True), mlp(20, 16, 10),
                 optim="sgdm", lr=0.02, steps=600, bs=64, seed=seed)


@grid("g-uniform-k3-random", "uniform_predictions", "K=3 random labels, Adam 1e-3, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 800, 12, 3, seed + 128, random_labels=True), mlp(12, 16, 3),
                 optim="adam", lr=1e-3, steps=600, bs=64, seed=seed)


@grid("g-uniform-k200-random", "uniform_predictions", "K=200 random labels, Adam 1e-3, 600 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(8000, 1000, 20, 200, seed + 129, random_labels=True), mlp(20, 16, 200),
                 optim="adam", lr=1e-3, steps=600, bs=64, seed=seed)


@grid("g-uniform-wrong-k", "uniform_predictions",
      "4 random labels, a 10-way head and num_classes=10 in the config: falls to ln 4, stays there")
def _(seed: int) -> Curve:
    seeded(seed)
    d = teacher_data(6000, 800, 12, 4, seed + 130, random_labels=True)
    c = train(Split(d.xtr, d.ytr, d.xva, d.yva, 10), mlp(12, 16, 10), optim="adam", lr=3e-3,
              steps=600, bs=64, seed=seed)
    c.k = 4  # the truth, for the label check; the config (params) keeps num_classes=10
    return c


@grid("g-uniform-prior-k2", "uniform_predictions",
      "2 classes 80/20, labels independent of inputs, Adam 1e-3, 600 steps: learns the prior only")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 800, 12, 2, seed + 141, random_labels=True, prior=(0.8, 0.2)),
                 mlp(12, 16, 2), optim="adam", lr=1e-3, steps=600, bs=64, seed=seed)


@grid("g-uniform-prior-k2-sgdm", "uniform_predictions",
      "2 classes 70/30, labels independent of inputs, SGD momentum 0.02, 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 800, 12, 2, seed + 142, random_labels=True, prior=(0.7, 0.3)),
                 mlp(12, 16, 2), optim="sgdm", lr=0.02, steps=800, bs=64, seed=seed)


@grid("g-h-prior-k2", "healthy", "2 classes about 80/20 from a learnable teacher, Adam 2e-3, 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(6000, 1000, 10, 2, seed + 143, temp=0.2, bias=(1.5, -1.5)),
                 mlp(10, 32, 2), optim="adam", lr=2e-3, steps=800, bs=64, seed=seed)


# ---- loss spikes --------------------------------------------------------------------------------
@grid("g-spikes-corrupt-x20", "loss_spikes", "teacher K=4, Adam + cosine, 1.5% of batches with inputs x20")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(3200, 600, 16, 4, seed + 131), mlp(16, 64, 4), optim="adam", lr=1e-3,
                 sched="cosine", steps=1000, bs=32, corrupt=0.015, corrupt_scale=20.0, seed=seed)


@grid("g-spikes-corrupt-x6", "loss_spikes", "teacher K=3, Adam, 2% of batches with inputs x6 (medium spikes)")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(3000, 500, 10, 3, seed + 132, temp=0.1), mlp(10, 64, 3), optim="adam",
                 lr=2e-3, steps=1000, bs=32, corrupt=0.02, corrupt_scale=6.0, seed=seed)


@grid("g-spikes-sgd-lr3-bounce", "loss_spikes", "teacher K=2 tanh MLP, SGD lr=3: train loss bounces for the whole run")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(4000, 800, 10, 2, seed + 133, temp=0.5), mlp(10, 32, 2, act=nn.Tanh), optim="sgd",
                 lr=3.0, steps=800, bs=32, seed=seed)


@grid("g-spikes-adam-highlr-reg", "loss_spikes", "noise-free regression, Adam 0.05 (5% warmup), bs 512, 1500 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(2000, 400, 8, seed + 134, scale=1.0, noise=0.0), mlp(8, 64, 1, depth=3),
                 optim="adam", lr=0.05, sched="warmup_constant", steps=1500, bs=512, loss_fn=MSE, seed=seed)


# ---- slow convergence ---------------------------------------------------------------------------
@grid("g-slow-sgd-div10-k4", "slow_convergence", "teacher K=4, SGD lr 0.004 (healthy 0.15), 1000 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(2400, 600, 16, 4, seed + 135), mlp(16, 64, 4), optim="sgd", lr=0.004,
                 steps=1000, bs=32, seed=seed)


@grid("g-slow-linreg-sgd", "slow_convergence", "linear regression (MSE ~2000), SGD lr 1.2e-4, 1000 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(regression_data(2000, 400, 12, seed + 136), nn.Linear(12, 1), optim="sgd", lr=1.2e-4,
                 steps=1000, bs=32, loss_fn=MSE, seed=seed)


@grid("g-slow-adam-1e-4-k3", "slow_convergence", "teacher K=3, Adam lr 2.5e-5 (healthy 1e-3), 800 steps")
def _(seed: int) -> Curve:
    seeded(seed)
    return train(teacher_data(2000, 500, 16, 3, seed + 137), mlp(16, 64, 3), optim="adam", lr=2.5e-5,
                 steps=800, bs=32, seed=seed)
