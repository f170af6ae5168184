"""A loop that prints ``Steps = 40, loss = 0.41`` (a course's grokking homework, public logs of
1,000 lines) was read with its records numbered 1, 2, ... in file order, so findings quoted
steps 214-853 for a spike the log prints at step 43,800; and its settings line (``LR = 0.001,
batch_size = 512, block_size = 9``) gave no learning rate to the advice. The fixture is a
real torch run (``fixtures/make_text_fixtures.py``, case ``steps_equals``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose.readers import textlog
from diagnose.readers._params import printed_params

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "textlog" / "steps_equals"


def test_the_printed_steps_are_the_steps() -> None:
    expected = json.loads((CASE / "expected.json").read_text())["runs"][0]
    (run,) = diagnose.load_all(CASE / "train.log")
    rec = expected["metrics"]["loss"]
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == rec["steps"]
    assert np.array_equal(values, np.array(rec["values"]))  # repr reads back exactly


def test_the_settings_line_gives_the_learning_rate_and_batch_size() -> None:
    expected = json.loads((CASE / "expected.json").read_text())["runs"][0]["params"]
    (run,) = diagnose.load_all(CASE / "train.log")
    for key, value in expected.items():
        assert run.params.get(key) == value, key


@pytest.mark.parametrize("line", [
    "steps = 5000",  # a setting alone on its line: no record
    "iters = 200, warmup = 10",  # settings, no metric
])
def test_a_plural_counter_set_alone_is_no_record(line: str) -> None:
    assert not textlog.parse(f"{line}\n").records


def test_settings_on_one_line_need_every_piece_to_be_a_setting() -> None:
    """``Steps = 0, loss = 2.6`` is a record, not settings: no knob is read from it."""
    assert printed_params(["Steps = 0, loss = 2.6"])[0] == {}
    assert printed_params(["LR = 0.001, batch_size = 512, block_size = 9"])[0] == {
        "lr": 0.001, "batch_size": 512}
