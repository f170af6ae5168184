"""A Keras History whose printed text was saved under a ``.json`` name.

People write ``f.write(str(history.history))`` into ``history.json``, or ``json.dump(
str(history.history), f)`` (one JSON string holding that text). Neither is a JSON object of
lists, yet the history is all there: it is read as the literal it is (never run), and a file
that is neither JSON nor such a literal is still a clear error naming the file.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.run import canonical_name

#: written by Keras itself (fixtures/make_habit_fixtures.py): ``str(history.history)``
PRINTED = Path(__file__).parent.parent / "fixtures" / "formats" / "keras_history_txt" / \
    "training_history.txt"


def _check_read(path: Path, data: dict) -> None:
    """Every list of the history is a curve, one point per epoch, with its numbers."""
    (run,) = diagnose.load_all(path.parent)
    assert run.format == "keras" and len(data) >= 4
    for raw, listed in data.items():
        got = np.stack(run.arrays(canonical_name(raw)))
        assert np.array_equal(got, np.stack([np.arange(len(listed)), listed]))


@pytest.mark.parametrize("how", ["written", "dumped"])
def test_printed_history_under_a_json_name_is_read(tmp_path, how):
    text = PRINTED.read_text(encoding="utf-8")
    data = ast.literal_eval(text)
    path = tmp_path / "history.json"
    if how == "written":  # f.write(str(history.history))
        path.write_text(text, encoding="utf-8")
    else:  # json.dump(str(history.history), f)
        path.write_text(json.dumps(text), encoding="utf-8")
    _check_read(path, data)
    r = CliRunner().invoke(main, ["check", str(path)], catch_exceptions=False)
    assert r.exit_code in (0, 1) and "not valid JSON" not in r.output


def test_a_json_name_holding_neither_is_still_an_error(tmp_path):
    path = tmp_path / "history.json"
    path.write_text("{'loss': [0.5, 0.4", encoding="utf-8")
    r = CliRunner().invoke(main, ["check", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 2 and "history.json" in r.output
    assert "not a Python dict of per-epoch lists" in r.output
