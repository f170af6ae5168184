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

YOLOv5 before v6.0 (and ultralytics/yolov3) wrote ``results.txt`` instead: no header, one
line of 15 whitespace-separated cells per epoch (``0/99  5.57G  0.1031 ...``), read the same
way under the names YOLOv5's later ``results.csv`` uses; its ``opt.yaml`` and ``hyp.yaml``
(``batch_size``, ``lr0``) are the params when there is no ``args.yaml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, detector_loss_parts, detector_metric_name
from ._params import read_yaml_params
from .csv_generic import Columns, Table, first_line, header_cells, read_table, read_text

__all__ = ["could_hold", "detect", "read"]

RESULTS_FILE = "results.csv"
ARGS_FILE = "args.yaml"
#: YOLOv5's own settings files (before ultralytics 8 wrote args.yaml): options, then hyper-parameters
YOLOV5_PARAM_FILES = ("opt.yaml", "hyp.yaml")
#: args.yaml keys -> the names the rules read
PARAM_NAMES = {"lr0": "lr", "batch": "batch_size"}
LEGACY_FILE = "results.txt"
#: the cells of a YOLOv5 (< v6.0) ``results.txt`` line: epoch/last, GPU memory, the train loss
#: parts and their total, targets, image size, P, R, mAP@0.5, mAP@0.5:0.95 (YOLOv3: F1, so it
#: is kept only when it never exceeds mAP@0.5), the validation loss parts. None: not a metric.
LEGACY_COLUMNS = ("epoch", None, "train/box_loss", "train/obj_loss", "train/cls_loss", None, None,
                  None, "metrics/precision", "metrics/recall", "metrics/mAP_0.5",
                  "metrics/mAP_0.5:0.95", "val/box_loss", "val/obj_loss", "val/cls_loss")
_LEGACY_ROW = re.compile(r"\s*(\d+)/\d+\s+\S+((?:\s+[-+0-9.eEnaif]+){13})\s*")


def _is_results(p: Path) -> bool:
    if not p.is_file():
        return False
    cells = [c.strip() for c in header_cells(first_line(p))]
    return bool(cells) and cells[0] == "epoch" and any(
        c.startswith("train/") and c.endswith("loss") for c in cells) and any(
        c.startswith("metrics/") for c in cells)


def _is_legacy(p: Path) -> bool:
    if not p.is_file():
        return False
    return _LEGACY_ROW.fullmatch(first_line(p)) is not None


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return RESULTS_FILE in names or LEGACY_FILE in names


def detect(path: Path) -> bool:
    """A run folder holding an ultralytics ``results.csv`` (or YOLOv5's ``results.txt``), or
    that file."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return _is_results(path / RESULTS_FILE) or _is_legacy(path / LEGACY_FILE)
    if path.name == LEGACY_FILE:
        return _is_legacy(path)
    return path.name == RESULTS_FILE and _is_results(path)


def _legacy_table(path: Path) -> Table:
    """A YOLOv5 ``results.txt`` as a table under ``LEGACY_COLUMNS``' names (the epoch as a
    number). A line of another shape is skipped with a note naming it; a last line cut short
    is torn (the trainer was stopped while writing)."""
    text, notes = read_text(path)
    table = Table(path=path, header=[c or "" for c in LEGACY_COLUMNS], notes=notes)
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = _LEGACY_ROW.fullmatch(line.rstrip("\r"))
        if m is None:
            if i == last and not text.endswith("\n"):
                table.torn = True
                table.notes.append(f"{path}:{i + 1}: torn last line skipped (the writer was "
                                   "interrupted or is still writing)")
            else:
                table.notes.append(f"{path}:{i + 1}: not a results.txt line; skipped")
                table.skipped += 1
            continue
        table.rows.append([m.group(1), "", *m.group(2).split()])
        table.lines.append(i + 1)
    return table


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run: the folder of ``results.csv`` (with its ``args.yaml``)."""
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent
    results = run_dir / RESULTS_FILE
    # a file is read as what it is named; a folder by the file detect found in it
    legacy = path.name == LEGACY_FILE if path.is_file() else not _is_results(results)
    if legacy:
        results = run_dir / LEGACY_FILE
        table = _legacy_table(results)
        if not table.rows:
            raise ReadError(results, "no results.txt line in it", "line 1")
    else:
        table = read_table(results)
        if not table.header:
            raise ReadError(results, "empty file: no header line", "line 1")
    table.header = [c.strip() for c in table.header]
    params: dict = {}
    notes = list(table.notes)
    settings = [ARGS_FILE] if (run_dir / ARGS_FILE).is_file() else YOLOV5_PARAM_FILES
    for name in settings:
        if (run_dir / name).is_file():
            raw, more = read_yaml_params(run_dir / name)
            notes += more
            params.update({PARAM_NAMES.get(k, k): v for k, v in raw.items()})
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
            if name not in ("epoch", "time", "")}
    fifth = "metrics/mAP_0.5:0.95"
    if legacy and not np.all(vals[fifth][np.isfinite(vals[fifth])] <=
                             vals["metrics/mAP_0.5"][np.isfinite(vals[fifth])]):
        del vals[fifth]  # YOLOv3's F1, not a mAP
    for name, v in vals.items():
        out.add(detector_metric_name(name), rows, steps, v, steps.astype(float), nan)
    for total, parts in detector_loss_parts(list(vals)).items():
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
