"""A value that ends a sentence (``epoch: 3, duration: 88s, loss: 3.14735.``: a char-RNN
trainer's ``logging`` line) was no value at all: the reader refused any number followed by a
dot, so the whole log was "not read". A dot followed by another digit or letter still ends no
value (``1.2.3``, ``v2.0.1``, ``file.5.txt``).

The log is written by ``logging`` with the trainer's own format; the expectations are the
numbers logged, never what a reader returned.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose._errors import ReadError


def _log(path: Path, epochs: int = 30) -> list[float]:
    logger = logging.getLogger("__main__")  # as the trainer logs
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    losses = []
    for epoch in range(epochs):
        loss = round(0.8 + 2.7 * math.exp(-epoch / 6), 5)
        losses.append(loss)
        logger.info("epoch: %s, duration: %ds, loss: %.5f.", epoch, 88, loss)
        logger.info("generating with seed: \"is d\".")
    handler.close()
    logger.removeHandler(handler)
    return losses


def test_a_loss_that_ends_a_sentence_is_read(tmp_path: Path) -> None:
    losses = _log(tmp_path / "train.log")
    steps, values = diagnose.load(tmp_path / "train.log").arrays("train/loss")
    assert steps.tolist() == list(range(len(losses)))
    np.testing.assert_allclose(values, losses)


def test_a_dotted_version_is_still_no_value(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(f"epoch: {e}, loss: 1.{e}.{e + 1}\n" for e in range(10)))
    with pytest.raises(ReadError):
        diagnose.load(log)
