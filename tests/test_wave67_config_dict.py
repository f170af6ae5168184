"""A printed configuration dict that names an ``epoch`` is no Hugging Face log record.

A public Othello CNN's console log (bench/real-runs/w89k-othello-cnn-flat, tuning split) prints
its settings as a Python dict (``{'board_size': 8, ..., 'epoch': 20, ...}``) above twenty
``epoch : N/20 - loss = ...`` lines. The dict was taken for the Trainer's printed log dict, the
file was claimed as a Hugging Face console log, and then rejected as holding no counted loss:
the whole run went unread.
"""
from __future__ import annotations

import re
from pathlib import Path

import diagnose

LOG = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w89k-othello-cnn-flat" / \
    "logs" / "cnn.log"


def test_the_epoch_lines_are_read_past_a_printed_config_dict() -> None:
    text = LOG.read_text(encoding="utf-8")
    assert re.search(r"^\{'board_size'.*'epoch': 20", text, re.MULTILINE)  # the dict is there
    losses = [float(m.group(2)) for m in re.finditer(r"epoch : (\d+)/20 - loss = ([\d.]+)", text)]
    run = diagnose.load(LOG)
    steps, values = run.arrays("train/loss")
    assert values.tolist() == losses and len(losses) == 20
    assert steps.tolist() == list(range(1, 21))


def test_a_printed_trainer_dict_with_a_loss_is_still_a_record(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("".join(f"{{'loss': {2.0 - 0.1 * i:.2f}, 'learning_rate': 5e-05, "
                           f"'epoch': {0.1 * (i + 1):.1f}}}\n" for i in range(8)), encoding="utf-8")
    run = diagnose.load(log)
    assert len(run.arrays("train/loss")[1]) == 8
