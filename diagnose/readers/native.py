"""The native run log: ``run.json`` + append-only ``metrics.jsonl``.

Format (version 1), documented in the README:

- ``metrics.jsonl``: one JSON object per line, ``{"step": 12, "train/loss": 0.53}``;
  reserved keys ``step`` (int), ``wall_time`` (float seconds since the epoch) and
  ``epoch``. Every other key is a metric. Floats are written with ``repr`` (shortest
  round-trip form), so values come back bit-exact. NaN and ±inf are not JSON, so they
  are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``; the file
  stays valid JSON Lines and the values come back exactly.
- ``run.json``: ``{"format": "diagnose-run", "version": 1, "id", "identity", "params",
  "results", "env", "status"}``; rewritten atomically (temp file + rename).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._errors import ReadError
from ..run import Run, canonical_name, tidy_metrics
from ._common import dedupe_steps

METRICS_FILE = "metrics.jsonl"
RUN_FILE = "run.json"
FORMAT_TAG = "diagnose-run"
RESERVED = ("step", "wall_time", "epoch")

_NONFINITE_OUT = {math.inf: "Infinity", -math.inf: "-Infinity"}
_NONFINITE_IN = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_value(v: float) -> float | str:
    """A float as written to ``metrics.jsonl``: itself, or a string for NaN/±inf."""
    if v != v:
        return "NaN"
    return _NONFINITE_OUT.get(v, v)


def decode_value(v: Any) -> float:
    """Inverse of :func:`encode_value`. Raises ValueError on anything else."""
    if isinstance(v, str):
        return _NONFINITE_IN[v] if v in _NONFINITE_IN else _raise(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _raise(v)
    return float(v)


def _raise(v: Any) -> float:
    raise ValueError(f"not a metric value: {v!r}")


def format_value(v: float) -> str:
    """One value as JSON text: ``repr`` (shortest round-trip form) or a NaN/±inf string."""
    if v - v == 0.0:  # finite; False for NaN and ±inf
        return repr(v)
    if v != v:
        return '"NaN"'
    return '"Infinity"' if v > 0 else '"-Infinity"'


def json_key(name: str) -> str:
    """``, "name": `` -- the text that precedes a value in a record line."""
    return ", " + json.dumps(name) + ": "


def dumps_record(step: int, values: Mapping[str, float], **extra: Any) -> str:
    """One ``metrics.jsonl`` line (with trailing newline).

    Hand-formatted rather than ``json.dumps``: the Recorder writes every record through
    here, and this is several times faster while producing the same JSON.
    """
    parts = ['{"step": ', str(int(step))]
    for k, v in extra.items():
        if v is not None:
            parts.append(json_key(k))
            parts.append(format_value(float(v)))
    for k, v in values.items():
        parts.append(json_key(k))
        parts.append(format_value(float(v)))
    parts.append("}\n")
    return "".join(parts)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON via a temp file and rename, so readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_jsonable(obj), f, indent=2, sort_keys=False, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return encode_value(obj)
    if isinstance(obj, (np.floating,)):
        return _jsonable(float(obj))
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def detect(path: Path) -> bool:
    path = Path(path)
    if path.is_dir():
        return (path / METRICS_FILE).is_file() or _is_native_run_json(path / RUN_FILE)
    return path.name == METRICS_FILE


def _is_native_run_json(p: Path) -> bool:
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text(encoding="utf-8")).get("format") == FORMAT_TAG
    except (OSError, ValueError, AttributeError):
        return False


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a native run directory (or its ``metrics.jsonl``) into a Run."""
    path = Path(path)
    run_dir = path.parent if path.is_file() else path
    if not run_dir.is_dir():
        raise ReadError(run_dir, "run directory does not exist")
    meta = _read_run_json(run_dir / RUN_FILE)
    run = Run(
        id=str(meta.get("id") or run_dir.name),
        params=dict(meta.get("params") or {}),
        identity=dict(meta.get("identity") or {}),
        results=dict(meta.get("results") or {}),
        env=dict(meta.get("env") or {}),
        path=str(run_dir),
        format="native",
    )
    if meta.get("num_classes") is not None:
        run.num_classes = int(meta["num_classes"])
    metrics_path = run_dir / METRICS_FILE
    if metrics_path.exists():
        try:
            data = metrics_path.read_bytes()
        except OSError as e:
            raise ReadError(metrics_path, f"cannot read: {e.strerror or e}") from e
        if not _read_metrics_fast(data, run, aliases):
            run.metrics, notes, torn = _read_metrics(metrics_path, aliases, run.name_map, data)
            run.warnings.extend(notes)
        else:
            torn = False
    else:
        torn = False
        run.warnings.append(f"{metrics_path}: no metrics file; the run logged nothing")
    status = meta.get("status")
    run.in_progress = torn or status == "running"
    return [run]


def _read_run_json(p: Path) -> dict[str, Any]:
    if not p.exists():
        return {}
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ReadError(p, f"cannot read: {e.strerror or e}") from e
    try:
        meta = json.loads(text, parse_constant=lambda c: _NONFINITE_IN[c])
    except ValueError as e:
        line = getattr(e, "lineno", None)
        raise ReadError(p, f"not valid JSON ({getattr(e, 'msg', e)})", f"line {line}") from e
    if not isinstance(meta, dict):
        raise ReadError(p, "expected a JSON object at the top level", "line 1")
    return meta


_NUMBER_TYPES = frozenset({float, int})
_WALL_TYPES = frozenset({float, int, bool, type(None)})


def _read_metrics_fast(data: bytes, run: Run, aliases: Mapping[str, str] | None) -> bool:
    """Parse a well-formed ``metrics.jsonl`` column-wise into ``run``; False when it is not.

    The file is parsed in one ``json.loads`` call and each metric becomes a numpy
    column, without a pandas table. Anything unusual (a blank, torn or corrupt
    line, a value that is not a number, a repeated or backward step, two spellings
    of one metric) returns False and leaves ``run`` untouched: the line-by-line
    reader then handles it and says what it saw, so results never differ.
    """
    if not data.endswith(b"\n"):
        return False
    n_lines = data.count(b"\n")
    try:
        recs = json.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if len(recs) != n_lines or not all(type(r) is dict for r in recs):
        return False
    try:
        steps = [r["step"] for r in recs]
    except KeyError:
        return False
    if set(map(type, steps)) - {int}:
        return False
    try:
        step_all = np.array(steps, dtype=np.int64)
        wall_all = _float_column([r.get("wall_time") for r in recs])
        epoch_all = _float_column([r.get("epoch") for r in recs])
    except (OverflowError, ValueError, TypeError):
        return False
    counts: dict[str, int] = {}
    for r in recs:
        for k in r:
            counts[k] = counts.get(k, 0) + 1
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    walls: dict[str, np.ndarray] = {}
    epochs: dict[str, np.ndarray] = {}
    name_map: dict[str, str] = {}
    n = len(recs)
    for k, c in counts.items():
        if k in RESERVED:
            continue
        name = canonical_name(k, aliases)
        if name in series:
            return False  # two spellings of one metric: rows interleave by line
        if c == n:
            vals = [r[k] for r in recs]
            rows = None
        else:
            rows = [i for i, r in enumerate(recs) if k in r]
            vals = [recs[i][k] for i in rows]
        types = set(map(type, vals))
        try:
            if types <= _NUMBER_TYPES:
                v = np.array(vals, dtype=np.float64)
            elif types <= _NUMBER_TYPES | {str}:
                v = np.array([decode_value(x) for x in vals], dtype=np.float64)
            else:
                return False
        except (OverflowError, ValueError, KeyError):
            return False
        idx = slice(None) if rows is None else np.array(rows, dtype=np.int64)
        st = step_all[idx]
        if len(st) > 1 and not (st[1:] > st[:-1]).all():
            return False  # repeated or backward steps: the careful reader reports them
        series[name] = (st, v)
        walls[name] = wall_all[idx]
        epochs[name] = epoch_all[idx]
        if name != k:
            name_map[k] = name
    run.set_arrays(series, wall_time=walls, epoch=epochs)
    run.name_map.update(name_map)
    return True


def _float_column(vals: list[Any]) -> np.ndarray:
    """``wall_time``/``epoch`` as the line reader takes them: numbers (bools too), else NaN."""
    if set(map(type, vals)) <= _WALL_TYPES:
        return np.array(vals, dtype=np.float64)  # None -> NaN
    return np.array([float(x) if isinstance(x, (int, float)) else math.nan for x in vals],
                    dtype=np.float64)


def _read_metrics(
    p: Path, aliases: Mapping[str, str] | None, name_map: dict[str, str],
    data: bytes | None = None,
) -> tuple[Any, list[str], bool]:
    if data is None:
        try:
            data = p.read_bytes()
        except OSError as e:
            raise ReadError(p, f"cannot read: {e.strerror or e}") from e
    notes: list[str] = []
    torn = False
    lines = data.split(b"\n")
    # A file that does not end in a newline has a last line that may still be being written.
    last_unterminated = not data.endswith(b"\n")
    if not last_unterminated:
        lines.pop()  # the empty string after the final newline
    steps: list[int] = []
    metrics: list[str] = []
    values: list[float] = []
    walls: list[float] = []
    epochs: list[float] = []
    line_of: list[int] = []
    canon: dict[str, str] = {}
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_last = i == len(lines)
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
            step = rec["step"]
            if isinstance(step, bool) or not isinstance(step, int):
                raise ValueError(f"step must be an integer, got {step!r}")
            parsed = [(k, decode_value(v)) for k, v in rec.items() if k not in RESERVED]
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            if is_last and last_unterminated:
                torn = True
                notes.append(f"{p}:{i}: torn last line skipped (the writer was interrupted)")
            else:
                notes.append(f"{p}:{i}: corrupt line skipped ({_short(e)})")
            continue
        wall = rec.get("wall_time")
        epoch = rec.get("epoch")
        for k, v in parsed:
            name = canon.get(k)
            if name is None:
                name = canon[k] = canonical_name(k, aliases)
                if name != k:
                    name_map[k] = name
            steps.append(step)
            line_of.append(i)
            metrics.append(name)
            values.append(v)
            walls.append(float(wall) if isinstance(wall, (int, float)) else math.nan)
            epochs.append(float(epoch) if isinstance(epoch, (int, float)) else math.nan)
    df = tidy_metrics(step=steps, metric=metrics, value=values, wall_time=walls, epoch=epochs)
    df, more = dedupe_steps(df, str(p), line_of)
    notes.extend(more)
    return df, notes, torn


def _short(e: BaseException) -> str:
    msg = str(e)
    return msg if len(msg) < 120 else msg[:117] + "..."
