"""Defect 10: what a log lost is said, never silently dropped.

Before: ``dropped`` records counted in ``run.json`` were ignored (``check -v`` said "ok"
for a run missing most of its steps); an unreadable MLflow ``meta.yaml`` brought back a
run marked deleted; a first TensorBoard record with a valid length CRC and an absurd
length made the whole file a "torn tail" (every valid step dropped, exit 0); an hparams
record that did not decode was dropped without a note.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from conftest import FIXTURES, healthy_run, no_traceback, run_cli

TB = FIXTURES / "formats" / "tensorboard" / "simple"
MLFLOW = FIXTURES / "formats" / "mlflow_file" / "mlruns"


def test_dropped_records_make_the_run_incomplete(tmp_path: Path) -> None:
    run = healthy_run(tmp_path / "runs" / "full")
    meta = json.loads((run / "run.json").read_text())
    meta["dropped"] = {"records": 15000, "values": 0}
    (run / "run.json").write_text(json.dumps(meta))
    r = run_cli("check", str(tmp_path / "runs"), "-q", "-v", timeout=10)
    no_traceback(r)
    assert "15000 record(s) were dropped" in r.out and "incomplete" in r.out, r.out
    assert "  ok" not in r.out.splitlines() and ": ok" not in r.out


def test_a_damaged_meta_yaml_does_not_resurrect_a_deleted_run(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, store)
    exp = next(d for d in store.iterdir() if d.is_dir() and d.name != "0")
    runs = sorted(d for d in exp.iterdir() if (d / "meta.yaml").is_file())
    before = run_cli("check", str(store), "-q", "--format", "json", timeout=20)
    n_before = len(json.loads(before.out)["runs"])
    victim = runs[0] / "meta.yaml"
    text = victim.read_text().replace("lifecycle_stage: active", "lifecycle_stage: deleted")
    assert "lifecycle_stage: deleted" in text
    victim.write_text(text + "\tbroken: [unclosed\n")  # a tab and an open flow: not YAML
    r = run_cli("check", str(store), "-q", "--format", "json", timeout=20)
    no_traceback(r)
    after = json.loads(r.out)["runs"]
    assert len(after) == n_before - 1, r.both
    assert all(runs[0].name not in (x.get("path") or "") for x in after)


# -- TensorBoard: framing written here, with an independent CRC32C ----------------------------
def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = _crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _record(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", _masked(head)) + data + struct.pack("<I", _masked(data))


def test_a_lying_first_length_does_not_hide_the_valid_records(tmp_path: Path) -> None:
    events = next(TB.glob("events.out.tfevents.*"))
    head = struct.pack("<Q", 1 << 40)  # a terabyte: past the end, yet its own CRC holds
    forged = head + struct.pack("<I", _masked(head))
    run = tmp_path / "tb"
    run.mkdir()
    (run / events.name).write_bytes(forged + events.read_bytes())
    r = run_cli("check", str(run), "-q", "--format", "json", timeout=10)
    no_traceback(r)
    assert r.code == 2, r.both  # before: every step dropped as a "torn tail", exit 0
    assert events.name in r.err and "byte 0" in r.err and "valid record follows" in r.err


def test_an_hparams_record_that_does_not_decode_gets_a_note(tmp_path: Path) -> None:
    pb = pytest.importorskip("tensorboard.compat.proto.event_pb2")
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import metadata

    events = next(TB.glob("events.out.tfevents.*"))
    summary = summary_pb2.Summary()
    value = summary.value.add(tag=metadata.SESSION_START_INFO_TAG)
    value.metadata.plugin_data.plugin_name = metadata.PLUGIN_NAME
    value.metadata.plugin_data.content = b"\x1a\xff\xff\xff\xff\x0f"  # a length past the end
    event = pb.Event(wall_time=1.0, step=0, summary=summary)
    run = tmp_path / "tb"
    run.mkdir()
    (run / events.name).write_bytes(events.read_bytes() + _record(event.SerializeToString()))
    r = run_cli("check", str(run), "-q", "-v", timeout=10)
    no_traceback(r)
    assert "hparams record(s) could not be decoded" in r.out and events.name in r.out, r.out
