"""Where a finding lives on disk: the log file of its run and the line of its first step.

For CI annotations (``file=``, ``line=``): GitHub shows an annotation on the file and
line it names, relative to the repository. Only the findings' runs are looked at,
and a log file is scanned once for all the steps wanted from it (up to
:data:`MAX_SCAN_BYTES`; past that the annotation names the file without a line).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable, Iterable

from .findings import Finding, Report
from .run import Run

__all__ = ["finding_locator", "log_file", "repo_relative", "step_lines"]

#: A log is scanned for step lines only this far.
MAX_SCAN_BYTES = 64 << 20
_HF_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_JSON_STEP = re.compile(rb'"step"\s*:\s*(-?\d+)')
#: step columns of the CSV readers, most specific first (epoch last: Keras logs by epoch)
_CSV_STEP = ("step", "global_step", "iteration", "iter", "epoch")


def log_file(run: Run) -> Path | None:
    """The file a run's curves were read from (a folder's main log), or None."""
    if not run.path:
        return None
    p = Path(run.path)
    if p.is_file():
        return p
    if not p.is_dir():
        return None
    if run.format == "native":
        cand = [p / "metrics.jsonl"]
    elif run.format == "lightning":
        cand = [p / "metrics.csv"]
    elif run.format == "hf":
        ckpts = sorted((int(m.group(1)), d) for d in p.iterdir()
                       if (m := _CHECKPOINT.match(d.name)) and (d / _HF_STATE).is_file())
        cand = [p / _HF_STATE] + [d / _HF_STATE for _, d in reversed(ckpts)]
    elif run.format == "tensorboard":
        cand = sorted(p.glob("events.out.tfevents.*"))
    else:
        cand = []
    return next((c for c in cand if c.is_file()), None)


def step_lines(path: Path, steps: Iterable[int], run_key: str | None = None) -> dict[int, int]:
    """1-based line of the first record of each step in ``path`` (JSON lines, trainer_state, CSV).

    ``run_key``: in a table holding several runs (a ``run`` column), only that run's rows.
    """
    want = set(steps)
    found: dict[int, int] = {}
    if not want:
        return found
    name = path.name.lower()
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            if name.endswith((".jsonl", ".json")) or head.lstrip()[:1] in (b"{", b"["):
                _scan_json(f, want, found, run_key)
            elif name.endswith((".csv", ".tsv", ".log", ".txt")):
                _scan_csv(f, want, found, run_key)
    except OSError:
        return {}
    return found


def _scan_json(f, want: set[int], found: dict[int, int], run_key: str | None) -> None:
    mine = (re.compile(rb'"run"\s*:\s*' + re.escape(json.dumps(run_key).encode()))
            if run_key is not None else None)
    read = 0
    for n, line in enumerate(f, 1):
        read += len(line)
        if read > MAX_SCAN_BYTES:
            return
        if mine is not None and b'"run"' in line and not mine.search(line):
            continue
        m = _JSON_STEP.search(line)
        if m:
            s = int(m.group(1))
            if s in want and s not in found:
                found[s] = n
                if len(found) == len(want):
                    return


def _scan_csv(f, want: set[int], found: dict[int, int], run_key: str | None) -> None:
    header = f.readline().decode("utf-8", "replace").strip()
    delim = "\t" if "\t" in header else ","
    cells = [c.strip().strip('"').lower() for c in header.split(delim)]
    col = next((cells.index(c) for c in _CSV_STEP if c in cells), None)
    rc = cells.index("run") if "run" in cells else None
    if col is None:
        return
    read = len(header)
    for n, raw in enumerate(f, 2):
        read += len(raw)
        if read > MAX_SCAN_BYTES:
            return
        row = raw.decode("utf-8", "replace").rstrip("\r\n").split(delim)
        if len(row) <= col or (rc is not None and (len(row) <= rc or row[rc].strip('"') != run_key)):
            continue
        try:
            s = int(float(row[col]))
        except ValueError:
            continue
        if s in want and s not in found:
            found[s] = n
            if len(found) == len(want):
                return


def repo_root(start: Path | None = None) -> Path | None:
    """``$GITHUB_WORKSPACE``, else the nearest folder upwards holding ``.git``."""
    ws = os.environ.get("GITHUB_WORKSPACE")
    if ws:
        return Path(ws).resolve()
    here = (start or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), None)


def repo_relative(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` with forward slashes; as resolved when outside it."""
    p = Path(path).resolve()
    if root is not None:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            pass
    return p.as_posix()


def finding_locator(report: Report) -> Callable[[Finding], tuple[str | None, int | None]]:
    """A function giving each finding of ``report`` its (repository-relative log file, line)."""
    root = repo_root()
    runs = {r.id: r for r in report.runs}
    files: dict[str, Path | None] = {rid: log_file(r) for rid, r in runs.items()}
    wanted: dict[str, set[int]] = {}
    for f in report.findings:
        if f.run is not None and f.steps is not None and files.get(f.run) is not None:
            wanted.setdefault(f.run, set()).add(int(f.steps[0]))
    lines: dict[str, dict[int, int]] = {}
    for rid, steps in wanted.items():
        run = runs[rid]
        key = rid.rsplit("/", 1)[-1] if files[rid] is not None and Path(run.path or "").is_file() else None
        lines[rid] = step_lines(files[rid], steps, run_key=key)  # type: ignore[arg-type]

    def where(f: Finding) -> tuple[str | None, int | None]:
        members = [f.run] if f.run is not None else list(f.runs)
        rid = next((r for r in members if files.get(r) is not None or (runs.get(r) and runs[r].path)),
                   None)
        if rid is None:
            return None, None
        path = files.get(rid) or Path(runs[rid].path)  # type: ignore[arg-type]
        line = lines.get(rid, {}).get(int(f.steps[0])) if f.run is not None and f.steps else None
        return repo_relative(path, root), line

    return where
