"""Ultralytics (YOLO) training runs: ``runs/<task>/<name>/results.csv`` + ``args.yaml``.

The trainer appends one row per epoch: ``epoch`` (from 1), ``time`` (seconds so far),
the loss components (``train/box_loss``, ``train/cls_loss``, ``train/dfl_loss``; segment
and pose add theirs), ``metrics/precision(B)``, ``metrics/recall(B)``,
``metrics/mAP50(B)``, ``metrics/mAP50-95(B)``, the same losses on the validation set,
and ``lr/pg0..2``. Older versions pad the header cells with spaces.

What diagnose reads: the components summed as ``train/loss`` and ``val/loss`` (each
component kept under its own name), the metrics as ``val/...`` (``val/mAP50-95`` is the
validation score; higher is better), ``lr/pg0`` as ``lr``, the epoch as the step and
``args.yaml`` (``lr0`` as ``lr``, ``batch`` as ``batch_size``) as params.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, detector_loss_parts, detector_metric_name
from ._params import read_yaml_params
from .csv_generic import Columns, first_line, header_cells, read_table

__all__ = ["could_hold", "detect", "read"]

RESULTS_FILE = "results.csv"
ARGS_FILE = "args.yaml"
#: args.yaml keys -> the names the rules read
PARAM_NAMES = {"lr0": "lr", "batch": "batch_size"}


def _is_results(p: Path) -> bool:
    if not p.is_file():
        return False
    cells = [c.strip() for c in header_cells(first_line(p))]
    return bool(cells) and cells[0] == "epoch" and any(
        c.startswith("train/") and c.endswith("loss") for c in cells) and any(
        c.startswith("metrics/") for c in cells)


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return RESULTS_FILE in names


def detect(path: Path) -> bool:
    """A run folder holding an ultralytics ``results.csv``, or that file."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return _is_results(path / RESULTS_FILE)
    return path.name == RESULTS_FILE and _is_results(path)


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run: the folder of ``results.csv`` (with its ``args.yaml``)."""
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent
    results = run_dir / RESULTS_FILE
    table = read_table(results)
    if not table.header:
        raise ReadError(results, "empty file: no header line", "line 1")
    table.header = [c.strip() for c in table.header]
    params: dict = {}
    notes = list(table.notes)
    if (run_dir / ARGS_FILE).is_file():
        raw, more = read_yaml_params(run_dir / ARGS_FILE)
        notes += more
        params = {PARAM_NAMES.get(k, k): v for k, v in raw.items()}
    rid = f"{run_dir.parent.name}/{run_dir.name}" if run_dir.parent.name else run_dir.name
    run = Run(id=rid, metrics=EMPTY, params=params, path=str(run_dir), format="yolo",
              in_progress=table.torn)
    run.warnings.extend(notes)

    cols = {name: [row[j].strip() if j < len(row) else "" for row in table.rows]
            for j, name in enumerate(table.header)}
    epochs = np.array([_num(c) for c in cols["epoch"]])
    ok = np.isfinite(epochs)
    steps = epochs[ok].astype(np.int64)
    rows = np.flatnonzero(ok)
    nan = np.full(len(steps), math.nan)
    out = Columns()
    vals = {name: np.array([_num(c) for c in cells])[ok] for name, cells in cols.items()
            if name not in ("epoch", "time")}
    for name, v in vals.items():
        out.add(detector_metric_name(name), rows, steps, v, steps.astype(float), nan)
    for total, parts in detector_loss_parts(list(cols)).items():
        out.add(total, rows, steps, np.sum([vals[p] for p in parts], axis=0),
                steps.astype(float), nan)
    if "time" in cols:
        t = np.array([_num(c) for c in cols["time"]])[ok]
        if len(t) and math.isfinite(t[-1]):
            run.results["train_time"] = float(t[-1])
    out.finish(run, aliases, str(results))
    return [run]


def _num(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan
