"""A Keras History printed into a log (``log.info(str(history.history))`` after a silent
``fit``) is that run's record: a public Keras transfer-learning log held nothing else, and
diagnose said it named no loss. The fixture is a real Keras 3 run
(``fixtures/make_text_fixtures.py``, case ``keras_history_logged``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.readers import textlog

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "textlog" / "keras_history_logged"
#: the History's keys -> the names the rules read (written out here, on purpose)
NAMES = {"loss": "train/loss", "acc": "train/acc", "val_loss": "val/loss", "val_acc": "val/acc"}


def test_the_logged_history_is_read_value_for_value_one_epoch_a_step() -> None:
    expected = json.loads((CASE / "expected.json").read_text())["runs"][0]
    (run,) = diagnose.load_all(CASE / "train.log")
    assert set(expected["metrics"]) == set(NAMES)
    for key, rec in expected["metrics"].items():
        steps, values = run.arrays(NAMES[key])
        assert steps.tolist() == rec["steps"] == list(range(expected["epochs"]))
        # Python's repr of a float reads back to the same float
        assert np.array_equal(values, np.array(rec["values"])), key
    assert run.format == "keras"


def test_num_class_printed_by_the_script_is_the_number_of_classes() -> None:
    (run,) = diagnose.load_all(CASE / "train.log")
    assert run.params.get("num_classes") == 3


@pytest.mark.parametrize("line", [
    # a config dict with lists: milestones and loss weights beside a scalar
    "{'milestones': [30, 60], 'loss_weights': [1.0, 0.5], 'gamma': 0.1}",
    # lists of unequal length: no per-epoch table
    "{'loss': [0.9, 0.5, 0.4], 'val_loss': [0.8, 0.7]}",
    # no loss among the lists
    "{'acc': [0.5, 0.6, 0.7], 'val_acc': [0.5, 0.55, 0.6]}",
])
def test_a_printed_dict_that_is_no_history_is_no_record(line: str) -> None:
    assert not textlog.parse(f"INFO:root:{line}\n").records


def test_epoch_lines_beside_a_printed_history_are_the_record(tmp_path: Path) -> None:
    """A log that prints its epochs and then the History: the epoch lines are read, as before."""
    text = "".join(f"epoch {e} | loss {1 / e:.3f} | val_loss {1.2 / e:.3f}\n" for e in range(1, 6))
    text += "{'loss': [1.0, 0.5, 0.333, 0.25, 0.2], 'val_loss': [1.2, 0.6, 0.4, 0.3, 0.24]}\n"
    (tmp_path / "train.log").write_text(text)
    (run,) = diagnose.load_all(tmp_path / "train.log")
    assert run.arrays("train/loss")[0].tolist() == [1, 2, 3, 4, 5]
