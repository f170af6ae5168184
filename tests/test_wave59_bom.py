"""JSON logs that begin with a UTF-8 byte-order mark.

Windows tools (Notepad, PowerShell's ``Out-File``, .NET writers) put a BOM in front of UTF-8
text. A public contrastive-learning history (bench/real-runs/w81d-dacon-rock-supcon, labelled
flat_loss from its plot before diagnose ran on it) starts with one, and the history reader
stopped at "not valid JSON: Unexpected UTF-8 BOM"; a ``trainer_state.json`` or a
``config.json`` beside a log saved the same way failed or lost its settings the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
ROCK = RUNS / "w81d-dacon-rock-supcon" / "train_history_2.json"
BOM = b"\xef\xbb\xbf"


def test_the_public_history_with_a_bom_is_read_and_judged_flat() -> None:
    raw = ROCK.read_bytes()
    assert raw.startswith(BOM)
    loss = json.loads(raw.decode("utf-8-sig"))["loss"]
    run = diagnose.load(str(ROCK.parent))
    _, values = run.arrays("train/loss")
    assert list(values) == loss
    later = loss[2:]  # after its first jump the loss wanders in one band, with no trend
    assert max(later) / min(later) < 1.15 and abs(later[-1] - later[0]) / later[0] < 0.1
    found = {f.pattern for f in diagnose.check(str(ROCK.parent)).findings if f.severity != "info"}
    assert "flat_loss" in found


def test_a_trainer_state_with_a_bom(tmp_path: Path) -> None:
    history = [{"epoch": e, "step": 10 * e, "loss": 1.0 / e} for e in range(1, 6)]
    state = {"log_history": history, "global_step": 50}
    (tmp_path / "trainer_state.json").write_bytes(BOM + json.dumps(state).encode())
    _, values = diagnose.load(str(tmp_path)).arrays("train/loss")
    assert list(values) == [r["loss"] for r in history]


def test_settings_beside_a_log_with_a_bom(tmp_path: Path) -> None:
    (tmp_path / "history.json").write_text(json.dumps({"loss": [1.0, 0.6, 0.4, 0.3]}))
    (tmp_path / "config.json").write_bytes(BOM + json.dumps({"learning_rate": 0.003}).encode())
    assert diagnose.load(str(tmp_path)).params.get("lr") == 0.003
