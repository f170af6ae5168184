"""The first 40 recipes (2026-11-27): one writer each, its own logging interval, trained natively."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .core import (
    ALPHABET,
    SHAPES,
    BagOfTokens,
    CharRNN,
    HFWrap,
    Trace,
    cnn,
    hf,
    lightning,
    lm_data,
    mlp,
    plain,
    recipe,
    regression_data,
    seeded,
    shapes_data,
    teacher_data,
    tiny_bert,
    token_data,
)


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


