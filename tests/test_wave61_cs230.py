"""The CS230 project template (Stanford's ``cs230-code-examples``, forked by many student
projects) logs each epoch through ``logging`` as ``- Train metrics: accuracy: 0.035 ; loss:
5.754`` and then ``- Eval metrics : accuracy: 0.079 ; loss: 5.192``, with ``params.json``
beside ``train.log``. Both lines hold the same names, so the eval values were dropped and the
run was judged on its train curve alone: no gap or overfitting could ever be told.

The log here is written by the ``logging`` module with the template's own format and message
strings; the expected curves are the numbers logged, never what a reader returned.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

import diagnose

EPOCHS = 20


def _train(model_dir: Path) -> tuple[list[dict], list[dict]]:
    """Log a run the way the template's train.py does; return the train and eval metrics."""
    (model_dir / "params.json").write_text(json.dumps(
        {"learning_rate": 1e-3, "batch_size": 32, "num_epochs": EPOCHS, "dropout_rate": 0.0}))
    logger = logging.getLogger(f"cs230-{model_dir.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(model_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s:%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    train, evals = [], []
    logger.info("Loading the datasets...")
    logger.info("Starting training for %d epoch(s)", EPOCHS)
    for e in range(1, EPOCHS + 1):
        logger.info("Epoch %d/%d", e, EPOCHS)
        t = {"accuracy": 0.95 - 0.9 * math.exp(-e / 4), "loss": 0.1 + 3.0 * math.exp(-e / 4)}
        v = {"accuracy": 0.80 - 0.7 * math.exp(-e / 4),
             "loss": 0.7 + 2.8 * math.exp(-e / 4) + 0.06 * max(e - 8, 0)}
        for name, m, out in (("- Train metrics: ", t, train), ("- Eval metrics : ", v, evals)):
            logger.info(name + " ; ".join(f"{k}: {x:05.3f}" for k, x in m.items()))
            out.append({k: float(f"{x:05.3f}") for k, x in m.items()})
    handler.close()
    logger.removeHandler(handler)
    return train, evals


def test_eval_metrics_lines_are_the_validation_curve(tmp_path: Path) -> None:
    train, evals = _train(tmp_path)
    run = diagnose.load(tmp_path / "train.log")
    for metric, logged, key in (("train/loss", train, "loss"), ("val/loss", evals, "loss"),
                                ("train/acc", train, "accuracy"), ("val/acc", evals, "accuracy")):
        steps, values = run.arrays(metric)
        assert steps.tolist() == list(range(1, EPOCHS + 1)), metric
        np.testing.assert_allclose(values, [m[key] for m in logged], err_msg=metric)
    assert run.params["lr"] == 1e-3


def test_a_validation_loss_that_turns_up_is_found(tmp_path: Path) -> None:
    _train(tmp_path)
    patterns = {f.pattern for f in diagnose.check(tmp_path / "train.log").findings}
    assert patterns & {"late_overfitting", "generalization_gap"}
