"""Weights & Biases runs: the binary ``run-*.wandb`` log, and the UI's CSV export.

``run-<id>.wandb`` (what ``wandb offline`` and online runs leave in
``wandb/run-<date>-<id>/``) is W&B's transaction log: a 7-byte header (``:W&B``,
u16 magic 0xBEE1, u8 version 0) then LevelDB-log framing: 32 KiB blocks of records
with a 7-byte header (u32 checksum, u16 length, u8 type FULL/FIRST/MIDDLE/LAST); a
block tail shorter than a header is zero padding. The checksum is zlib's CRC-32 of
the type byte and the data (W&B's writer, unlike LevelDB, does not use CRC32C). Each
assembled record is a ``wandb_internal.Record`` protobuf; we decode ``history`` (2),
``config`` (5), ``run`` (17) and ``exit`` (18) and skip the rest.

The CSV export (the download button on a chart) has ``"Step"`` then, per run and
metric, ``"<run> - <metric>"``, ``"<run> - <metric>__MIN"``, ``"<run> - <metric>__MAX"``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import struct
import zlib
from pathlib import Path
from typing import Any, Collection, Mapping

from .._errors import ReadError
from ..run import Run
from . import _protobuf as pb
from . import _yaml
from ._common import fits_int64
from ._frame import finish_metrics, parse_float
from ._safe_open import first_line, open_regular, read_bytes
from ._safe_open import read_text as safe_read_text

__all__ = ["detect", "read"]

_IDENT = b":W&B"
_MAGIC = 0xBEE1
_VERSION = 0
_FILE_HEADER = struct.pack("<4sHB", _IDENT, _MAGIC, _VERSION)
_BLOCK = 32768
_REC_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (_FULL, _FIRST, _MIDDLE, _LAST)}

# Record fields (wandb_internal.proto)
_R_HISTORY, _R_CONFIG, _R_RUN, _R_EXIT = 2, 5, 17, 18

_CSV_COL = re.compile(r"^(?P<run>.+?) - (?P<metric>.+?)(?P<agg>__MIN|__MAX)?$")


def _is_wandb_log(p: Path) -> bool:
    return p.suffix == ".wandb" and p.name.startswith("run-")


def _logs_in(d: Path) -> list[Path]:
    try:
        return sorted(c for c in d.iterdir() if _is_wandb_log(c) and c.is_file())
    except OSError:
        return []


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return any(n.startswith("run-") and n.endswith(".wandb") for n in names)


def detect(path: Path) -> bool:
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return bool(_logs_in(path))
    if _is_wandb_log(path):
        return True
    return path.suffix.lower() == ".csv" and _csv_columns(path) is not None


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a W&B run folder, a ``run-*.wandb`` file, or a W&B CSV export."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return _read_csv(path, aliases)
    logs = _logs_in(path) if path.is_dir() else [path]
    if not logs:
        raise ReadError(path, "no run-*.wandb file here")
    return [_read_log(f, aliases) for f in logs]


# -- the binary log ----------------------------------------------------------------------


def _records(path: Path, data: bytes) -> tuple[list[tuple[int, bytes]], int | None]:
    """Assembled records ``(byte offset, payload)`` and the offset of a torn tail, if any."""
    size = len(data)
    if size < len(_FILE_HEADER):
        if _FILE_HEADER.startswith(data):
            return [], 0 if size else None
        raise ReadError(path, "not a W&B run log (bad file header)", "byte 0")
    if data[: len(_FILE_HEADER)] != _FILE_HEADER:
        raise ReadError(path, "not a W&B run log (bad file header or version)", "byte 0")
    out: list[tuple[int, bytes]] = []
    pending: list[bytes] = []
    start = 0
    off = len(_FILE_HEADER)
    while off < size:
        left = _BLOCK - off % _BLOCK
        if left < _REC_HEADER:
            if data[off : off + left].strip(b"\0"):
                raise ReadError(path, "nonzero block padding", f"byte {off}")
            off += left
            continue
        if off + _REC_HEADER > size:
            return out, (start if pending else off)
        crc, length, rtype = struct.unpack_from("<IHB", data, off)
        if crc == 0 and length == 0 and rtype == 0:
            if data[off : off + left].strip(b"\0"):
                raise ReadError(path, "corrupt record header", f"byte {off}")
            off += left  # zero-filled (preallocated) rest of a block
            continue
        end = off + _REC_HEADER + length
        if rtype not in _TYPE_CRC or length > left - _REC_HEADER:
            raise ReadError(path, "corrupt record header", f"byte {off}")
        if end > size:
            return out, (start if pending else off)
        chunk = data[off + _REC_HEADER : end]
        if zlib.crc32(chunk, _TYPE_CRC[rtype]) != crc:
            raise ReadError(path, "corrupt record (checksum mismatch)", f"byte {off}")
        if rtype == _FULL:
            if pending:
                raise ReadError(path, "record fragment sequence broken", f"byte {off}")
            out.append((off, chunk))
        elif rtype == _FIRST:
            if pending:
                raise ReadError(path, "record fragment sequence broken", f"byte {off}")
            start, pending = off, [chunk]
        else:
            if not pending:
                raise ReadError(path, "record fragment sequence broken", f"byte {off}")
            pending.append(chunk)
            if rtype == _LAST:
                out.append((start, b"".join(pending)))
                pending = []
        off = end
    return out, (start if pending else None)


def _item(raw: bytes) -> tuple[str, str]:
    """HistoryItem / ConfigItem: key = 1 (or nested_key = 2, joined with '.'), value_json = 16."""
    key, nested, value = "", [], ""
    for f, _, v in pb.fields(raw):
        if isinstance(v, bytes):
            if f == 1:
                key = v.decode("utf-8", "replace")
            elif f == 2:
                nested.append(v.decode("utf-8", "replace"))
            elif f == 16:
                value = v.decode("utf-8", "replace")
    return key or ".".join(nested), value


def _number(value_json: str) -> float | None:
    """A JSON number (``NaN``/``Infinity`` included, as W&B writes them), else None."""
    try:
        return parse_float(value_json)
    except ValueError:
        return None


def _read_log(path: Path, aliases: Mapping[str, str] | None) -> Run:
    data = read_bytes(path)
    records, torn = _records(path, data)
    run_dir = path.parent
    run_id = path.stem[len("run-"):]
    run = Run(id=run_id, path=str(path), format="wandb")
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    walls: list[float] = []
    config: dict[str, Any] = {}
    exited = False
    bad_steps: list[int] = []
    for off, rec in records:
        try:
            for f, _, body in pb.fields(rec):
                if f == _R_HISTORY and isinstance(body, bytes):
                    if not _history(body, steps, names, values, walls):
                        bad_steps.append(off)
                elif f == _R_CONFIG and isinstance(body, bytes):
                    config.update(_config(body))
                elif f == _R_RUN and isinstance(body, bytes):
                    _run_record(body, run, config)
                elif f == _R_EXIT:
                    exited = True
        except pb.DecodeError as e:
            raise ReadError(path, f"malformed record ({e})", f"byte {off}") from None
    if bad_steps:
        run.warnings.append(f"{path}: {len(bad_steps)} history row(s) whose step is not a "
                            f"64-bit integer skipped (first: byte {bad_steps[0]})")
    finish_metrics(run, steps, names, values, aliases, str(path), wall_time=walls)
    if torn is not None:
        run.warnings.append(
            f"{path}: torn last record at byte {torn} skipped (the run was still writing?)"
        )
    elif not exited:
        run.warnings.append(f"{path}: no exit record; the run was still running or was killed")
    run.in_progress = torn is not None or not exited
    if not len(run.metrics):
        run.warnings.append(f"{path}: no history rows (the run logged nothing)")
    run.params, notes = _params(run_dir, config)
    run.warnings.extend(notes)
    _metadata(run_dir, run)
    return run


def _history(
    body: bytes, steps: list[int], names: list[str], values: list[float], walls: list[float]
) -> bool:
    """HistoryRecord: repeated HistoryItem item = 1, HistoryStep step = 2 { num = 1 }.

    False (and nothing kept) when ``_step`` is not an integer the step column can hold.
    """
    step: int | float = 0
    row: list[tuple[str, float]] = []
    wall = math.nan
    for f, _, v in pb.fields(body):
        if f == 1 and isinstance(v, bytes):
            key, value_json = _item(v)
            x = _number(value_json)
            if x is None:
                continue
            if key == "_step":
                # 2.7 is no step (int() would make it 2 and overwrite the real step 2)
                step = int(x) if x.is_integer() and fits_int64(int(x)) else math.nan
            elif key == "_timestamp":
                wall = x
            elif not key.startswith("_"):
                row.append((key, x))
        elif f == 2 and isinstance(v, bytes):
            for f2, _, n in pb.fields(v):
                if f2 == 1 and isinstance(n, int):
                    step = pb.as_int64(n)
    if isinstance(step, float):
        return False
    for key, x in row:
        steps.append(step)
        names.append(key)
        values.append(x)
        walls.append(wall)
    return True


def _config(body: bytes) -> dict[str, Any]:
    """ConfigRecord: repeated ConfigItem update = 1."""
    out: dict[str, Any] = {}
    for f, _, v in pb.fields(body):
        if f == 1 and isinstance(v, bytes):
            key, value_json = _item(v)
            try:
                out[key] = json.loads(value_json)
            except (ValueError, RecursionError):
                out[key] = value_json
    return out


def _run_record(body: bytes, run: Run, config: dict[str, Any]) -> None:
    """RunRecord: run_id = 1, project = 3, config = 4, display_name = 8."""
    for f, _, v in pb.fields(body):
        if not isinstance(v, bytes):
            continue
        if f == 1:
            run.id = v.decode("utf-8", "replace") or run.id
        elif f == 3:
            run.identity["project"] = v.decode("utf-8", "replace")
        elif f == 4:
            config.update(_config(v))
        elif f == 8:
            run.identity["name"] = v.decode("utf-8", "replace")


def _params(run_dir: Path, from_log: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``files/config.yaml`` (``key: {value: X}``) over the config records in the log."""
    params = {k: v for k, v in from_log.items() if not k.startswith("_wandb")}
    y = run_dir / "files" / "config.yaml"
    if not y.is_file():
        return params, []
    try:
        loaded = _yaml.load(safe_read_text(y, errors="replace"))
    except (OSError, ReadError, _yaml.YAMLError, RecursionError) as e:
        return params, [f"{y}: params not read ({e})"]
    if isinstance(loaded, dict):
        for k, v in loaded.items():
            if not str(k).startswith("_wandb"):
                params[str(k)] = v.get("value") if isinstance(v, dict) and "value" in v else v
    return params, []


def _metadata(run_dir: Path, run: Run) -> None:
    """Code version and environment from ``files/wandb-metadata.json``, if there."""
    p = run_dir / "files" / "wandb-metadata.json"
    try:
        meta = json.loads(safe_read_text(p))
    except (OSError, ReadError, ValueError, RecursionError):
        return
    if not isinstance(meta, dict):
        return
    git = meta.get("git")
    if isinstance(git, dict) and git.get("commit"):
        run.identity["code_version"] = git["commit"]
    for k in ("python", "os", "gpu", "host"):
        if isinstance(meta.get(k), str):
            run.env[k] = meta[k]


# -- the CSV export -----------------------------------------------------------------------


def _csv_columns(path: Path) -> list[str] | None:
    """The header if it has the export's shape: a step column, then ``<run> - <metric>``."""
    line = first_line(path)  # a small prefix: never the whole file, never a FIFO
    if line is None:
        return None
    try:
        header = next(csv.reader([line.decode("utf-8-sig").rstrip("\r")]), None)
    except (UnicodeDecodeError, csv.Error):
        return None
    if not header or len(header) < 2 or not header[0].strip():
        return None
    if all(_CSV_COL.match(c) for c in header[1:]):
        return header
    return None


def _read_csv(path: Path, aliases: Mapping[str, str] | None) -> list[Run]:
    header = _csv_columns(path)
    if header is None:
        raise ReadError(path, "not a W&B CSV export (expected \"Step\",\"<run> - <metric>\",...)",
                        "line 1")
    cols: list[tuple[int, str, str]] = []  # (column, run, metric) for value columns
    for i, c in enumerate(header[1:], start=1):
        m = _CSV_COL.match(c)
        if m and not m.group("agg"):
            cols.append((i, m.group("run"), m.group("metric")))
    per_run: dict[str, tuple[list[int], list[str], list[float]]] = {}
    try:
        with io.TextIOWrapper(open_regular(path), newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                if not row or not row[0].strip():
                    continue
                try:
                    step = int(float(row[0]))
                except ValueError:
                    raise ReadError(path, f"step {row[0]!r} is not a number",
                                    f"line {reader.line_num}") from None
                for i, run_name, metric in cols:
                    cell = row[i].strip() if i < len(row) else ""
                    if not cell:
                        continue
                    try:
                        x = parse_float(cell)
                    except ValueError:
                        continue  # a media or text cell: not a scalar
                    st, nm, vs = per_run.setdefault(run_name, ([], [], []))
                    st.append(step)
                    nm.append(metric)
                    vs.append(x)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ReadError(path, f"cannot read: {e}") from e
    runs = []
    for run_name, (st, nm, vs) in per_run.items():
        run = Run(id=run_name, path=str(path), format="wandb-csv")
        finish_metrics(run, st, nm, vs, aliases, str(path))
        runs.append(run)
    if not runs:
        runs.append(Run(id=path.stem, path=str(path), format="wandb-csv",
                        warnings=[f"{path}: no values in the export"]))
    return runs
