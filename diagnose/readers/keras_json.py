"""Keras ``History`` saved as JSON: ``json.dump(history.history, f)``.

A JSON object of per-epoch lists (``loss``, ``val_loss``, ``accuracy``, ...), all
the same length, under a name like ``history.json`` or ``<model>_history.json``.
Epoch ``i`` (from 0, as Keras's ``CSVLogger`` numbers them) is the step. Values Keras
could not compute are ``NaN`` (Python's JSON) or ``null``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, finish_metrics

__all__ = ["could_hold", "detect", "read"]

#: history.json, model_history.json, model-history.json, history_model.json
NAME = re.compile(r"^(?:(?P<a>.+)[_-])?history(?:[_-](?P<b>.+))?\.json$", re.I)
MAX_BYTES = 64 << 20


def could_hold(names: Collection[str]) -> bool:
    """A folder holding a history JSON (the file itself is claimed, not the folder)."""
    return False


def detect(path: Path) -> bool:
    """A ``*history*.json`` file whose top level is an object of equal-length number lists."""
    path = path if isinstance(path, Path) else Path(path)
    if not NAME.match(path.name) or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip()
    except OSError:
        return False
    # the name says history: an empty or damaged one is reported, not passed over
    return not head or head[:1] == b"{"


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run per file: every key a metric, its list index the epoch."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ReadError(path, f"larger than {MAX_BYTES >> 20} MiB; not a Keras history")
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    if not text.strip():
        raise ReadError(path, "empty file: no Keras history in it")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ReadError(path, f"not valid JSON: {e}") from None
    if not isinstance(data, dict) or not data:
        raise ReadError(path, "expected an object of per-epoch lists ({\"loss\": [...], ...})")
    steps, names, values = [], [], []
    for name, series in data.items():
        if not isinstance(series, list):
            raise ReadError(path, f"{name!r} is not a list of per-epoch values")
        for epoch, v in enumerate(series):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ReadError(path, f"{name!r}[{epoch}] is not a number: {v!r}")
            steps.append(epoch)
            names.append(str(name))
            values.append(math.nan if v is None else float(v))
    m = NAME.match(path.name)
    stem = (m.group("a") or m.group("b")) if m else None
    rid = stem or path.parent.name or path.stem
    run = Run(id=rid, metrics=EMPTY, path=str(path), format="keras")
    finish_metrics(run, steps, names, values, aliases, str(path), epoch=[float(s) for s in steps])
    return [run]
