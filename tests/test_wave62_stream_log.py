"""build-nanogpt's ``log.txt`` writes ``{step} {stream} {value}`` lines; forks that resume a
stage write a ``#`` comment first (``# stage started ... from best.pt at step 39001``) and
evaluation lines with several name-value pairs (``39250 valbin_ppl 19.37 valbin_loss 2.96``).
Either made the whole file "not read" (a fixed format owned no line of it).

The run here is real training (a bigram model over a tiny corpus fitted by gradient descent),
resumed at a step far from zero and logged the same way; the expected curves are the numbers
written, never what the reader returned.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import diagnose

START, STEPS, EVERY = 39001, 120, 40


def _train(path: Path) -> tuple[dict[int, float], dict[int, float]]:
    rng = np.random.default_rng(2)
    text = rng.integers(0, 6, size=400)
    x, y = text[:-1], text[1:]
    xv, yv = x[:80], y[:80]
    logits = np.zeros((6, 6))

    def nll(a: np.ndarray, b: np.ndarray) -> float:
        z = logits[a] - logits[a].max(axis=1, keepdims=True)
        return float(-np.mean(z[np.arange(len(b)), b] - np.log(np.exp(z).sum(axis=1))))

    train, val = {}, {}
    lines = [f"# stage started 2026-05-31T22:31:47 from best.pt at step {START}",
             "# constant lr: 0.5"]
    for step in range(START, START + STEPS):
        z = np.exp(logits[x] - logits[x].max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        grad = np.zeros_like(logits)
        np.add.at(grad, x, p / len(y))
        logits -= 0.5 * grad
        train[step] = float(f"{nll(x, y):.6f}")
        lines.append(f"{step} train {train[step]:.6f}")
        if (step - START + 1) % EVERY == 0:
            val[step] = float(f"{nll(xv, yv):.6f}")
            lines.append(f"{step} valbin_ppl {math.exp(val[step]):.6f} valbin_loss {val[step]:.6f}")
    path.write_text("\n".join(lines) + "\n")
    return train, val


def test_a_resumed_stream_log_with_comments_and_paired_evals_is_read(tmp_path: Path) -> None:
    path = tmp_path / "finetune_stage3.txt"
    train, val = _train(path)
    assert train[START + STEPS - 1] < train[START]  # by arithmetic: it learned
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == list(train) and values.tolist() == list(train.values())
    steps, values = run.arrays("valbin_loss")
    assert steps.tolist() == list(val) and values.tolist() == list(val.values())
