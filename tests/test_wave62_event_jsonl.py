"""A training script that writes structured events as JSON Lines opens the file with a record
of its settings and no step (``{"event": "start", "batch_size": 128, "max_steps": ...}``), then
``{"event": "train", "step": 10, "train_loss": ...}`` and ``{"event": "validation", "step": 100,
"validation_loss": ...}`` records (a public CS336 assignment's logger). The reader looked only
at the first line for a step, so such a log was "no training log found".

The run here is real training (least squares fitted by gradient descent) logged the same way;
the expected curves are the numbers written, never what the reader returned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import diagnose


def _train(path: Path, steps: int = 200, every: int = 10, eval_every: int = 50) -> tuple[dict, dict]:
    rng = np.random.default_rng(1)
    x, xv = rng.normal(size=(64, 8)), rng.normal(size=(64, 8))
    w_true = rng.normal(size=8)
    y, yv = x @ w_true + rng.normal(scale=0.1, size=64), xv @ w_true + rng.normal(scale=0.1, size=64)
    w = np.zeros(8)
    train, val = {}, {}
    with path.open("w") as f:
        f.write(json.dumps({"event": "start", "batch_size": 64, "max_steps": steps,
                            "device": "cpu", "run_name": "lsq"}) + "\n")
        for step in range(1, steps + 1):
            w -= 0.01 * 2 * x.T @ (x @ w - y) / len(y)
            if step % every == 0:
                loss = float(np.mean((x @ w - y) ** 2))
                train[step] = loss
                f.write(json.dumps({"event": "train", "run_name": "lsq", "step": step,
                                    "train_loss": loss, "learning_rate": 0.01}) + "\n")
            if step % eval_every == 0:
                val[step] = float(np.mean((xv @ w - yv) ** 2))
                f.write(json.dumps({"event": "validation", "run_name": "lsq", "step": step,
                                    "validation_loss": val[step]}) + "\n")
    return train, val


def test_event_jsonl_opening_with_a_settings_record_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lsq.jsonl"
    train, val = _train(path)
    assert "step" not in json.loads(path.read_text().splitlines()[0])
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == list(train) and values.tolist() == list(train.values())
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == list(val) and values.tolist() == list(val.values())
    assert run.params["batch_size"] == 64  # from the settings record


def test_the_same_log_under_a_log_name_is_read(tmp_path: Path) -> None:
    """DETR-style ``log.txt`` of JSON records, opening with its settings."""
    path = tmp_path / "log.txt"
    train, _ = _train(path)
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[1].tolist() == list(train.values())


def test_a_text_log_with_one_json_line_first_is_not_json_lines(tmp_path: Path) -> None:
    """A console log that prints its config as JSON and then plain lines stays a text log."""
    path = tmp_path / "train.log"
    lines = [json.dumps({"lr": 0.1, "batch_size": 32})] + \
        [f"epoch {e} loss: {1 / (e + 1):.4f}" for e in range(6)]
    path.write_text("\n".join(lines) + "\n")
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[1].tolist() == [float(f"{1 / (e + 1):.4f}") for e in range(6)]
