"""Shared pieces of the fresh runs: synthetic data, tiny models, optimizers, schedules, the plain
loop with its sinks (SummaryWriter, Recorder), and native Lightning and Hugging Face training."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


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
                 label_noise: float = 0.0, random_labels: bool = False,
                 prior: tuple[float, ...] | None = None, bias: tuple[float, ...] | None = None) -> Split:
    """Labels from a random tanh teacher network (argmax of logits plus Gumbel noise).

    ``temp`` sets how noisy the labels are (the Bayes error), ``label_noise`` flips that
    share of the training labels only, ``random_labels`` draws every label uniformly, or
    from ``prior`` (class shares) when given; ``bias`` is added to the teacher's scaled
    logits (imbalanced classes a model can still learn).
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(d, 32, generator=g) / math.sqrt(d)
    w2 = torch.randn(32, k, generator=g) * 1.5

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, d, generator=g)
        logits = torch.tanh(x @ w1 * 2) @ w2
        u = torch.rand(n, k, generator=g).clamp_min(1e-9)
        scores = logits / temp + (torch.tensor(bias) if bias else 0.0)
        return x, (scores - torch.log(-torch.log(u))).argmax(1)

    xtr, ytr = make(n_train)
    xva, yva = make(n_val)
    if random_labels and prior:
        p = torch.tensor(prior, dtype=torch.float64)
        ytr = torch.multinomial(p, n_train, replacement=True, generator=g)
        yva = torch.multinomial(p, n_val, replacement=True, generator=g)
    elif random_labels:
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
    #: (step, train accuracy, validation accuracy) at the evaluations, where the recipe has them
    acc: list[tuple[int, float, float]] = field(default_factory=list)


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


