"""MLflow: the file store (``mlruns/``) and the SQLite store (``mlflow.db``, MLflow 3's default).

File store layout: ``mlruns/<experiment>/meta.yaml`` and ``mlruns/<experiment>/<run>/``
with ``meta.yaml`` (run name, start/end time, status), ``metrics/<key>`` (one line per
value: ``timestamp value step``; MLflow 1 wrote ``timestamp value``, MLflow 2.11+
adds ``dataset_name dataset_digest``), ``params/<key>`` and ``tags/<key>``; keys with
``/`` are nested folders. The SQLite store keeps the same in tables ``runs``,
``metrics`` (NaN stored as 0 with ``is_nan = 1``, ±inf as ±1.797e308), ``params``,
``tags`` and ``experiments``; it is opened read-only with the stdlib ``sqlite3``.

One store holds many runs; each comes back as its own Run. Deleted runs are skipped.
"""

from __future__ import annotations

import itertools
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ReadError
from ..run import Run
from . import _yaml
from ._common import fits_int64, unstepped, unstepped_note
from ._frame import EMPTY, detector_loss_parts, finish_metrics, parse_float, with_detector_totals
from ._params import parse_value
from ._safe_open import open_regular, read_bytes, read_prefix

#: meta.yaml, tags and params files are small; a bigger one is not MLflow's.
META_MAX_BYTES = 1 << 20

__all__ = ["detect", "read"]

DB_NAMES = {"mlflow.db"}
DB_SUFFIXES = {".db", ".sqlite", ".sqlite3"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: RunStatus numbers in the file store's meta.yaml.
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
#: What MLflow's SQL store writes for ±inf (it clamps to the largest double).
_MAX = sys.float_info.max


# -- detection -----------------------------------------------------------------------------


def _meta_kind(d: Path | str) -> str | None:
    """``"run"`` or ``"experiment"`` from a folder's ``meta.yaml``, else None."""
    meta = os.path.join(d, "meta.yaml")
    raw = read_prefix(meta, 8192)  # never blocks on a FIFO
    if raw is None:
        return None
    head = raw.decode("utf-8", errors="replace")
    keys = {line.split(":", 1)[0].strip() for line in head.splitlines() if ":" in line}
    if "run_uuid" in keys or "run_id" in keys:
        return "run"
    if "experiment_id" in keys:
        return "experiment"
    return None


def _subdirs(d: Path) -> list[Path]:
    """Sorted non-hidden subfolders (links followed); none when ``d`` cannot be listed.

    Asked of every folder a walk meets (through ``_is_root``): one ``os.scandir``.
    """
    try:
        with os.scandir(d) as it:
            names = sorted(e.name for e in it
                           if not e.name.startswith(".") and e.is_dir(follow_symlinks=True))
    except OSError:
        return []
    return [Path(d, n) for n in names]


def _is_root(d: Path) -> bool:
    """A folder with an experiment folder in it."""
    return any(_meta_kind(c) == "experiment" for c in _subdirs(d))


def _is_db(p: Path) -> bool:
    if p.name in DB_NAMES:
        return True
    if p.suffix.lower() not in DB_SUFFIXES:
        return False
    try:
        if read_prefix(p, 16) != _SQLITE_MAGIC:
            return False
        with closing(_connect(p)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        return {"runs", "metrics", "experiments"} <= tables
    except (OSError, sqlite3.Error, ReadError):
        return False


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a store, experiment or run (cheap).

    A run or experiment folder has ``meta.yaml``; a store's experiment folders are
    named by their numeric ids. (An oddly named experiment folder is still found: the
    walk goes into it and it claims itself.)
    """
    return "meta.yaml" in names or any(n.isdigit() for n in names)


def detect(path: Path) -> bool:
    """An ``mlruns`` root, one experiment or run folder of it, or an MLflow SQLite file."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_file():
        return _is_db(path)
    if not path.is_dir():
        return False
    kind = _meta_kind(path)
    if kind == "run":
        return True
    if kind == "experiment":
        return any(_meta_kind(c) == "run" for c in _subdirs(path))
    return _is_root(path)


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Every (not deleted) run of a store, experiment or run folder; every run, each with a note,
    when all of them are marked deleted (:func:`_live`)."""
    path = Path(path)
    if path.is_file():
        return _read_db(path, aliases)
    kind = _meta_kind(path)
    if kind == "run":
        exp_dir = path.parent
        return [_read_run_dir(path, _experiment_name(exp_dir), aliases)]
    exps = [path] if kind == "experiment" else [
        c for c in _subdirs(path) if _meta_kind(c) == "experiment"
    ]
    if not exps:
        raise ReadError(path, "not an MLflow store: no experiment folder with a meta.yaml")
    runs = [_read_run_dir(rd, _experiment_name(exp), aliases)
            for exp in exps for rd in _subdirs(exp) if _meta_kind(rd) == "run"]
    runs, trash = _live(runs, lambda r: r.env.get("lifecycle_stage"))
    return _suffix_run_ids(_noted_deleted(runs) if trash else runs)


def _live(items: list, stage: Callable[[Any], Any]) -> tuple[list, bool]:
    """The items not marked deleted (MLflow's trash, which its UI leaves out), or, when every one
    is, all of them and True: "no training log found" would hide logs that were asked for."""
    live = [x for x in items if stage(x) != "deleted"]
    return (live, False) if live or not items else (items, True)


def _noted_deleted(runs: list[Run]) -> list[Run]:
    for run in runs:
        run.warnings.append(f"{run.path}: this MLflow run is marked deleted (lifecycle_stage: "
                            "deleted); read because no other run is here")
    return runs


def _suffix_run_ids(runs: list[Run]) -> list[Run]:
    """MLflow's naming: a run name several runs share gets its run id's first 8 characters.

    Ids unique across a walk are :func:`diagnose.readers.unique_ids`'s job.
    """
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.id] = seen.get(r.id, 0) + 1
    for r in runs:
        if seen[r.id] > 1:
            r.id = f"{r.id}-{str(r.identity.get('run_id', ''))[:8]}"
    return runs


# -- file store ------------------------------------------------------------------------------


def _load_meta(p: Path, notes: list[str]) -> dict[str, Any]:
    raw = read_prefix(p, META_MAX_BYTES)  # a bigger one is read as far as its first MiB
    if raw is None:
        notes.append(f"{p}: not readable (missing, or not a regular file); run name and "
                     "times unknown")
        return {}
    text = raw.decode("utf-8", errors="replace")
    try:
        data = _yaml.load(text)
    except (_yaml.YAMLError, RecursionError, ValueError) as e:
        data = None
        why = f"not valid YAML ({e})"
    else:
        why = "not a mapping"
    if not isinstance(data, dict):
        # MLflow writes flat ``key: value`` lines: read those as they are, so that a damaged
        # file still says what it can (above all ``lifecycle_stage: deleted``)
        data = _flat_lines(text)
        notes.append(f"{p}: {why}; read its 'key: value' lines as plain text")
    return data


def _flat_lines(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if ":" not in line or line[:1].isspace() or line.startswith("#"):
            continue
        k, _, v = line.partition(":")
        v = v.strip().strip("'\"")
        out.setdefault(k.strip(), int(v) if v.isdigit() else v)
    return out


def _experiment_name(exp_dir: Path) -> str | None:
    meta = _load_meta(exp_dir / "meta.yaml", [])
    name = meta.get("name")
    return str(name) if name not in (None, "") else None


def _key_files(d: Path) -> Iterable[tuple[str, Path]]:
    """``(key, file)`` under ``d``, nested folders joined with ``/`` (MLflow's key syntax)."""
    if not d.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(d):
        dirnames.sort()
        for fn in sorted(filenames):
            f = Path(dirpath) / fn
            yield f.relative_to(d).as_posix(), f


def _read_run_dir(rd: Path, experiment: str | None, aliases: Mapping[str, str] | None) -> Run:
    notes: list[str] = []
    meta = _load_meta(rd / "meta.yaml", notes)
    tags = {k: _read_small(f, notes) for k, f in _key_files(rd / "tags")}
    params = {k: parse_value(v) for k, f in _key_files(rd / "params")
              if (v := _read_small(f, notes)) is not None}
    run_id = str(meta.get("run_id") or meta.get("run_uuid") or rd.name)
    status = meta.get("status")
    info = {
        "run_id": run_id,
        "run_name": meta.get("run_name") or meta.get("name") or tags.get("mlflow.runName") or "",
        "experiment_id": meta.get("experiment_id"),
        "experiment": experiment,
        "status": _STATUS.get(status, status) if isinstance(status, int) else status,
        "start_time": meta.get("start_time"),
        "end_time": meta.get("end_time"),
        "lifecycle_stage": meta.get("lifecycle_stage"),
        "user": meta.get("user_id"),
    }
    run = _new_run(rd, info, params, tags, notes)
    steps, names, values, walls = [], [], [], []
    for key, f in _key_files(rd / "metrics"):
        if _read_metric_file(f, key, steps, names, values, walls, run.warnings):
            run.in_progress = True
    _finish(run, steps, names, values, walls, aliases, str(rd / "metrics"))
    return run


def _finish(run: Run, steps: Iterable[int], names: list[str], values: Iterable[float],
            walls: Iterable[float], aliases: Mapping[str, str] | None, where: str) -> None:
    """:func:`finish_metrics`, with a detector's loss total added first: Ultralytics' MLflow
    callback logs the loss parts and no total, as its results.csv does."""
    uniq = list(dict.fromkeys(names))
    if not detector_loss_parts(uniq):  # most runs: no per-row work here
        finish_metrics(run, np.asarray(steps, dtype=np.int64), names, values, aliases, where,
                       wall_time=walls)
        return
    index = {n: i for i, n in enumerate(uniq)}
    uniq, step, wall, value, code, _, rename = with_detector_totals(
        run, where, uniq, np.asarray(steps, dtype=np.int64), np.asarray(walls, dtype=np.float64),
        np.asarray(values, dtype=np.float64), np.array([index[n] for n in names], dtype=np.int64),
        None, aliases)
    finish_metrics(run, step, [uniq[c] for c in code], value, aliases, where, wall_time=wall,
                   rename=rename)


def _read_small(f: Path, notes: list[str]) -> str | None:
    try:
        return read_bytes(f, META_MAX_BYTES).decode("utf-8", errors="replace")
    except ReadError as e:
        notes.append(f"{e}; not read")
        return None


def _read_metric_file(
    f: Path, key: str, steps: list, names: list, values: list, walls: list, notes: list[str]
) -> bool:
    """Append one ``metrics/<key>`` file's points; True if its last line is torn.

    Bad lines are skipped and reported.
    """
    try:
        text = read_bytes(f).decode("utf-8", errors="replace")
    except ReadError as e:
        notes.append(f"{e}; not read")
        return False
    lines = text.split("\n")
    unterminated = bool(text) and not text.endswith("\n")
    if not unterminated:
        lines.pop()
    parsed: list[tuple[int, float, float, str | None]] = []
    bad: list[int] = []
    torn = False
    for i, line in enumerate(lines, start=1):
        parts = line.strip().split(" ")
        if parts == [""]:
            continue
        if i == len(lines) and unterminated:  # MLflow ends every line it appends
            notes.append(f"{f}:{i}: last line has no newline; skipped as torn (the run is "
                         "still writing?)")
            torn = True
            continue
        try:
            if len(parts) not in (2, 3, 5):
                raise ValueError(f"{len(parts)} fields")
            ts = int(parts[0])
            val = parse_float(parts[1])
            step = int(parts[2]) if len(parts) >= 3 else 0
            if not (fits_int64(step) and fits_int64(ts)):
                raise ValueError("step or timestamp outside the 64-bit range")
            dataset = parts[3] if len(parts) == 5 else None
        except ValueError:
            bad.append(i)
            continue
        parsed.append((step, val, ts / 1000.0, dataset))
    if bad:
        notes.append(f"{f}: {len(bad)} malformed line(s) skipped (first: line {bad[0]}); "
                     "expected 'timestamp value step'")
    if unstepped([p[0] for p in parsed]):  # ``log_metric`` without a step: all at step 0
        notes.append(unstepped_note(str(f), len(parsed), parsed[0][0]))
        parsed = [(i, val, wall, ds) for i, (_, val, wall, ds) in enumerate(parsed)]
    datasets = {p[3] for p in parsed}
    for step, val, wall, ds in parsed:
        steps.append(step)
        names.append(key if len(datasets) == 1 or ds is None else f"{key}@{ds}")
        values.append(val)
        walls.append(wall)
    return torn


def _new_run(where: Path, info: dict[str, Any], params: dict[str, Any], tags: dict[str, Any],
             notes: list[str]) -> Run:
    name = info["run_name"]
    run = Run(id=str(name or info["run_id"]), metrics=EMPTY, params=params, path=str(where),
              format="mlflow")
    run.identity["run_id"] = info["run_id"]
    if name:
        run.identity["run_name"] = name
    if tags.get("mlflow.source.git.commit"):
        run.identity["code_version"] = str(tags["mlflow.source.git.commit"]).strip()
    for k in ("experiment_id", "experiment"):
        if info.get(k) not in (None, ""):
            run.identity[f"mlflow_{k}"] = info[k]
    for k in ("status", "start_time", "end_time", "lifecycle_stage", "user"):
        if info.get(k) not in (None, ""):
            run.env[k] = info[k]
    start, end = info.get("start_time"), info.get("end_time")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end >= start:
        run.results["train_time"] = (end - start) / 1000.0
    run.in_progress = info.get("status") in ("RUNNING", "SCHEDULED") or end is None
    run.warnings.extend(notes)
    return run


# -- SQLite store -------------------------------------------------------------------------------


def _connect(p: Path) -> sqlite3.Connection:
    uri = f"file:{p.resolve().as_posix()}?mode=ro"
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise ReadError(p, f"cannot open as SQLite: {e}") from e


def _read_db(p: Path, aliases: Mapping[str, str] | None) -> list[Run]:
    try:
        with open_regular(p) as f:
            if f.read(16) != _SQLITE_MAGIC:
                raise ReadError(p, "not an SQLite database (bad header)", "byte 0")
    except OSError as e:
        raise ReadError(p, f"cannot read: {e.strerror or e}") from e
    con = _connect(p)
    try:
        return _suffix_run_ids(_read_db_runs(p, con, aliases))
    except sqlite3.Error as e:
        raise ReadError(p, f"SQLite error: {e}") from e
    finally:
        con.close()


def _read_db_runs(p: Path, con: sqlite3.Connection, aliases: Mapping[str, str] | None
                  ) -> list[Run]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = {"runs", "metrics"} - tables
    if missing:
        raise ReadError(p, f"no {', '.join(sorted(missing))} table: not an MLflow store")
    exps = dict(con.execute("SELECT experiment_id, name FROM experiments")) \
        if "experiments" in tables else {}
    params: dict[str, dict[str, Any]] = {}
    if "params" in tables:
        for key, value, rid in con.execute("SELECT key, value, run_uuid FROM params"):
            params.setdefault(rid, {})[key] = parse_value(str(value))
    tags: dict[str, dict[str, Any]] = {}
    if "tags" in tables:
        for key, value, rid in con.execute("SELECT key, value, run_uuid FROM tags"):
            tags.setdefault(rid, {})[key] = value
    runs = []
    rows, trash = _live(con.execute(
        "SELECT run_uuid, name, status, start_time, end_time, lifecycle_stage, experiment_id, "
        "user_id FROM runs ORDER BY start_time, run_uuid"
    ).fetchall(), lambda row: row[5])
    for rid, name, status, start, end, stage, exp_id, user in rows:
        info = {"run_id": rid, "run_name": name or tags.get(rid, {}).get("mlflow.runName") or "",
                "experiment_id": exp_id, "experiment": exps.get(exp_id), "status": status,
                "start_time": start, "end_time": end, "lifecycle_stage": stage, "user": user}
        run = _new_run(p, info, params.get(rid, {}), tags.get(rid, {}), [])
        m = con.execute(
            "SELECT key, value, timestamp, step, is_nan, rowid FROM metrics WHERE run_uuid = ? "
            "ORDER BY key, step, timestamp, rowid", (rid,)
        ).fetchall()
        m = _typed_rows(m, f"{p} (run {rid})", run.warnings)
        m = _numbered_by_key(m, f"{p} (run {rid})", run.warnings)
        keys = [r[0] for r in m]
        values = np.array([r[1] for r in m], dtype=np.float64)
        is_nan = np.array([bool(r[4]) for r in m], dtype=bool)
        values[is_nan] = math.nan
        values[values >= _MAX] = math.inf
        values[values <= -_MAX] = -math.inf
        _finish(run, [r[3] for r in m], keys, values, [r[2] / 1000.0 for r in m], aliases,
                f"{p} (run {rid})")
        runs.append(run)
    return _noted_deleted(runs) if trash else runs


def _numbered_by_key(rows: list[tuple], where: str, notes: list[str]) -> list[tuple]:
    """Rows (ordered by key, step, timestamp) whose key was logged at one step only (see
    :func:`~._common.unstepped`) get their logging order as their step."""
    out: list[tuple] = []
    for key, grouped in itertools.groupby(rows, key=lambda r: r[0]):
        group = list(grouped)
        if unstepped([r[3] for r in group]):
            notes.append(unstepped_note(where, len(group), group[0][3], key))
            group = [(*r[:3], n, *r[4:]) for n, r in enumerate(group)]
        out.extend(group)
    return out


def _typed_rows(rows: list[tuple], where: str, notes: list[str]) -> list[tuple]:
    """Metric rows with the column types MLflow writes; others (a damaged or hand-edited
    store: SQLite does not enforce types) are skipped and reported by rowid."""
    out = []
    bad: list[int] = []
    for r in rows:
        key, value, ts, step = r[:4]
        if (isinstance(key, str) and type(step) is int and fits_int64(step)
                and type(value) in (int, float) and type(ts) in (int, float)):
            out.append(r)
        else:
            bad.append(r[5])
    if bad:
        notes.append(f"{where}: {len(bad)} metric row(s) with a wrong column type skipped "
                     f"(first: rowid {bad[0]})")
    return out
