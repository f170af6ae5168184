"""Native runs for the misses of issue 14 that need the trainer itself to log (one writer each).

- a tiny ``BertForSequenceClassification`` built from a config, 2 classes, HF ``Trainer`` with
  ``logging_steps=5`` at lr=200 and lr=5: the blow-up happens inside the first logging window;
- one diverging Lightning run (Adam lr=10, deep MLP) trained twice with the same seed, logged
  every step and every 5 steps, each through ``CSVLogger`` and ``TensorBoardLogger``;
- Keras ``fit`` on the torch backend with its ``CSVLogger`` (one row per epoch), healthy and
  diverging.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .core import Trace, hf, lightning, mlp, recipe, seeded, teacher_data, tiny_bert, token_data


@recipe("m-hf-bert-lr200-every5", "explosion", "hf", "tiny BERT from a config, K=2, lr=200, logging_steps=5")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(800, 200, seed + 201, k=2)
    return hf(out, "m-hf-bert-lr200-every5", tiny_bert(2, 40, 16), d, lr=200.0, epochs=2, bs=32,
              logging_steps=5, key="input_ids", seed=seed)


@recipe("m-hf-bert-lr5-every5", "explosion", "hf", "tiny BERT from a config, K=2, lr=5, logging_steps=5")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = token_data(800, 200, seed + 202, k=2)
    return hf(out, "m-hf-bert-lr5-every5", tiny_bert(2, 40, 16), d, lr=5.0, epochs=2, bs=32,
              logging_steps=5, key="input_ids", seed=seed)


def _diverge(out: Path, seed: int, every: int) -> Trace:
    seeded(seed)
    d = teacher_data(1600, 400, 16, 6, seed + 203)
    return lightning(out, f"m-lit-diverge-lr10-every{every}", mlp(16, 128, 6, depth=4), d, optim="adam",
                     lr=10.0, epochs=2, bs=32, log_every=every, seed=seed)


@recipe("m-lit-diverge-lr10-every1", "explosion", "lightning", "deep MLP K=6, Adam lr=10, logged every step")
def _(out: Path, seed: int) -> Trace:
    return _diverge(out, seed, 1)


@recipe("m-lit-diverge-lr10-every5", "explosion", "lightning", "the same run, logged every 5 steps")
def _(out: Path, seed: int) -> Trace:
    return _diverge(out, seed, 5)


def keras_fit(out: Path, name: str, d: Any, *, lr: float, optim: str, epochs: int, bs: int,
              seed: int) -> Trace:
    """Train a Keras ``Sequential`` on the torch backend; ``CSVLogger`` writes ``training.log``
    once per epoch (the mean loss over the epoch's steps)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((d.xtr.shape[1],)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(d.k)])
    opt = keras.optimizers.Adam(lr) if optim == "adam" else keras.optimizers.SGD(lr)
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    run = out / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    hist = model.fit(d.xtr.numpy(), d.ytr.numpy(), batch_size=bs, epochs=epochs, verbose=0,
                     validation_data=(d.xva.numpy(), d.yva.numpy()),
                     callbacks=[keras.callbacks.CSVLogger(str(run / "training.log"))])
    h = hist.history
    return Trace([(e, float(v)) for e, v in enumerate(h["loss"])],
                 [(e, float(v)) for e, v in enumerate(h["val_loss"])], d.k, [run])


@recipe("m-keras-healthy-adam", "healthy", "keras", "Keras fit (torch backend), teacher K=4, Adam 1e-3, 12 epochs of 63 steps")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(2000, 400, 12, 4, seed + 204, temp=0.2)
    return keras_fit(out, "m-keras-healthy-adam", d, lr=1e-3, optim="adam", epochs=12, bs=32, seed=seed)


@recipe("m-keras-sgd-lr-high", "explosion", "keras", "Keras fit (torch backend), teacher K=4, SGD lr=20, 30 epochs")
def _(out: Path, seed: int) -> Trace:
    seeded(seed)
    d = teacher_data(640, 400, 12, 4, seed + 205, temp=0.2)
    return keras_fit(out, "m-keras-sgd-lr-high", d, lr=20.0, optim="sgd", epochs=30, bs=32, seed=seed)
