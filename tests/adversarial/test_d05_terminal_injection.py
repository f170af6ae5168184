"""Defect 5: no terminal control character from a log reaches the terminal.

Before: the text format and the ``diagnose: unreadable:`` line wrote run ids, paths,
metric names and notes raw: ESC, CSI ``2J``, OSC set-title, BEL and CR reached the
terminal. Now they are shown as visible escapes (``\\x1b``) in every human-facing output.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import EXPLOSION, healthy_run, no_traceback, run_cli

HOSTILE = "x\x1b[2J\x1b]0;pwned\x07\rover\x9b31m\u202eevil"
#: What must never reach a terminal: C0 controls but TAB/LF, DEL, C1, bidi overrides.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _hostile_run(dest: Path) -> Path:
    run = healthy_run(dest, run_id="run" + HOSTILE, src=EXPLOSION)
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 10_000, "m" + HOSTILE: 1.0}) + "\n")
        f.write("not json " + HOSTILE + "\n")  # a corrupt line: its note quotes it
    return run


@pytest.mark.parametrize("extra", [[], ["-v"]])
def test_text_report_escapes_control_characters(tmp_path: Path, extra: list[str]) -> None:
    _hostile_run(tmp_path / "runs" / "h")
    r = run_cli("check", str(tmp_path / "runs"), "-q", *extra, timeout=10)
    no_traceback(r)
    assert r.code == 1, r.both
    assert not CONTROL.search(r.out) and not CONTROL.search(r.err), repr(r.both)
    assert "\\x1b[2J" in r.out and "\\x07" in r.out and "\\r" in r.out


def test_unreadable_and_skipped_lines_escape_control_characters(tmp_path: Path) -> None:
    bad = tmp_path / "runs" / ("bad" + HOSTILE)
    bad.mkdir(parents=True)
    (bad / "metrics.jsonl").write_bytes(b"\x00garbage " + HOSTILE.encode() + b"\n" * 3)
    os.mkfifo(tmp_path / "runs" / ("f" + HOSTILE + ".csv"))
    for fmt in ("json", "text"):
        r = run_cli("check", str(tmp_path / "runs"), "-q", "--format", fmt, timeout=10)
        no_traceback(r)
        assert r.code == 2, r.both
        human = r.err if fmt == "json" else r.out + r.err
        assert not CONTROL.search(human), repr(human)
        assert "unreadable" in human and "skipped:" in r.err and "\\x1b[2J" in human


def test_sweep_text_escapes_control_characters(tmp_path: Path) -> None:
    _hostile_run(tmp_path / "runs" / "h")
    healthy_run(tmp_path / "runs" / "g")
    r = run_cli("sweep", str(tmp_path / "runs"), timeout=20)
    no_traceback(r)
    assert not CONTROL.search(r.out + r.err), repr(r.out)


def test_colour_keeps_only_the_reports_own_codes(tmp_path: Path) -> None:
    from diagnose import check
    from diagnose.report import render

    _hostile_run(tmp_path / "h")
    text = render(check([tmp_path / "h"]), "text", color=True, verbose=True)
    codes = set(re.findall("\x1b[^m]*m", text))
    assert codes and codes <= {"\x1b[0m", "\x1b[1;31m", "\x1b[1;33m", "\x1b[1;36m",
                               "\x1b[1m", "\x1b[2m", "\x1b[32m"}
    assert "\x07" not in text and "\r" not in text and "\x1b]" not in text


def test_error_lines_escape_control_characters(tmp_path: Path) -> None:
    empty = tmp_path / ("empty" + HOSTILE)
    empty.mkdir()
    r = run_cli("check", str(empty), "-q", timeout=10)
    no_traceback(r)
    assert r.code == 2 and "diagnose: error: no training runs found" in r.err, r.both
    assert not CONTROL.search(r.err) and "\\x1b[2J" in r.err, repr(r.err)
