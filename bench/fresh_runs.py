"""Judge the rules on fresh, diverse training runs that share no code with the fixtures.

    python bench/fresh_runs.py --seed 0                  # trains everything into a temp dir
    python bench/fresh_runs.py --seed 1 --out /tmp/fresh --only lit-   # a subset, kept
    python bench/fresh_runs.py --rescore /tmp/fresh/seed-0 /tmp/fresh/seed-1   # pooled, no training

``--rescore`` re-reads the runs and the labels kept in ``runs.json``: after a rule or
feature change, the same runs are judged again without training them.

``bench/rule_quality.py`` scores the rules on held-out batches of the *same* recipes
they were tuned on. This script is the independent check: small real runs trained
here on CPU, on other data (a random teacher network, shapes images, a Markov
lexicon for a char-level language model, token-count texts), other models and
optimizers, and logged the way users log them: ``SummaryWriter`` tags
(``Loss/train``, ``Loss/val``, ``Accuracy/val``), Lightning's ``CSVLogger`` and
``TensorBoardLogger`` (every Lightning run is scored once per logger), Hugging Face
``Trainer`` (``trainer_state.json``) and our ``Recorder``.

Each run is labelled *by construction* with the pattern its recipe should show
(``healthy`` means no warning or error). A label is only as good as its recipe, so
each run also gets an independent check of the label on the values it logged
(``label check``), computed here without diagnose's features: a miss whose label
check passes is the rules' fault; one whose check fails is the recipe's.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Patterns that may accompany a labelled one without counting as a false positive.
COMPATIBLE = {
    "flat_loss": {"uniform_predictions"},
    "uniform_predictions": {"flat_loss"},
    "generalization_gap": {"late_overfitting"},
    "late_overfitting": {"generalization_gap"},
    # a divergence that reaches NaN abruptly may be read as a numeric fault
    "explosion": {"nonfinite"},
}
#: Info-level patterns: never scored, except as unexpected on a healthy run at warning/error.
INFO_PATTERNS = {"still_improving", "val_better_than_train"}


# =======================================================================================
# data (synthetic, generated here; nothing shared with fixtures/make_fixtures.py)
# =======================================================================================
@dataclass
class Split:
    """Train and validation tensors; ``k`` classes (None for regression or LM)."""

    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    k: int | None = None


def teacher_data(n_train: int, n_val: int, d: int, k: int, seed: int, *, temp: float = 0.3,
                 label_noise: float = 0.0, random_labels: bool = False) -> Split:
    """Labels from a random tanh teacher network (argmax of logits plus Gumbel noise).

    ``temp`` sets how noisy the labels are (the Bayes error), ``label_noise`` flips that
    share of the training labels only, ``random_labels`` draws every label uniformly.
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(d, 32, generator=g) / math.sqrt(d)
    w2 = torch.randn(32, k, generator=g) * 1.5

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, d, generator=g)
        logits = torch.tanh(x @ w1 * 2) @ w2
        u = torch.rand(n, k, generator=g).clamp_min(1e-9)
        return x, (logits / temp - torch.log(-torch.log(u))).argmax(1)

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    if random_labels:
        ytr = torch.randint(0, k, (n_train,), generator=g)
        yva = torch.randint(0, k, (n_val,), generator=g)
    elif label_noise:
        flip = torch.rand(n_train, generator=g) < label_noise
        ytr = torch.where(flip, torch.randint(0, k, (n_train,), generator=g), ytr)
    return Split(xtr, ytr, xva, yva, k)


def regression_data(n_train: int, n_val: int, d: int, seed: int, *, scale: float = 40.0,
                    noise: float = 0.1) -> Split:
    """A smooth nonlinear target on the scale of ``scale`` (MSE at init ~ scale^2)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g) / math.sqrt(d)
    u = torch.randn(d, 3, generator=g) / math.sqrt(d)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, d, generator=g)
        y = x @ w + 0.6 * torch.sin(2 * x @ u).sum(1) + noise * torch.randn(n, generator=g)
        return x, (scale * y).unsqueeze(1)

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    return Split(xtr, ytr, xva, yva)


SHAPES = 4


def shapes_data(n_train: int, n_val: int, seed: int, *, size: int = 12, noise: float = 0.5) -> Split:
    """Noisy single-channel images of a horizontal bar, a vertical bar, a diagonal or a box."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, SHAPES, (n,), generator=g)
        img = noise * torch.randn(n, 1, size, size, generator=g)
        r = torch.randint(2, size - 6, (n,), generator=g)
        c = torch.randint(2, size - 6, (n,), generator=g)
        for i in range(n):
            a, b, cls = int(r[i]), int(c[i]), int(y[i])
            if cls == 0:
                img[i, 0, a + 2, b:b + 5] += 1.0
            elif cls == 1:
                img[i, 0, a:a + 5, b + 2] += 1.0
            elif cls == 2:
                for t in range(5):
                    img[i, 0, a + t, b + t] += 1.0
            else:
                img[i, 0, a:a + 4, b] += 1.0
                img[i, 0, a:a + 4, b + 3] += 1.0
                img[i, 0, a, b:b + 4] += 1.0
                img[i, 0, a + 3, b:b + 4] += 1.0
        return img, y

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    return Split(xtr, ytr, xva, yva, SHAPES)


ALPHABET = "abcdefghijklmnopqrstuvwxyz ."


def lexicon_text(n_chars: int, seed: int, *, n_words: int = 40) -> str:
    """Text from a Zipf-distributed lexicon of random words; sentences end with '.'."""
    rng = np.random.default_rng(seed)
    letters = list(ALPHABET[:26])
    words = ["".join(rng.choice(letters, size=rng.integers(2, 7))) for _ in range(n_words)]
    p = 1.0 / np.arange(1, n_words + 1)
    p /= p.sum()
    out: list[str] = []
    total = 0
    while total < n_chars:
        w = words[rng.choice(n_words, p=p)]
        sep = ". " if rng.random() < 0.12 else " "
        out.append(w + sep)
        total += len(w) + len(sep)
    return "".join(out)[:n_chars]


def lm_data(train_chars: int, val_chars: int, seed: int, *, seq: int = 32, stride: int = 4,
            text_seed: int | None = None) -> Split:
    """Windows (input, next-char target) of a lexicon text; validation is fresh text."""
    text_seed = seed if text_seed is None else text_seed
    # one lexicon, two samples of text: same words, different sentences
    full = lexicon_text(train_chars + val_chars, text_seed)
    ids = torch.tensor([ALPHABET.index(ch) for ch in full])

    def windows(t: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.arange(0, len(t) - seq - 1, step)
        idx = starts[:, None] + torch.arange(seq)[None, :]
        return t[idx], t[idx + 1]

    xtr, ytr = windows(ids[:train_chars], stride)
    xva, yva = windows(ids[train_chars:], seq)
    return Split(xtr, ytr, xva, yva, len(ALPHABET))


def token_data(n_train: int, n_val: int, seed: int, *, k: int = 3, vocab: int = 40,
               length: int = 16, random_labels: bool = False) -> Split:
    """Token sequences whose class is which of ``k`` marker tokens occurs most often."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randint(k + 1, vocab, (n, length), generator=g)
        y = torch.randint(0, k, (n,), generator=g)
        n_mark = torch.randint(2, 5, (n,), generator=g)
        for i in range(n):
            pos = torch.randperm(length, generator=g)[: int(n_mark[i])]
            x[i, pos] = int(y[i]) + 1
            other = torch.randint(1, k + 1, (1,), generator=g)
            x[i, pos[:1]] = int(other)  # one decoy marker
        return x, y

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    if random_labels:
        ytr = torch.randint(0, k, (n_train,), generator=g)
        yva = torch.randint(0, k, (n_val,), generator=g)
    return Split(xtr, ytr, xva, yva, k)


# =======================================================================================
# models
# =======================================================================================
def mlp(d_in: int, hidden: int, d_out: int, depth: int = 2, act: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = hidden
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


def cnn(k: int = SHAPES, width: int = 8) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(8 * width, k),
    )


class CharRNN(nn.Module):
    """Embedding -> GRU or LSTM -> per-position logits over the alphabet."""

    def __init__(self, vocab: int, hidden: int, cell: str = "gru", layers: int = 1) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, 16)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(16, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.emb(x))
        return self.out(h)


class BagOfTokens(nn.Module):
    """Mean of token embeddings -> MLP: a tiny text classifier."""

    def __init__(self, vocab: int, k: int, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.head = mlp(dim, hidden, k, depth=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.emb(x).mean(1))


def ce_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for (N, K) or sequence (N, T, K) logits."""
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((out.argmax(-1) == y).float().mean())


# =======================================================================================
# optimizers and schedules
# =======================================================================================
def make_opt(name: str, params: Any, lr: float, **kw: Any) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **kw)
    if name == "sgdm":
        return torch.optim.SGD(params, lr=lr, momentum=kw.pop("momentum", 0.9), **kw)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, **kw)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, **kw)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, **kw)
    raise ValueError(name)


def make_sched(name: str, opt: torch.optim.Optimizer, total: int, lr: float) -> Any:
    """Per-step schedules: constant, step decay, cosine, warmup+linear decay, warmup+constant, OneCycle."""
    if name == "constant":
        return None
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, total // 3), gamma=0.3)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if name == "warmup_linear":
        warm = max(1, total // 10)
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    if name == "warmup_constant":
        warm = max(1, total // 20)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total + 1)
    raise ValueError(name)


# =======================================================================================
# what a run leaves behind for scoring
# =======================================================================================
@dataclass
class Trace:
    """The values a run logged, kept in-process for the independent label check."""

    train: list[tuple[int, float]] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)
    k: int | None = None
    paths: list[Path] = field(default_factory=list)


@dataclass
class Spec:
    name: str
    pattern: str  # "healthy" or the pattern the recipe should show
    logger: str  # tb | recorder | lightning | hf
    fn: Callable[[Path, int], Trace]
    about: str


SPECS: list[Spec] = []


def recipe(name: str, pattern: str, logger: str, about: str) -> Callable:
    def deco(fn: Callable[[Path, int], Trace]) -> Callable[[Path, int], Trace]:
        SPECS.append(Spec(name, pattern, logger, fn, about))
        return fn
    return deco


# =======================================================================================
# a plain training loop with pluggable loggers (SummaryWriter, Recorder)
# =======================================================================================
class Sink:
    """Where the plain loop logs: one train point per step, val points when evaluated."""

    def train(self, step: int, loss: float, lr: float) -> None: ...
    def val(self, step: int, loss: float, acc: float | None) -> None: ...
    def close(self) -> None: ...


class TBSink(Sink):
    """``SummaryWriter`` with the tags people use; optional ``add_hparams`` into the same folder."""

    def __init__(self, logdir: Path, tags: tuple[str, str, str] = ("Loss/train", "Loss/val", "Accuracy/val"),
                 hparams: dict[str, Any] | None = None, log_lr: bool = True) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.w = SummaryWriter(str(logdir))
        self.tags, self.hparams, self.log_lr = tags, hparams, log_lr
        self.best = math.inf

    def train(self, step: int, loss: float, lr: float) -> None:
        self.w.add_scalar(self.tags[0], loss, step)
        if self.log_lr:
            self.w.add_scalar("learning_rate", lr, step)

    def val(self, step: int, loss: float, acc: float | None) -> None:
        self.w.add_scalar(self.tags[1], loss, step)
        if acc is not None:
            self.w.add_scalar(self.tags[2], acc, step)
        if math.isfinite(loss):
            self.best = min(self.best, loss)

    def close(self) -> None:
        if self.hparams is not None:
            self.w.add_hparams(self.hparams, {"hparam/best_val_loss": self.best}, run_name=".")
        self.w.close()


class RecSink(Sink):
    """Our Recorder, with params and the number of classes."""

    def __init__(self, run_dir: Path, params: dict[str, Any], k: int | None) -> None:
        from diagnose.record import Recorder

        self.rec = Recorder(run_dir, params=params, num_classes=k, overwrite=True)

    def train(self, step: int, loss: float, lr: float) -> None:
        self.rec.log(step, train_loss=loss, lr=lr)

    def val(self, step: int, loss: float, acc: float | None) -> None:
        if acc is None:
            self.rec.log(step, val_loss=loss)
        else:
            self.rec.log(step, val_loss=loss, val_acc=acc)

    def close(self) -> None:
        self.rec.close()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
             classify: bool, bs: int = 1024) -> tuple[float, float | None]:
    model.eval()
    tot, correct, n = 0.0, 0.0, 0
    for i in range(0, len(x), bs):
        out = model(x[i:i + bs])
        m = len(x[i:i + bs])
        tot += float(loss_fn(out, y[i:i + bs])) * m
        if classify:
            correct += accuracy(out, y[i:i + bs]) * m
        n += m
    model.train()
    return tot / n, (correct / n if classify else None)


def fit(model: nn.Module, data: Split, sink: Sink, *, opt: torch.optim.Optimizer, epochs: int,
        bs: int, sched: str = "constant", lr: float, loss_fn: Callable = ce_loss,
        eval_every: int | None = None, corrupt: float = 0.0, corrupt_scale: float = 20.0,
        clip: float | None = None, seed: int = 0) -> Trace:
    """Mini-batch training; eval every ``eval_every`` steps, else at the end of each epoch.

    ``corrupt``: probability that a batch's inputs are multiplied by ``corrupt_scale``
    (a broken sample slipping through the pipeline).
    """
    g = torch.Generator().manual_seed(seed)
    n = len(data.xtr)
    per_epoch = math.ceil(n / bs)
    total = epochs * per_epoch
    scheduler = make_sched(sched, opt, total, lr)
    classify = data.k is not None
    trace = Trace(k=data.k)
    step = 0

    def do_eval() -> None:
        vl, va = evaluate(model, data.xva, data.yva, loss_fn, classify)
        sink.val(step, vl, va)
        trace.val.append((step, vl))

    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            x, y = data.xtr[idx], data.ytr[idx]
            if corrupt and float(torch.rand(1, generator=g)) < corrupt:
                x = x * corrupt_scale if x.is_floating_point() else x
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            step += 1
            lv = float(loss.detach())
            sink.train(step, lv, opt.param_groups[0]["lr"])
            trace.train.append((step, lv))
            if scheduler is not None:
                scheduler.step()
            if eval_every and step % eval_every == 0:
                do_eval()
        if not eval_every:
            do_eval()
    sink.close()
    return trace


def plain(out: Path, name: str, logger: str, model: nn.Module, data: Split, *, optim: str,
          lr: float, params: dict[str, Any] | None = None, tb_tags: tuple[str, str, str] | None = None,
          tb_hparams: bool = False, opt_kw: dict[str, Any] | None = None,
          opt_model: nn.Module | None = None, **fit_kw: Any) -> Trace:
    """Train ``model`` with the plain loop, logged by SummaryWriter (``tb``) or the Recorder.

    ``opt_model``: build the optimizer over this module's weights instead (a bug to reproduce).
    """
    opt = make_opt(optim, (opt_model or model).parameters(), lr, **(opt_kw or {}))
    p = {"lr": lr, "optimizer": optim, "batch_size": fit_kw.get("bs"), "epochs": fit_kw.get("epochs"),
         "schedule": fit_kw.get("sched", "constant"), **(params or {})}
    run_dir = out / name
    shutil.rmtree(run_dir, ignore_errors=True)  # SummaryWriter would add a second events file
    if logger == "tb":
        hp = {**{k: v for k, v in p.items() if v is not None}, **({"num_classes": data.k} if data.k else {})}
        sink: Sink = TBSink(run_dir, tags=tb_tags or ("Loss/train", "Loss/val", "Accuracy/val"),
                            hparams=hp if tb_hparams else None)
    else:
        sink = RecSink(run_dir, p, data.k)
    trace = fit(model, data, sink, opt=opt, lr=lr, **fit_kw)
    trace.paths = [run_dir]
    return trace


# =======================================================================================
# Lightning
# =======================================================================================
def lightning(out: Path, name: str, model: nn.Module, data: Split, *, optim: str, lr: float,
              epochs: int, bs: int, sched: str = "constant", loss: str = "ce", log_every: int = 5,
              val_check_interval: float = 1.0, corrupt: float = 0.0, corrupt_scale: float = 20.0,
              seed: int = 0,
              lr_monitor: bool = False, save_k: bool = True, opt_kw: dict[str, Any] | None = None) -> Trace:
    """Train with ``lightning.pytorch.Trainer``, logging to both CSVLogger and TensorBoardLogger."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader, TensorDataset

    classify = loss == "ce"
    loss_fn = ce_loss if classify else F.mse_loss
    trace = Trace(k=data.k)
    per_epoch = math.ceil(len(data.xtr) / bs)
    total = epochs * per_epoch

    class Lit(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = model
            hp = {"lr": lr, "optimizer": optim, "batch_size": bs, "epochs": epochs, "schedule": sched}
            if classify and save_k and data.k:
                hp["num_classes"] = data.k
            self.save_hyperparameters(hp)
            self._g = torch.Generator().manual_seed(seed)

        def training_step(self, batch: Any, idx: int) -> torch.Tensor:
            x, y = batch
            if corrupt and float(torch.rand(1, generator=self._g)) < corrupt:
                x = x * corrupt_scale
            value = loss_fn(self.net(x), y)
            self.log("train_loss", value, on_step=True, on_epoch=False)
            if (self.global_step + 1) % log_every == 0:  # what the loggers will see
                trace.train.append((int(self.global_step), float(value)))
            return value

        def validation_step(self, batch: Any, idx: int) -> None:
            x, y = batch
            out_ = self.net(x)
            self.log("val_loss", loss_fn(out_, y))
            if classify:
                self.log("val_acc", accuracy(out_, y))

        def on_validation_epoch_end(self) -> None:
            if not self.trainer.sanity_checking:
                trace.val.append((int(self.global_step), float(self.trainer.callback_metrics["val_loss"])))

        def configure_optimizers(self) -> Any:
            opt = make_opt(optim, self.parameters(), lr, **(opt_kw or {}))
            s = make_sched(sched, opt, total, lr)
            if s is None:
                return opt
            return {"optimizer": opt, "lr_scheduler": {"scheduler": s, "interval": "step"}}

    torch.manual_seed(seed)
    tl = DataLoader(TensorDataset(data.xtr, data.ytr), batch_size=bs, shuffle=True,
                    generator=torch.Generator().manual_seed(seed))
    vl = DataLoader(TensorDataset(data.xva, data.yva), batch_size=512)
    for sub in ("lightning-csv", "lightning-tb"):
        shutil.rmtree(out / sub / name, ignore_errors=True)
    csv = CSVLogger(str(out / "lightning-csv"), name=name)
    tb = TensorBoardLogger(str(out / "lightning-tb"), name=name, default_hp_metric=False)
    trainer = pl.Trainer(
        max_epochs=epochs, accelerator="cpu", devices=1, logger=[csv, tb],
        log_every_n_steps=log_every, val_check_interval=val_check_interval,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[LearningRateMonitor(logging_interval="step")] if lr_monitor else [],
    )
    trainer.fit(Lit(), tl, vl)
    trace.paths = [Path(csv.log_dir), Path(tb.log_dir)]
    return trace


# =======================================================================================
# Hugging Face Trainer
# =======================================================================================
class _DictData(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor, key: str) -> None:
        self.x, self.y, self.key = x, y, key

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {self.key: self.x[i], "labels": self.y[i]}


class HFWrap(nn.Module):
    """A plain module in the shape Trainer expects: ``forward(x, labels) -> {"loss", "logits"}``."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.body(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = ce_loss(logits, labels)
        return out


def hf(out: Path, name: str, model: nn.Module, data: Split, *, lr: float, epochs: int, bs: int,
       sched: str = "linear", warmup: float = 0.0, logging_steps: int = 5, key: str = "x",
       max_grad_norm: float = 1.0, weight_decay: float = 0.0, seed: int = 0,
       evals_per_epoch: int = 1) -> Trace:
    """Train with ``transformers.Trainer``; ``save_state()`` writes ``trainer_state.json``."""
    from transformers import Trainer, TrainingArguments

    steps_per_epoch = math.ceil(len(data.xtr) / bs)
    eval_kw: dict[str, Any] = {"eval_strategy": "epoch"}
    if evals_per_epoch > 1:
        eval_kw = {"eval_strategy": "steps", "eval_steps": max(1, steps_per_epoch // evals_per_epoch)}
    args = TrainingArguments(
        output_dir=str(out / name), num_train_epochs=epochs, per_device_train_batch_size=bs,
        per_device_eval_batch_size=256, learning_rate=lr, lr_scheduler_type=sched,
        warmup_steps=int(warmup * epochs * steps_per_epoch), logging_steps=logging_steps, save_strategy="no", report_to="none",
        use_cpu=True, seed=seed, disable_tqdm=True, max_grad_norm=max_grad_norm,
        weight_decay=weight_decay, dataloader_num_workers=0, **eval_kw,
    )

    def metrics(p: Any) -> dict[str, float]:
        logits = p.predictions[0] if isinstance(p.predictions, tuple) else p.predictions
        return {"accuracy": float((np.argmax(logits, -1) == p.label_ids).mean())}

    trainer = Trainer(model=model, args=args, train_dataset=_DictData(data.xtr, data.ytr, key),
                      eval_dataset=_DictData(data.xva, data.yva, key), compute_metrics=metrics)
    trainer.train()
    trainer.save_state()
    if hasattr(model, "config"):  # a transformers model: config.json (num_labels) as users save it
        trainer.save_model()
    trace = Trace(k=data.k, paths=[out / name])
    for e in trainer.state.log_history:
        if "loss" in e and "eval_loss" not in e:
            trace.train.append((int(e["step"]), float(e["loss"])))
        if "eval_loss" in e:
            trace.val.append((int(e["step"]), float(e["eval_loss"])))
    return trace


def tiny_bert(k: int, vocab: int, length: int) -> nn.Module:
    """A 2-layer BertForSequenceClassification built from a config (no download)."""
    from transformers import BertConfig, BertForSequenceClassification

    cfg = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=length, num_labels=k,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForSequenceClassification(cfg)


# =======================================================================================
# the runs
# =======================================================================================
def seeded(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


# ---- healthy: properly tuned recipes that converge -------------------------------------
@recipe("h-tb-mlp-adam-cosine", "healthy", "tb", "K=5 teacher MLP, Adam 2e-3 + cosine, bs 64, 12 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(3000, 800, 20, 5, seed)
    return plain(out, "h-tb-mlp-adam-cosine", "tb", mlp(20, 64, 5), d, optim="adam", lr=2e-3,
                 epochs=12, bs=64, sched="cosine", seed=seed)


@recipe("h-rec-regression-onecycle", "healthy", "recorder", "MSE ~2000 at start, AdamW OneCycle, eval every 100 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(1500, 500, 12, seed + 1)
    return plain(out, "h-rec-regression-onecycle", "recorder", mlp(12, 64, 1), d, optim="adamw", lr=1e-2,
                 epochs=20, bs=32, sched="onecycle", loss_fn=F.mse_loss, eval_every=100, seed=seed)


@recipe("h-rec-gru-lm", "healthy", "recorder", "char GRU LM on a lexicon text, Adam 3e-3, eval every 50 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = lm_data(12000, 3000, seed + 2)
    return plain(out, "h-rec-gru-lm", "recorder", CharRNN(len(ALPHABET), 64), d, optim="adam", lr=3e-3,
                 epochs=3, bs=32, eval_every=50, seed=seed, clip=1.0)


@recipe("h-tb-rmsprop-reg-every-step", "healthy", "tb", "regression, RMSprop, 150 steps, val every step")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(2400, 256, 8, seed + 3, scale=3.0, noise=0.2)
    return plain(out, "h-tb-rmsprop-reg-every-step", "tb", mlp(8, 32, 1), d, optim="rmsprop", lr=3e-3,
                 epochs=2, bs=32, loss_fn=F.mse_loss, eval_every=1, seed=seed,
                 tb_tags=("train/loss", "val/loss", "val/acc"))


@recipe("h-tb-cnn-sgdm-step", "healthy", "tb", "shapes CNN, SGD momentum 0.9 + step decay, 6 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(1200, 400, seed + 4)
    return plain(out, "h-tb-cnn-sgdm-step", "tb", cnn(), d, optim="sgdm", lr=0.05, epochs=6, bs=32,
                 sched="step", seed=seed, tb_tags=("Loss/train", "Loss/validation", "Accuracy/validation"))


@recipe("h-rec-mlp-sgd-long", "healthy", "recorder", "binary teacher, plain SGD 0.1 constant, 3000 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(6000, 1000, 10, 2, seed + 5, temp=0.5)
    return plain(out, "h-rec-mlp-sgd-long", "recorder", mlp(10, 32, 2), d, optim="sgd", lr=0.1,
                 epochs=16, bs=32, eval_every=300, seed=seed)


@recipe("h-lit-mlp-k10-sgdm-cosine", "healthy", "lightning", "K=10 teacher, SGD momentum + cosine, 8 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2500, 600, 24, 10, seed + 6, temp=0.2)
    return lightning(out, "h-mlp-k10-sgdm-cosine", mlp(24, 96, 10), d, optim="sgdm", lr=0.05,
                     epochs=8, bs=64, sched="cosine", seed=seed, lr_monitor=True)


@recipe("h-lit-cnn-adam", "healthy", "lightning", "shapes CNN, Adam 3e-3 constant, 2 evals per epoch")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(1500, 300, seed + 7, noise=0.4)
    return lightning(out, "h-cnn-adam", cnn(width=12), d, optim="adam", lr=3e-3, epochs=6, bs=32,
                     val_check_interval=0.5, log_every=2, seed=seed)


@recipe("h-hf-bag-k3", "healthy", "hf", "bag-of-tokens K=3, AdamW 5e-3, warmup 10% + linear decay")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(1600, 400, seed + 8)
    return hf(out, "h-hf-bag-k3", HFWrap(BagOfTokens(40, 3)), d, lr=5e-3, epochs=6, bs=32,
              warmup=0.1, logging_steps=5, seed=seed)


@recipe("h-hf-bert-k2", "healthy", "hf", "tiny BertForSequenceClassification from a config, K=2")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(1200, 300, seed + 9, k=2)
    return hf(out, "h-hf-bert-k2", tiny_bert(2, 40, 16), d, lr=2e-3, epochs=4, bs=32,
              warmup=0.1, logging_steps=4, key="input_ids", seed=seed)


@recipe("h-rec-cnn-bs8-adam-step", "healthy", "recorder", "shapes CNN, batch 8 (noisy steps), Adam + step decay, eval every 100")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(1600, 400, seed + 35, noise=0.5)
    return plain(out, "h-rec-cnn-bs8-adam-step", "recorder", cnn(width=12), d, optim="adam", lr=2e-3,
                 epochs=3, bs=8, sched="step", eval_every=100, seed=seed)


@recipe("h-lit-lstm-lm-warmup", "healthy", "lightning", "char LSTM LM, AdamW warmup + linear decay, log every step")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = lm_data(8000, 2000, seed + 36, stride=6, seq=24)
    return lightning(out, "h-lstm-lm-warmup", CharRNN(len(ALPHABET), 64, "lstm"), d, optim="adamw",
                     lr=1e-2, epochs=4, bs=32, sched="warmup_linear", log_every=1, seed=seed,
                     val_check_interval=0.5)


@recipe("h-hf-bag-k8-dropout", "healthy", "hf", "bag-of-tokens K=8 with dropout, 4 evals per epoch, cosine")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(2400, 400, seed + 37, k=8, vocab=60)
    body = BagOfTokens(60, 8, dim=24, hidden=64)
    body.head = mlp(24, 64, 8, depth=1, dropout=0.1)
    return hf(out, "h-hf-bag-k8-dropout", HFWrap(body), d, lr=5e-3, epochs=4, bs=32, sched="cosine",
              warmup=0.05, logging_steps=3, evals_per_epoch=4, weight_decay=0.01, seed=seed)


@recipe("h-tb-mlp-k20-rmsprop", "healthy", "tb", "K=20 teacher, RMSprop 1e-3, batch 128, eval every 25 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(6000, 1000, 32, 20, seed + 38, temp=0.1)
    return plain(out, "h-tb-mlp-k20-rmsprop", "tb", mlp(32, 128, 20), d, optim="rmsprop", lr=1e-3,
                 epochs=10, bs=128, eval_every=25, seed=seed, tb_tags=("train_loss", "val_loss", "val_acc"))


@recipe("h-tb-short-50-steps", "healthy", "tb", "K=3 teacher, Adam 1e-2 + cosine, batch 128, only 50 steps, 5 evals")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(1280, 500, 8, 3, seed + 39, temp=0.1)
    return plain(out, "h-tb-short-50-steps", "tb", mlp(8, 64, 3), d, optim="adam", lr=1e-2,
                 epochs=5, bs=128, sched="cosine", eval_every=10, seed=seed)


# ---- flat loss -------------------------------------------------------------------------
@recipe("flat-tb-sgd-lr1e-6", "flat_loss", "tb", "regression, SGD lr=1e-6, 400 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(3200, 400, 10, seed + 10, scale=5.0)
    return plain(out, "flat-tb-sgd-lr1e-6", "tb", mlp(10, 32, 1), d, optim="sgd", lr=1e-6, epochs=4,
                 bs=32, loss_fn=F.mse_loss, eval_every=50, seed=seed)


@recipe("flat-rec-frozen", "flat_loss", "recorder", "K=3 teacher MLP; the optimizer holds another copy's weights")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2000, 500, 16, 3, seed + 11)
    # the classic bug: the optimizer was built before the model was re-created, so every
    # step updates weights the forward pass never uses and the model stays frozen
    stale = mlp(16, 64, 3)
    return plain(out, "flat-rec-frozen", "recorder", mlp(16, 64, 3), d, optim="adam", lr=1e-3,
                 epochs=5, bs=50, eval_every=40, seed=seed, opt_model=stale)


@recipe("flat-lit-adam-lr1e-6", "flat_loss", "lightning", "shapes CNN, Adam lr=1e-6, 3 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(800, 200, seed + 12)
    return lightning(out, "flat-adam-lr1e-6", cnn(), d, optim="adam", lr=1e-6, epochs=3, bs=16,
                     seed=seed)


@recipe("flat-hf-lr1e-7", "flat_loss", "hf", "bag-of-tokens K=4, AdamW lr=1e-7")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(1000, 300, seed + 13, k=4)
    return hf(out, "flat-hf-lr1e-7", HFWrap(BagOfTokens(40, 4)), d, lr=1e-7, epochs=3, bs=16,
              logging_steps=5, seed=seed)


# ---- explosion -------------------------------------------------------------------------
@recipe("explode-tb-sgd-regression", "explosion", "tb", "MSE regression, SGD lr 0.02 (10x too high) -> inf/NaN")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(2000, 400, 12, seed + 14)
    return plain(out, "explode-tb-sgd-regression", "tb", mlp(12, 64, 1), d, optim="sgd", lr=0.02,
                 epochs=2, bs=32, loss_fn=F.mse_loss, eval_every=20, seed=seed)


@recipe("explode-lit-adam-lr1", "explosion", "lightning", "deep tanh MLP K=6, Adam lr=1 no warmup")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2000, 400, 16, 6, seed + 15)
    return lightning(out, "explode-adam-lr1", mlp(16, 128, 6, depth=4), d, optim="adam", lr=1.0,
                     epochs=3, bs=32, seed=seed)


@recipe("explode-rec-lstm-sgd", "explosion", "recorder", "char LSTM LM, SGD lr=40, no clipping")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = lm_data(6000, 1500, seed + 16)
    return plain(out, "explode-rec-lstm-sgd", "recorder", CharRNN(len(ALPHABET), 64, "lstm"), d,
                 optim="sgd", lr=40.0, epochs=1, bs=16, eval_every=25, seed=seed)


@recipe("explode-hf-lr3", "explosion", "hf", "bag-of-tokens K=3, AdamW lr=3 after 10% warmup, no grad clipping")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(1200, 300, seed + 17)
    return hf(out, "explode-hf-lr3", HFWrap(BagOfTokens(40, 3, hidden=64)), d, lr=3.0, epochs=3, bs=16,
              sched="constant_with_warmup", warmup=0.1, max_grad_norm=0.0, logging_steps=5, seed=seed)


# ---- generalization gap ----------------------------------------------------------------
@recipe("gap-tb-tiny-train", "generalization_gap", "tb", "48 train examples, 64 features, 512-wide MLP, Adam 3e-4, eval each epoch")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(48, 1000, 64, 4, seed + 18)
    return plain(out, "gap-tb-tiny-train", "tb", mlp(64, 512, 4), d, optim="adam", lr=3e-4, epochs=60,
                 bs=16, seed=seed)


@recipe("gap-lit-cnn-40", "generalization_gap", "lightning", "shapes CNN (wide) on 40 images")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(40, 400, seed + 19, noise=0.5)
    return lightning(out, "gap-cnn-40", cnn(width=32), d, optim="adam", lr=3e-3, epochs=40, bs=8,
                     log_every=2, seed=seed)


@recipe("gap-rec-regression-30", "generalization_gap", "recorder", "regression on 30 examples, 40 features, big MLP")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(30, 500, 40, seed + 20, scale=10.0)
    return plain(out, "gap-rec-regression-30", "recorder", mlp(40, 256, 1), d, optim="adam", lr=1e-3,
                 epochs=150, bs=10, loss_fn=F.mse_loss, eval_every=15, seed=seed)


# ---- late overfitting (U-shaped validation) --------------------------------------------
@recipe("late-rec-gru-small-corpus", "late_overfitting", "recorder", "char GRU (128) on a 1,000-char corpus, 24 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = lm_data(1000, 2000, seed + 21, stride=2, seq=24)
    return plain(out, "late-rec-gru-small-corpus", "recorder", CharRNN(len(ALPHABET), 128), d,
                 optim="adam", lr=3e-3, epochs=24, bs=32, eval_every=20, seed=seed, clip=1.0)


@recipe("late-tb-noisy-labels", "late_overfitting", "tb", "300 examples, 30% noisy train labels, SGD momentum, 150 epochs, eval every 2")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(300, 1000, 20, 3, seed + 22, label_noise=0.3, temp=0.15)
    return plain(out, "late-tb-noisy-labels", "tb", mlp(20, 256, 3), d, optim="sgdm", lr=0.03,
                 epochs=150, bs=25, eval_every=24, seed=seed)


@recipe("late-lit-noisy-labels", "late_overfitting", "lightning", "400 examples, 25% noisy labels, Adam, 60 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(400, 800, 16, 4, seed + 23, label_noise=0.25, temp=0.15)
    return lightning(out, "late-noisy-labels", mlp(16, 128, 4), d, optim="adam", lr=2e-3, epochs=60,
                     bs=50, log_every=4, seed=seed)


@recipe("late-hf-bag-small", "late_overfitting", "hf", "bag-of-tokens on 150 examples, 60 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(150, 400, seed + 24, k=3, vocab=200)
    return hf(out, "late-hf-bag-small", HFWrap(BagOfTokens(200, 3, dim=64, hidden=128)), d, lr=4e-3,
              epochs=60, bs=16, sched="constant", logging_steps=10, seed=seed)


# ---- uniform predictions (random labels) -----------------------------------------------
@recipe("uniform-rec-k10-random", "uniform_predictions", "recorder", "K=10 random labels, small MLP, 8000 examples")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(8000, 1000, 20, 10, seed + 25, random_labels=True)
    return plain(out, "uniform-rec-k10-random", "recorder", mlp(20, 16, 10), d, optim="sgdm", lr=0.02,
                 epochs=3, bs=64, eval_every=50, seed=seed)


@recipe("uniform-lit-k4-random", "uniform_predictions", "lightning", "K=4 random labels, shapes CNN")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = shapes_data(1500, 300, seed + 26)
    g = torch.Generator().manual_seed(seed)
    d.ytr = torch.randint(0, SHAPES, (len(d.ytr),), generator=g)
    d.yva = torch.randint(0, SHAPES, (len(d.yva),), generator=g)
    return lightning(out, "uniform-k4-random", cnn(), d, optim="adam", lr=1e-3, epochs=3, bs=32,
                     seed=seed)


@recipe("uniform-tb-k3-random", "uniform_predictions", "tb", "K=3 random labels, add_hparams(num_classes)")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(5000, 800, 12, 3, seed + 27, random_labels=True)
    return plain(out, "uniform-tb-k3-random", "tb", mlp(12, 16, 3), d, optim="adam", lr=1e-3, epochs=3,
                 bs=64, seed=seed, tb_hparams=True, eval_every=40)


@recipe("uniform-hf-k5-random", "uniform_predictions", "hf", "K=5 random labels, tiny BERT, save_model() writes config.json")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(2000, 300, seed + 28, k=5, random_labels=True)
    return hf(out, "uniform-hf-k5-random", tiny_bert(5, 40, 16), d, lr=1e-3, epochs=2, bs=32,
              logging_steps=5, key="input_ids", seed=seed)


# ---- loss spikes -----------------------------------------------------------------------
@recipe("spikes-tb-corrupt-batches", "loss_spikes", "tb", "teacher MLP, 1.5% of batches with inputs x20")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(3200, 600, 16, 4, seed + 29)
    return plain(out, "spikes-tb-corrupt-batches", "tb", mlp(16, 64, 4), d, optim="adam", lr=1e-3,
                 epochs=8, bs=32, corrupt=0.015, sched="cosine", seed=seed)


@recipe("spikes-rec-adam-highlr", "loss_spikes", "recorder", "noise-free regression, Adam lr 0.05 (5% warmup), bs 512, 1500 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    # near the optimum Adam's second-moment estimate is tiny: with a high lr, some steps
    # overshoot and the loss jumps 6-15x before it settles again (verified over seeds).
    # A short warmup keeps the first steps from blowing up, which is another pattern.
    d = regression_data(2000, 400, 8, seed + 30, scale=1.0, noise=0.0)
    return plain(out, "spikes-rec-adam-highlr", "recorder", mlp(8, 64, 1, depth=3), d, optim="adam",
                 lr=0.05, epochs=375, bs=512, loss_fn=F.mse_loss, eval_every=100, seed=seed,
                 sched="warmup_constant")


@recipe("spikes-lit-corrupt-x8", "loss_spikes", "lightning", "K=3 teacher MLP, 2% of batches with inputs x8, log every step")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2400, 400, 10, 3, seed + 31, temp=0.1)
    return lightning(out, "spikes-corrupt-x8", mlp(10, 64, 3), d, optim="adam", lr=2e-3, epochs=6,
                     bs=32, corrupt=0.02, corrupt_scale=8.0, log_every=1, seed=seed)


# ---- slow convergence (lr 10-30x too small for the budget) -----------------------------
@recipe("slow-tb-sgd-lr-div10", "slow_convergence", "tb", "K=4 teacher, SGD lr 0.015 (healthy 0.15)")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2400, 600, 16, 4, seed + 32)
    return plain(out, "slow-tb-sgd-lr-div10", "tb", mlp(16, 64, 4), d, optim="sgd", lr=0.015, epochs=6,
                 bs=32, seed=seed)


@recipe("slow-rec-linreg-sgd", "slow_convergence", "recorder", "linear regression (MSE ~2000), SGD lr 2e-4 (healthy 5e-3)")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = regression_data(2000, 400, 12, seed + 33)
    return plain(out, "slow-rec-linreg-sgd", "recorder", nn.Linear(12, 1), d, optim="sgd", lr=2e-4,
                 epochs=8, bs=32, loss_fn=F.mse_loss, eval_every=100, seed=seed)


@recipe("slow-lit-adam-lr-div10", "slow_convergence", "lightning", "K=3 teacher, Adam lr 1e-4 (healthy 1e-3)")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2000, 500, 16, 3, seed + 34)
    return lightning(out, "slow-adam-lr-div10", mlp(16, 64, 3), d, optim="adam", lr=1e-4, epochs=6,
                     bs=32, seed=seed)


# =======================================================================================
# independent label checks (on the values each run logged, not diagnose's features)
# =======================================================================================
def _arr(points: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    if not points:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    s, v = zip(*points)
    return np.asarray(s), np.asarray(v, dtype=np.float64)


def _ends(v: np.ndarray, frac: float = 0.1) -> tuple[float, float]:
    """Mean of the first and last ``frac`` of the finite values."""
    v = v[np.isfinite(v)]
    m = max(1, int(len(v) * frac))
    return float(v[:m].mean()), float(v[-m:].mean())


def label_check(pattern: str, t: Trace) -> tuple[bool, str]:
    """Does the logged curve show what the label says? A plain reading of the numbers."""
    _, tr = _arr(t.train)
    _, va = _arr(t.val)
    fin = tr[np.isfinite(tr)]
    if len(fin) == 0:
        return False, "no finite train loss"
    a, b = _ends(tr)
    drop = (a - b) / abs(a)
    desc = f"train {a:.4g} -> {b:.4g} ({drop:+.0%} drop, {len(tr)} pts)"
    if len(va):
        vf = va[np.isfinite(va)]
        if len(vf):
            i = int(np.argmin(vf))
            desc += f"; val {vf[0]:.4g} -> best {vf[i]:.4g} (eval {i + 1}/{len(vf)}) -> end {vf[-1]:.4g}"
    nonfinite = int((~np.isfinite(tr)).sum()) + int((~np.isfinite(va)).sum())
    if nonfinite:
        desc += f"; {nonfinite} non-finite"
    if pattern == "healthy":
        ok = drop > 0.3 and nonfinite == 0 and fin.max() < 3 * fin[0]
    elif pattern == "flat_loss":
        ok = abs(drop) < 0.05
    elif pattern == "explosion":
        # a classifier starts near ln(K): a first logged loss far above it means the
        # blow-up happened before the first log (loggers that write every N steps)
        early = t.k is not None and fin[0] > 3 * math.log(t.k)
        if early:
            desc += f"; first logged loss {fin[0] / math.log(t.k):.3g}x ln(K)"
        ok = nonfinite > 0 or fin.max() > 3 * fin[0] or early
    elif pattern == "generalization_gap":
        vf = va[np.isfinite(va)]
        i = int(np.argmin(vf))
        ts, tv = _arr(t.train)
        vs, _ = _arr(t.val)
        # train loss near the best eval: mean of the 10 logged points before it
        j = int(np.searchsorted(ts, vs[np.isfinite(va)][i]))
        t_at = float(np.mean(tv[max(0, j - 10): j + 1]))
        desc += f"; at best val, train {t_at:.4g} ({vf[i] / max(t_at, 1e-12):.1f}x)"
        ok = vf[i] > 1.5 * t_at and (vf[i] - t_at) > 0.15 * a
    elif pattern == "late_overfitting":
        vf = va[np.isfinite(va)]
        i = int(np.argmin(vf))
        # a U: the best is not among the last evals, and the last quarter stays clearly above it
        tail = float(vf[-max(2, len(vf) // 4):].mean())
        desc += f"; last-quarter mean {tail / vf[i]:.2f}x best"
        ok = i < len(vf) - 2 and vf[-1] > 1.1 * vf[i] and tail > 1.1 * vf[i]
    elif pattern == "uniform_predictions":
        lnk = math.log(t.k or 2)
        desc += f"; ln(K)={lnk:.4g}"
        ok = abs(b / lnk - 1) < 0.05
    elif pattern == "loss_spikes":
        # points more than 3x the median of the 20 before them, after which a 5-point
        # running mean comes back under 1.5x that level within 100 points
        n_sp, i = 0, 20
        while i < len(fin) - 5:
            prev = float(np.median(fin[i - 20:i]))
            back = np.convolve(fin[i + 1:i + 101], np.ones(5) / 5, "valid")
            if fin[i] > 3 * prev and len(back) and back.min() < 1.5 * prev:
                n_sp += 1
                i += 20  # one event
            i += 1
        desc += f"; {n_sp} jump(s) > 3x the previous 20's median that came back"
        desc += f"; max {fin.max() / fin[0]:.1f}x the first value"
        ok = n_sp >= 1
    elif pattern == "slow_convergence":
        m = len(fin) // 2
        first, second = fin[0:max(1, m // 5)].mean() - fin[m - m // 10: m + m // 10 + 1].mean(), \
            fin[m - m // 10: m + m // 10 + 1].mean() - fin[-max(1, m // 5):].mean()
        desc += f"; 1st-half fall / 2nd-half fall = {first / second if second > 0 else math.inf:.2f}"
        ok = 0.05 <= drop < 0.35 and second > 0 and first / second < 3
    else:
        ok = True
    return bool(ok), desc


# =======================================================================================
# scoring
# =======================================================================================
@dataclass
class Scored:
    spec: Spec
    path: Path
    source: str
    expected: set[str]
    got: dict[str, list[Any]]  # pattern -> findings (warning/error)
    label_ok: bool
    label_desc: str
    run: Any


def _source(spec: Spec, path: Path) -> str:
    if spec.logger == "lightning":
        return "lightning-csv" if "lightning-csv" in path.parts else "lightning-tb"
    return spec.logger


def score(results: list[tuple[Spec, Trace]]) -> list[Scored]:
    import diagnose

    paths = [p for _, t in results for p in t.paths]
    report = diagnose.check(paths)
    by_path: dict[str, Any] = {}
    for r in report.runs:
        by_path[str(Path(r.path).resolve())] = r
    out: list[Scored] = []
    for spec, trace in results:
        ok, desc = label_check(spec.pattern, trace)
        for p in trace.paths:
            run = by_path.get(str(p.resolve()))
            if run is None:  # a reader may have named the run folder differently: match by prefix
                run = next((r for k, r in by_path.items() if k.startswith(str(p.resolve()))), None)
            exp = set() if spec.pattern == "healthy" else {spec.pattern}
            got: dict[str, list[Any]] = defaultdict(list)
            if run is None:
                got["(run not read)"] = []
            else:
                for f in report.for_run(run.id):
                    # info patterns count only against a healthy label (and only at warning+)
                    if f.severity in ("error", "warning") and (not exp or f.pattern not in INFO_PATTERNS):
                        got[f.pattern].append(f)
            out.append(Scored(spec, p, _source(spec, p), exp, dict(got), ok, desc, run))
    for e in report.errors:
        print(f"READ ERROR: {e}")
    return out


def tables(scored: list[Scored]) -> str:
    """Per-pattern TP/FP/FN, healthy runs clean, and the same by logger."""
    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    clean = [0, 0]
    by_src: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # hits, runs
    for s in scored:
        allowed = set(s.expected)
        for p in s.expected:
            allowed |= COMPATIBLE.get(p, set())
        for p in s.expected:
            hit = p in s.got
            stats[p]["tp" if hit else "fn"] += 1
        for p in set(s.got) - allowed:
            stats[p]["fp"] += 1
        if not s.expected:
            clean[1] += 1
            clean[0] += not s.got
            good = not s.got
        else:
            good = all(p in s.got for p in s.expected) and not (set(s.got) - allowed)
        by_src[s.source][0] += good
        by_src[s.source][1] += 1
    lines = ["| pattern | TP | FP | FN | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    for p in sorted(stats):
        st = stats[p]
        prec = st["tp"] / (st["tp"] + st["fp"]) if st["tp"] + st["fp"] else float("nan")
        rec = st["tp"] / (st["tp"] + st["fn"]) if st["tp"] + st["fn"] else float("nan")
        lines.append(f"| {p} | {st['tp']} | {st['fp']} | {st['fn']} | {prec:.2f} | {rec:.2f} |")
    share = f"{clean[0] / clean[1]:.2f}" if clean[1] else "n/a"
    lines.append(f"| (healthy runs clean) | {clean[0]} | | {clean[1] - clean[0]} | | {share} |")
    lines.append("")
    lines.append("| logger | runs judged exactly right |")
    lines.append("|---|---:|")
    for src in sorted(by_src):
        h, n = by_src[src]
        lines.append(f"| {src} | {h}/{n} |")
    return "\n".join(lines)


def _rule_names(pattern: str) -> list[str]:
    """Feature names used by the rules of one pattern (what to show when it misfires)."""
    import diagnose
    from diagnose.features import FEATURES

    names: list[str] = []
    for r in diagnose.load_rules():
        if r.pattern == pattern:
            names += [n for n in sorted(r.names) if n in FEATURES and n not in names]
    return names


def misfires(scored: list[Scored]) -> str:
    """Every healthy run with a warning/error and every missed pattern, with why."""
    from diagnose.features import FEATURES, RunContext, compute

    out: list[str] = []
    for s in scored:
        allowed = set(s.expected)
        for p in s.expected:
            allowed |= COMPATIBLE.get(p, set())
        missed = [p for p in s.expected if p not in s.got]
        extra = [p for p in s.got if p not in allowed]
        if not missed and not extra:
            continue
        out.append(f"- {s.spec.name} [{s.source}] labelled {s.spec.pattern}: "
                   + (f"MISSED {missed} " if missed else "") + (f"UNEXPECTED {extra}" if extra else ""))
        out.append(f"    path: {s.path}")
        out.append(f"    recipe: {s.spec.about}")
        out.append(f"    label check: {'ok' if s.label_ok else 'FAILED'}: {s.label_desc}")
        for p in extra:
            for f in s.got[p]:
                out.append(f"    {f.rule} {f.severity}: {f.message}")
        if s.run is None:
            out.append("    (run not found by diagnose)")
            continue
        # run-scope features only: the group ones need a GroupContext
        vals = compute({n for n, f in FEATURES.items() if f.scope == "run"}, RunContext(s.run))
        for p in missed + extra:
            feats = ", ".join(f"{n}={_fmt(vals.get(n))}" for n in _rule_names(p))
            out.append(f"    features for {p}: {feats}")
        for f_list in s.got.values():
            for f in f_list:
                if f.pattern in allowed and f.pattern not in s.expected:
                    out.append(f"    (compatible) {f.rule}: {f.message}")
    return "\n".join(out) if out else "(none)"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# =======================================================================================
def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning",
                 "transformers", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


MANIFEST = "runs.json"


def save(out: Path, results: list[tuple[Spec, Trace]]) -> None:
    """Keep each run's label and logged values beside the runs, for ``--rescore``."""
    rows = [{"name": sp.name, "pattern": sp.pattern, "logger": sp.logger, "about": sp.about,
             "k": t.k, "paths": [str(p.relative_to(out)) for p in t.paths],
             "train": t.train, "val": t.val} for sp, t in results]
    (out / MANIFEST).write_text(json.dumps(rows))


def load(out: Path) -> list[tuple[Spec, Trace]]:
    rows = json.loads((out / MANIFEST).read_text())
    return [(Spec(r["name"], r["pattern"], r["logger"], lambda o, s: Trace(), r["about"]),
             Trace([tuple(x) for x in r["train"]], [tuple(x) for x in r["val"]], r["k"],
                   [out / p for p in r["paths"]])) for r in rows]


def report(scored: list[Scored], header: str) -> None:
    print()
    print(header)
    print(f"{platform.processor() or platform.machine()}, nproc={os.cpu_count()}, torch {torch.__version__}")
    print()
    print(tables(scored))
    print()
    print("misfires (healthy runs with warnings/errors, missed patterns):")
    print(misfires(scored))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="write the runs here (default: a temp dir)")
    ap.add_argument("--only", action="append", default=[], help="run names containing this (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the recipes and exit")
    ap.add_argument("--rescore", type=Path, nargs="+", metavar="DIR",
                    help="judge the runs kept in these seed folders again (pooled)")
    ap.add_argument("--verbose", action="store_true", help="show the libraries' own output")
    args = ap.parse_args(argv)
    if args.list:
        for s in SPECS:
            print(f"{s.name:34s} {s.pattern:20s} {s.logger:10s} {s.about}")
        return
    if args.rescore:
        results = [r for d in args.rescore for r in load(d)]
        scored = score(results)
        where = ", ".join(map(str, args.rescore))
        report(scored, f"fresh runs rescored: {len(results)} recipe runs, {len(scored)} scored runs ({where})")
        return
    torch.set_num_threads(1)
    _quiet()
    out = (args.out or Path(tempfile.mkdtemp(prefix="diagnose-fresh-"))) / f"seed-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    specs = [s for s in SPECS if not args.only or any(o in s.name for o in args.only)]
    t0 = time.perf_counter()
    results: list[tuple[Spec, Trace]] = []
    for spec in specs:
        t1 = time.perf_counter()
        sink = io.StringIO()
        if args.verbose:
            trace = spec.fn(out, args.seed * 1000)
        else:
            with redirect_stdout(sink), redirect_stderr(sink):
                trace = spec.fn(out, args.seed * 1000)
        ok, desc = label_check(spec.pattern, trace)
        print(f"{spec.name:34s} {time.perf_counter() - t1:5.1f}s  label {'ok ' if ok else 'BAD'} {desc}",
              flush=True)
        results.append((spec, trace))
    save(out, results)
    t_train = time.perf_counter() - t0
    scored = score(results)
    report(scored, f"fresh runs: seed {args.seed}, {len(specs)} recipes, {len(scored)} scored runs, "
                   f"trained in {t_train:.0f} s, total {time.perf_counter() - t0:.0f} s ({out})")


if __name__ == "__main__":
    main()
