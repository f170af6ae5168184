"""The native run log: ``run.json`` + append-only ``metrics.jsonl``.

Format (version 1), documented in the README:

- ``metrics.jsonl``: one JSON object per line, ``{"step": 12, "train/loss": 0.53}``;
  reserved keys ``step`` (int), ``wall_time`` (float seconds since the epoch, to the
  millisecond) and ``epoch``. Every other key is a metric. Floats are written with
  ``repr`` (shortest round-trip form), so values come back bit-exact. NaN and ±inf
  are not JSON, so they are written as the strings ``"NaN"``, ``"Infinity"`` and
  ``"-Infinity"``; the file stays valid JSON Lines and the values come back exactly.
- ``run.json``: ``{"format": "diagnose-run", "version": 1, "id", "identity", "params",
  "results", "env", "status"}``; rewritten atomically (temp file + rename).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import tempfile
from collections import Counter
from itertools import chain, compress, repeat
from operator import contains, itemgetter
from pathlib import Path
from typing import Any, Collection, Mapping

import numpy as np

from .._errors import ReadError
from ..findings import json_number, jsonable
from ..run import Run, Thousandths, canonical_name, plain, tidy_metrics
from . import _native_fast
from ._common import dedupe_steps, fits_int64, increasing
from ._native_fast import Parsed
from ._safe_open import open_regular, read_bytes, read_prefix

METRICS_FILE = "metrics.jsonl"
RUN_FILE = "run.json"
FORMAT_TAG = "diagnose-run"
RESERVED = ("step", "wall_time", "epoch")

_NONFINITE_IN = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode_value(v: Any) -> float:
    """Inverse of :func:`diagnose.findings.json_number`. Raises ValueError on anything else."""
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
    return f'"{json_number(v)}"'


def json_key(name: str) -> str:
    """``, "name": `` -- the text that precedes a value in a record line."""
    return ", " + json.dumps(name) + ": "


def dumps_record(step: int, values: Mapping[str, float], **extra: Any) -> str:
    """One ``metrics.jsonl`` line (with trailing newline).

    Hand-formatted rather than ``json.dumps`` (several times faster, the same JSON), from
    the same ``json_key``/``format_value`` pieces the Recorder builds its lines from; tests
    and scripts that write ``metrics.jsonl`` use it.
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
            json.dump(jsonable(obj), f, indent=2, sort_keys=False, allow_nan=False)
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


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return METRICS_FILE in names or RUN_FILE in names


def detect(path: Path) -> bool:
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return (path / METRICS_FILE).is_file() or _is_native_run_json(path / RUN_FILE)
    return path.name == METRICS_FILE


def _is_native_run_json(p: Path) -> bool:
    head = read_prefix(p)  # None for a FIFO or device: never opened blocking
    if head is None:
        return False
    try:
        return json.loads(head.decode("utf-8")).get("format") == FORMAT_TAG
    except (ValueError, AttributeError, RecursionError):
        return False


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a native run directory (or its ``metrics.jsonl``) into a Run."""
    path = Path(path)
    run_dir = path.parent if path.is_file() else path
    if not run_dir.is_dir():
        raise ReadError(run_dir, "run directory does not exist")
    meta = _read_run_json(run_dir / RUN_FILE)
    notes: list[str] = []
    tables = {k: _meta_table(meta, k, run_dir / RUN_FILE, notes)
              for k in ("params", "identity", "results", "env")}
    rid = meta.get("id")
    run = Run(id=str(rid) if isinstance(rid, (str, int)) and rid != "" else run_dir.name,
              path=str(run_dir), format="native", **tables)
    run.warnings.extend(notes)
    k = meta.get("num_classes")
    if k is not None:
        if type(k) is int and k > 0:
            run.num_classes = k
        else:
            run.warnings.append(f"{run_dir / RUN_FILE}: num_classes {k!r} is not a positive "
                                "integer; ignored")
    run.warnings.extend(_dropped_notes(meta.get("dropped"), run_dir / RUN_FILE))
    metrics_path = run_dir / METRICS_FILE
    if os.path.exists(metrics_path):
        torn = _read_metrics_columns(metrics_path, run, aliases)
        if torn is None:
            data = read_bytes(metrics_path)
            torn = False
            if not _read_metrics_fast(data, run, aliases):
                run.metrics, notes, torn = _read_metrics(metrics_path, aliases, run.name_map,
                                                         data)
                run.warnings.extend(notes)
    else:
        torn = False
        run.warnings.append(f"{metrics_path}: no metrics file; the run logged nothing")
    status = meta.get("status")
    run.in_progress = torn or status == "running"
    return [run]


def _dropped_notes(dropped: Any, p: Path) -> list[str]:
    """What the Recorder could not write (``"dropped"`` in run.json): the log is incomplete."""
    if isinstance(dropped, dict):
        records, values = dropped.get("records"), dropped.get("values")
    else:
        records, values = dropped, None
    notes = []
    if type(records) is int and records > 0:
        notes.append(f"{p}: {records} record(s) were dropped while recording (disk full, or "
                     "the folder was unwritable): the run is incomplete, steps are missing "
                     "from the log")
    if type(values) is int and values > 0:
        notes.append(f"{p}: {values} value(s) were dropped while recording (not numbers, or "
                     "bad names): some metrics are missing from the log")
    return notes


def _meta_table(meta: dict[str, Any], key: str, p: Path, notes: list[str]) -> dict[str, Any]:
    """``meta[key]`` when it is a JSON object; anything else is ignored, and said."""
    v = meta.get(key)
    if v is None or isinstance(v, dict):
        return dict(v or {})
    notes.append(f"{p}: {key!r} is a {type(v).__name__}, not an object; ignored")
    return {}


def _read_run_json(p: Path) -> dict[str, Any]:
    if not os.path.exists(p):
        return {}
    try:
        text = read_bytes(p).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReadError(p, "not UTF-8 text (a damaged file?)", f"byte {e.start}") from e
    try:
        meta = json.loads(text, parse_constant=lambda c: _NONFINITE_IN[c])
    except RecursionError as e:
        raise ReadError(p, "JSON nested too deeply") from e
    except ValueError as e:
        line = getattr(e, "lineno", None)
        raise ReadError(p, f"not valid JSON ({getattr(e, 'msg', e)})", f"line {line}") from e
    if not isinstance(meta, dict):
        raise ReadError(p, "expected a JSON object at the top level", "line 1")
    return meta


#: Files at least this big are parsed with numpy (``_native_fast``), smaller ones with one
#: ``loads`` (faster there: numpy's per-call cost dominates): about 500 lines with
#: ``json.loads``; with orjson (the ``fast`` extra, three to four times ``json.loads``)
#: about a megabyte.
COLUMNS_MIN_BYTES = (1 << 20) if importlib.util.find_spec("orjson") else (48 << 10)
#: ``orjson.loads`` once looked for (False: not installed).
_ORJSON_LOADS: Any = None


def json_lines_loads(data: bytes) -> Any:
    """``json.loads``, by orjson when installed: the same values for every log it accepts.

    orjson reads numbers as ``float()``/``int()`` do and refuses what ``json.loads``
    would read differently (ints beyond 64 bits, NaN/Infinity literals, lone
    surrogates): a ValueError, and the caller falls back to the careful reader.
    """
    global _ORJSON_LOADS
    if _ORJSON_LOADS is None:
        try:
            import orjson
        except ImportError:
            _ORJSON_LOADS = False
        else:
            _ORJSON_LOADS = orjson.loads
    return (_ORJSON_LOADS or json.loads)(data)


def _read_metrics_columns(p: Path, run: Run, aliases: Mapping[str, str] | None
                          ) -> bool | None:
    """Large, well-formed ``metrics.jsonl`` files block by block with numpy.

    Returns whether the last line was torn (skipped, with a note), or None when the
    file is small or not in the strict layout (the callers' readers take it then).
    Memory stays near the size of the columns (the file is never held whole; each
    column is joined from its blocks' pieces, each piece let go once copied; wall
    time and epoch stay packed, see :class:`Thousandths`), and every value is
    exactly what ``json.loads`` would give (see ``_native_fast``).
    """
    try:
        with open_regular(p) as f:
            if os.fstat(f.fileno()).st_size < COLUMNS_MIN_BYTES:
                return None
            large = os.fstat(f.fileno()).st_size > _native_fast.BLOCK_BYTES
            got = _native_fast.read_file(f, compact=_pack)
    except OSError as e:
        raise ReadError(p, f"cannot read: {e.strerror or e}") from e
    if got is None:
        return None
    blocks, tail = got
    torn = False
    if tail.strip():  # a last line without its newline: the writer may be mid-line
        last = _tail_record(tail)
        if last is None:
            torn = True
            n = sum(b.n_lines for b in blocks) + 1
            run.warnings.append(f"{p}:{n}: torn last line skipped (the writer was interrupted)")
        else:
            blocks.append(_native_fast.compact(last, _pack))
    n_lines = sum(b.n_lines for b in blocks)
    # each key's pieces: (rows within the block or None for all of them, values, block start)
    keys: dict[str, list[_Piece]] = {}
    step_parts: list[_Piece] = []
    offset = 0
    for b in blocks:
        step_parts.append((None, b.step, offset, b.n_lines))
        for k, (rows, vals) in b.fields.items():
            keys.setdefault(k, []).append((rows, vals, offset, b.n_lines))
        offset += b.n_lines
    blocks.clear()  # from here on each column's pieces are let go once joined
    steps = _values(step_parts, np.int64) if n_lines else np.empty(0, np.int64)
    steps.flags.writeable = False  # shared by every metric logged on every line
    per_line: dict[str, np.ndarray | Thousandths | float] = {}
    for k in ("wall_time", "epoch"):
        parts = keys.pop(k, None)
        if parts is None:
            per_line[k] = math.nan
        elif _on_every_line(parts, n_lines):  # the values are the column
            col = _values(parts)
            if isinstance(col, np.ndarray):
                col.flags.writeable = False  # shared by every metric logged on every line
            per_line[k] = col
        else:
            full = np.full(n_lines, math.nan)
            for rows, vals, start, size in parts:
                if rows is None:
                    full[start:start + size] = plain(vals)
                else:
                    full[rows + start] = plain(vals)
            per_line[k] = full
        del parts
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    extra: dict[str, dict[str, Any] | float] = {
        k: (v if isinstance(v, float) else {}) for k, v in per_line.items()}
    name_map: dict[str, str] = {}
    for k in list(keys):
        parts = keys.pop(k)
        name = canonical_name(k, aliases)
        if name in series:
            return None  # two spellings of one metric: the line reader merges them
        every = _on_every_line(parts, n_lines)  # rows 0..n-1: no gathers needed
        rows = None if every else _rows(parts)
        vals = plain(_values(parts))
        del parts
        st = steps if every else steps[rows]
        if len(st) > 1 and not increasing(st):
            return None  # repeated or backward steps: the line reader reports them
        series[name] = (st, vals)
        for col, v in per_line.items():
            if not isinstance(v, float):
                extra[col][name] = v if every else v[rows]  # type: ignore[index]
        if name != k:
            name_map[k] = name
    run.set_arrays(series, wall_time=extra["wall_time"], epoch=extra["epoch"])
    run.name_map.update(name_map)
    if large:
        _libc("malloc_trim", 0)  # the pages the parse freed, back to the system (~28 MB at 10M)
    return torn


def _libc(name: str, *args: int) -> None:
    """Call glibc's allocator control ``name`` (Linux only; where it is missing, nothing)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            getattr(ctypes.CDLL(None), name)(*args)
        except (OSError, AttributeError):
            pass


def _pack(key: str, values: np.ndarray) -> Thousandths | None:
    """A block's wall times or epochs in 4 bytes a line, when exact (see :class:`Thousandths`)."""
    got = Thousandths.pack(values) if key in ("wall_time", "epoch") else None
    if got is not None:
        got.offsets = _native_fast.kept(got.offsets)
    return got


#: One block's part of a key: its rows in the block (None: every line), values, block start, lines.
_Piece = tuple["np.ndarray | None", Any, int, int]


def _on_every_line(parts: list[_Piece], n_lines: int) -> bool:
    """Whether a key's pieces cover every line (a key is at most once a line)."""
    return sum(len(v) for _, v, _, _ in parts) == n_lines


_EMPTY = np.empty(0)


def _values(parts: list[_Piece], dtype: Any = np.float64) -> np.ndarray | Thousandths:
    """A key's values, joined; each piece is let go as soon as it is copied. Packed pieces
    stay packed when they join (else they are unpacked)."""
    if len(parts) == 1:
        return parts.pop()[1]
    if all(isinstance(v, Thousandths) for _, v, _, _ in parts):
        packed = [v for _, v, _, _ in parts]
        parts.clear()  # each piece let go by the join once copied
        return Thousandths.join(packed)
    out = np.empty(sum(len(v) for _, v, _, _ in parts), dtype=dtype)
    at = 0
    for i, (_, v, _, _) in enumerate(parts):
        out[at:at + len(v)] = plain(v)
        at += len(v)
        parts[i] = (parts[i][0], _EMPTY, parts[i][2], parts[i][3])
    return out


def _rows(parts: list[_Piece]) -> np.ndarray:
    """A key's line numbers in the file, joined."""
    return np.concatenate([np.arange(start, start + size) if r is None else r + start
                           for r, _, start, size in parts])


#: What :func:`parse_record` raises on a line that is not a record.
BAD_RECORD = (ValueError, KeyError, UnicodeDecodeError, OverflowError, RecursionError)


def parse_record(raw: bytes) -> tuple[int, list[tuple[str, float]], Any, Any]:
    """One line: step, ``(metric, value)`` pairs, and the raw ``wall_time`` and ``epoch``.

    Raises one of :data:`BAD_RECORD` for a line that is not a valid record.
    """
    rec = json.loads(raw)
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    step = rec["step"]
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"step must be an integer, got {step!r}")
    if not fits_int64(step):
        raise ValueError(f"step {step} is outside the 64-bit range")
    parsed = [(k, decode_value(v)) for k, v in rec.items() if k not in RESERVED]
    return step, parsed, rec.get("wall_time"), rec.get("epoch")


def _tail_record(raw: bytes) -> Any:
    """An unterminated last line as a one-line block, as the line reader takes it; None if torn."""
    try:
        step, parsed, wall, epoch = parse_record(raw)
    except BAD_RECORD:
        return None
    one = Parsed(1, np.array([step], dtype=np.int64))
    row = np.zeros(1, dtype=np.int64)
    for k, v in (("wall_time", wall), ("epoch", epoch)):
        if isinstance(v, (int, float)):
            one.fields[k] = (row, np.array([float(v)]))
    for k, v in parsed:
        one.fields[k] = (row, np.array([v]))
    return one


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
        recs = json_lines_loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if len(recs) != n_lines or set(map(type, recs)) != {dict}:
        return False
    # column by column, with C-level loops (map, compress) rather than Python ones
    try:
        steps = list(map(itemgetter("step"), recs))
    except KeyError:
        return False
    if set(map(type, steps)) - {int}:
        return False
    try:
        step_all = np.array(steps, dtype=np.int64)
        wall_all = _float_column(list(map(dict.get, recs, repeat("wall_time"))))
        epoch_all = _float_column(list(map(dict.get, recs, repeat("epoch"))))
    except (OverflowError, ValueError, TypeError):
        return False
    counts = Counter(chain.from_iterable(recs))  # keys in order of first appearance
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
            vals = list(map(itemgetter(k), recs))
            rows = None
        else:
            has = list(compress(recs, map(contains, recs, repeat(k))))
            rows = list(compress(range(n), map(contains, recs, repeat(k))))
            vals = list(map(itemgetter(k), has))
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
        data = read_bytes(p)
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
    good = 0
    corrupt: list[int] = []
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_last = i == len(lines)
        try:
            step, parsed, wall, epoch = parse_record(raw)
        except BAD_RECORD as e:
            if is_last and last_unterminated:
                torn = True
                notes.append(f"{p}:{i}: torn last line skipped (the writer was interrupted)")
            else:
                if not corrupt:
                    first_why = _short(e)
                corrupt.append(i)
                notes.append(f"{p}:{i}: corrupt line skipped ({_short(e)})")
            continue
        good += 1
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
    if corrupt and not good:  # random bytes are not an empty run
        raise ReadError(p, f"no line is a metrics record ({len(corrupt)} corrupt line(s); "
                        f"first: {first_why}); not a diagnose log, or destroyed",
                        f"line {corrupt[0]}")
    df = tidy_metrics(step=steps, metric=metrics, value=values, wall_time=walls, epoch=epochs)
    df, more = dedupe_steps(df, str(p), line_of)
    notes.extend(more)
    return df, notes, torn


def _short(e: BaseException) -> str:
    msg = str(e)
    return msg if len(msg) < 120 else msg[:117] + "..."
