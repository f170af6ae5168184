"""Issue 16, defect 9: values into the training loop.

``rec.log(sys.maxsize, ...)`` raised AttributeError (the "no live checks" sentinel met
``live=None``); a Python int beyond the float range (``10**400``) was recorded as inf
without a word; a W&B history row whose ``_step`` is ``2.7`` was truncated to step 2
and overwrote the real step 2.
"""

from __future__ import annotations

import json
import struct
import sys
import warnings
import zlib
from pathlib import Path

import pytest

import diagnose
from diagnose import Recorder

ROOT = Path(__file__).resolve().parents[2]
WANDB_RUN = ROOT / "fixtures" / "formats" / "wandb" / "explicit_steps"


def test_a_step_of_sys_maxsize_is_recorded(tmp_path: Path) -> None:
    with Recorder(tmp_path / "run", strict=True) as rec:
        rec.log(0, train_loss=1.0)
        rec.log(sys.maxsize, train_loss=0.5)  # the last step a 64-bit step column holds
    steps, values = diagnose.load(tmp_path / "run").arrays("train/loss")
    assert steps.tolist() == [0, sys.maxsize] and values.tolist() == [1.0, 0.5]


def test_an_int_beyond_the_float_range_warns_once(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Recorder(tmp_path / "run") as rec:
            rec.log(0, tokens=10**400, train_loss=1.0)
            rec.log(1, tokens=-(10**400), train_loss=0.9)
            rec.log(2, tokens=7, train_loss=0.8)
    said = [str(w.message) for w in caught if "float range" in str(w.message)]
    assert len(said) == 1 and "'tokens'" in said[0] and "step 0" in said[0], said
    steps, values = diagnose.load(tmp_path / "run").arrays("tokens")
    assert steps.tolist() == [0, 1, 2]
    assert values.tolist() == [float("inf"), float("-inf"), 7.0]  # written, never lost


def test_an_int_beyond_the_float_range_raises_in_strict_mode(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "run", strict=True)
    rec.log(0, tokens=10**400)
    with pytest.raises(ValueError, match="beyond the float range"):
        rec.flush()


# -- W&B: a forged history row ------------------------------------------------------------------


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _history_record(step_json: str, loss: float) -> bytes:
    """A W&B Record holding one history row: items (nested_key = 2, value_json = 16), no
    HistoryStep, so ``_step`` is the only step it has."""
    items = b"".join(
        _field(1, _field(2, key.encode()) + _field(16, value.encode()))
        for key, value in (("train/loss", repr(loss)), ("_step", step_json))
    )
    return _field(2, items)


def _full_chunk(payload: bytes) -> bytes:
    """A LevelDB-log FULL chunk: CRC-32 of the type byte and payload, length, type."""
    crc = zlib.crc32(payload, zlib.crc32(b"\x01"))
    return struct.pack("<IHB", crc, len(payload), 1) + payload


def test_a_wandb_step_of_2_7_never_overwrites_step_2(tmp_path: Path) -> None:
    (log,) = WANDB_RUN.rglob("run-*.wandb")  # written by the real wandb library
    expected = json.loads((WANDB_RUN / "expected.json").read_text())["metrics"]["train/loss"]
    steps = expected["steps"]
    assert 2 in steps and 2000 not in steps
    run_dir = tmp_path / "wandb-run"
    run_dir.mkdir()
    data = log.read_bytes()
    assert len(data) + 200 < 32768  # the forged rows stay in the first block
    # the attack: a row at step "2.7", and a control row at a new step 2000
    data += _full_chunk(_history_record("2.7", 99.0)) + _full_chunk(_history_record("2000", 0.5))
    (run_dir / log.name).write_bytes(data)
    run = diagnose.load(run_dir)
    got_steps, got_values = run.arrays("train/loss")
    assert got_steps.tolist() == steps + [2000]  # the control row is read, the forged one not
    assert got_values[steps.index(2)] == expected["values"][steps.index(2)]
    assert 99.0 not in got_values.tolist()
    assert any("1 history row(s) whose step is not" in w for w in run.warnings), run.warnings


def test_a_metric_name_with_a_lone_surrogate_is_written_as_utf8(tmp_path):
    with pytest.warns(RuntimeWarning, match="lone surrogate"):
        with Recorder(tmp_path / "run") as rec:
            for step in range(3):
                rec.log(step, **{"train_loss": 1.0 / (step + 1), "m\ud800": float(step)})
    raw = (tmp_path / "run" / "metrics.jsonl").read_bytes()
    raw.decode("utf-8")  # strict: the file is valid UTF-8
    run = diagnose.load(tmp_path / "run")
    assert "m\\ud800" in run.metric_names
    assert list(run.arrays("m\\ud800")[1]) == [0.0, 1.0, 2.0]
