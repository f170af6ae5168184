"""Native runs for the misses of issue 14 that need the trainer itself to log (one writer each).

- a tiny ``BertForSequenceClassification`` built from a config, 2 classes, HF ``Trainer`` with
  ``logging_steps=5`` at lr=200 and lr=5: the blow-up happens inside the first logging window;
- one diverging Lightning run (Adam lr=10, deep MLP) trained twice with the same seed, logged
  every step and every 5 steps, each through ``CSVLogger`` and ``TensorBoardLogger``.
"""

from __future__ import annotations

from pathlib import Path

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
