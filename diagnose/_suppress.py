"""Suppression where the run lives: ``diagnose-ignore`` in a run's folder.

Two places, both a mapping of rule code or name (any selector) to the reason::

    # run.json (the native run file)
    {"diagnose-ignore": {"still-improving": "smoke run: stopped at 200 steps on purpose"}}

    # diagnose-ignore.toml, in any run folder
    DG205 = "heavy dropout: validation below train is expected"

An entry without a reason is not honoured (and a note says so). A log file's run
lives in the folder holding the file. The files are read afresh for every run; the
calls for one run's rules, which follow each other, share one reading.
"""

from __future__ import annotations

import json
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IGNORE_FILE", "IGNORE_KEY", "Suppression", "run_suppressions"]

IGNORE_KEY = "diagnose-ignore"
IGNORE_FILE = "diagnose-ignore.toml"
_RUN_FILE = "run.json"
#: run.json and the ignore file are small; a larger one is not read for suppressions
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Suppression:
    """One ``diagnose-ignore`` entry: what it ignores, why, and where it was written."""

    selector: str
    reason: str
    source: str

    @property
    def valid(self) -> bool:
        return bool(self.reason.strip())


def run_suppressions(run_path: str | None) -> tuple[Suppression, ...]:
    """The entries that apply to the run at ``run_path`` (a folder, or a log file in one)."""
    if not run_path or "://" in run_path:
        return ()
    p = Path(run_path)
    try:
        folder = str(p if p.is_dir() else p.parent)
    except OSError:  # a name the system cannot take (too long): no folder to look in
        return ()
    now = time.monotonic()
    if _LAST[0] == folder and now - _LAST[1] < _SHARE_S:
        return _LAST[2]
    found = _read(folder)
    _LAST[:] = [folder, now, found]
    return found


#: one run's rules are asked about within microseconds: one reading serves them
_SHARE_S = 0.05
_LAST: list = [None, 0.0, ()]


def _read(folder: str) -> tuple[Suppression, ...]:
    out: list[Suppression] = []
    run_file = Path(folder) / _RUN_FILE
    data = _load(run_file, json.loads)
    if isinstance(data, dict):
        out += _entries(data.get(IGNORE_KEY), f"{run_file}: {IGNORE_KEY}")
    ignore_file = Path(folder) / IGNORE_FILE
    data = _load(ignore_file, tomllib.loads)
    if isinstance(data, dict):
        out += _entries(data, str(ignore_file))
    return tuple(out)


def _load(path: Path, parse):
    """The parsed file, or None when absent, too large, damaged or without an ignore list."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_BYTES or (path.name == _RUN_FILE and IGNORE_KEY.encode() not in raw):
        return None
    try:
        return parse(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # the readers report a damaged run.json; this file only adds ignores


def _entries(value, source: str) -> list[Suppression]:
    if isinstance(value, dict):
        return [Suppression(str(k), v if isinstance(v, str) else "", source) for k, v in value.items()]
    if isinstance(value, list):  # [{"rule": "DG203", "reason": "..."}]
        return [Suppression(str(e.get("rule", "")), e.get("reason") if isinstance(e.get("reason"), str)
                            else "", source) for e in value if isinstance(e, dict)]
    return []
