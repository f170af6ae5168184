"""MMCV 1.x work dirs (MMDetection 2, MMSegmentation 0.x, MMClassification 0.x, MMPose 0.x, ...).

``TextLoggerHook`` writes ``<work_dir>/<timestamp>.log.json`` beside the text ``<timestamp>.log``:
JSON Lines, first the run's meta when the trainer passes one (``env_info``, ``seed``,
``exp_name``, ``config`` as the config's text), then one record per logged iteration,
``{"mode": "train", "epoch", "iter", "lr", "loss", ...}``, and one per validation,
``{"mode": "val", "epoch", "iter", ...}``: a validation loss when the workflow holds
``("val", 1)``, the evaluator's metrics (``bbox_mAP``, ``mIoU``, ``accuracy_top-1``) with an
``EvalHook``.

An ``EpochBasedRunner`` counts ``iter`` *within* the epoch, starting again each epoch: read as
steps, every epoch would lie over the one before. Here the step is the iteration over the run,
``(epoch - 1) * n + iter`` with ``n`` the largest ``iter`` logged in an epoch, and a validation
lies at the end of its epoch. An ``IterBasedRunner``'s ``iter`` already counts the run; its
validations lie at the last training iteration logged before them (their ``iter`` counts the
validation loader). A validation's metrics are read under ``val/``, as MMEngine's are.

The work dir is claimed whole: the text ``.log`` twin of each JSON log is not read again as a
run of its own. Each ``.log.json`` is a run (a resumed training writes a new one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, finish_metrics, json_or_text_float
from .csv_generic import first_line, json_records
from .mmengine import VAL_PREFIX, config_text_params

SUFFIX = ".log.json"
#: what the hook writes into every record besides metrics
BOOKKEEPING = frozenset({"mode", "epoch", "iter", "time", "data_time", "memory", "eta"})
#: keys of the meta record MMDetection/MMSegmentation pass to the runner
META_KEYS = frozenset({"env_info", "exp_name", "config", "seed", "hook_msgs"})
#: what a validation record repeats from training: not a validation metric
_REPEATED = frozenset({"lr"})


def could_hold(names: Collection[str]) -> bool:
    return any(n.endswith(SUFFIX) for n in names)


def _is_log(path: Path) -> bool:
    """A ``.log.json`` whose first line is the hook's meta record or a train/val record."""
    if not path.name.endswith(SUFFIX) or not path.is_file():
        return False
    try:
        rec = json.loads(first_line(path) or "null")
    except (ValueError, RecursionError):
        return False
    return isinstance(rec, dict) and (rec.get("mode") in ("train", "val")
                                      or bool(META_KEYS & set(rec) and "mode" not in rec))


def _logs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if _is_log(p))
    except OSError:
        return []


def detect(path: Path) -> bool:
    """A work dir holding MMCV 1.x JSON logs, or one such log."""
    path = path if isinstance(path, Path) else Path(path)
    return bool(_logs(path)) if path.is_dir() else _is_log(path)


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run per JSON log; named after the work dir (and the timestamp when it holds several)."""
    path = Path(path)
    logs = _logs(path) if path.is_dir() else [path]
    if not logs:
        raise ReadError(path, f"no MMCV {SUFFIX} log here")
    folder = path if path.is_dir() else path.parent
    runs = []
    for log in logs:
        stamp = log.name[: -len(SUFFIX)]
        rid = folder.name if len(logs) == 1 else f"{folder.name}/{stamp}"
        runs.append(_read_log(log, rid, aliases))
    return runs


def _read_log(log: Path, rid: str, aliases: Mapping[str, str] | None) -> Run:
    records, notes, torn = json_records(log)
    run = Run(id=rid, metrics=EMPTY, path=str(log), format="mmcv", in_progress=torn)
    recs = []
    for line, rec in records:
        if "mode" not in rec and META_KEYS & set(rec):
            if isinstance(rec.get("config"), str):
                params, more = config_text_params(rec["config"], f"{log}:{line}")
                run.params.update(params)
                notes.extend(more)
            if isinstance(rec.get("seed"), int) and not isinstance(rec.get("seed"), bool):
                run.params["seed"] = rec["seed"]
            continue
        if rec.get("mode") in ("train", "val") and _whole(rec.get("iter")):
            recs.append(rec)
    skipped = len(records) - len(recs) - sum(1 for _, r in records if "mode" not in r
                                             and META_KEYS & set(r))
    if skipped:
        notes.append(f"{log}: {skipped} record(s) without a mode and an integer iter skipped")
    run.warnings.extend(notes)
    steps, names, values, epochs = _columns(recs, run, log)
    finish_metrics(run, steps, names, values, aliases, str(log), epoch=epochs)
    return run


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _per_epoch(train: list[dict[str, Any]]) -> int | None:
    """Iterations per epoch when ``iter`` counts within the epoch (it goes back as the epoch
    goes up): the largest logged. None when it counts the run (an IterBasedRunner), and for a
    log of one epoch, where both readings give the same steps (its validations then lie at
    the iteration logged before them, which an iteration-based run of under one epoch needs)."""
    before = None
    restarts = False
    for r in train:
        e = r.get("epoch")
        if not _whole(e):
            return None
        if before is not None and e > before[0] and r["iter"] <= before[1]:
            restarts = True
        before = (e, r["iter"])
    return max(r["iter"] for r in train) if restarts else None


def _columns(recs: list[dict[str, Any]], run: Run, where: Path
             ) -> tuple[list[int], list[str], list[float], list[float]]:
    train = [r for r in recs if r["mode"] == "train"]
    n = _per_epoch(train) if train else None
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    epochs: list[float] = []
    last_train = 0
    for r in recs:
        epoch = r.get("epoch")
        if r["mode"] == "train":
            step = (epoch - 1) * n + r["iter"] if n else r["iter"]
            last_train = step
        else:
            step = epoch * n if n and _whole(epoch) else last_train
        for k, v in r.items():
            if k in BOOKKEEPING or (r["mode"] == "val" and k in _REPEATED):
                continue
            x = json_or_text_float(v)
            if x is None or isinstance(v, bool):
                continue
            steps.append(step)
            names.append(k if r["mode"] == "train" else VAL_PREFIX + k)
            values.append(x)
            epochs.append(float(epoch) if _whole(epoch) else math.nan)
    if n:
        run.warnings.append(f"{where}: iterations are counted within each epoch; read over the "
                            f"run as (epoch - 1) x {n} + iter ({n}: the most logged in an epoch), "
                            "each validation at the end of its epoch")
    return steps, names, values, epochs
