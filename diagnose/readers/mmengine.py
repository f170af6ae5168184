"""OpenMMLab's MMEngine logs (MMDetection 3, MMSegmentation 1, MMPretrain, MMPose, ...).

A ``Runner`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json`` (and the same lines to
``vis_data/<timestamp>.json``): JSON Lines, one record per logged training iteration
(``{"lr", "loss", ..., "epoch", "iter", "step"}``, ``step`` the global iteration) and one per
evaluation (``{"accuracy/top1", "coco/bbox_mAP", ..., "step"}``, no ``iter``). An epoch-based
run numbers its evaluations by *epoch* (``LoggerHook(log_metric_by_epoch=True)``, the default):
read as steps, every evaluation looked like a new run starting at step 1, and the file fell
apart into one-record "runs". Here an evaluation after epoch e is placed at the iteration that
ended epoch e, found from the training records' own ``epoch`` and ``iter``.

The ``vis_data`` folder is claimed whole, so its second copy of the scalars is not read again
as a run of its own; the run is named after the timestamp folder above it.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, finish_metrics, json_or_text_float
from ._common import appended_note, starts_again
from .csv_generic import first_line, json_records

VIS_DIR = "vis_data"
CONFIG = "config.py"
SCALARS = "scalars.json"
#: what a Runner writes into every record besides metrics: timing, memory, counters
BOOKKEEPING = frozenset({"step", "iter", "epoch", "time", "data_time", "memory", "eta",
                         "base_lr", "base_momentum"})
#: a validation metric's name as read: ``val/`` + the evaluator's key, so that a validation
#: ``accuracy`` is not read as the train accuracy
VAL_PREFIX = "val/"


def could_hold(names: Collection[str]) -> bool:
    return any(n.endswith(".json") for n in names)


def _scalars(path: Path) -> Path | None:
    """The scalars file of a ``vis_data`` folder, or the file itself when it lies in one (a
    ``scalars.json`` elsewhere is some other tool's, read by the generic JSON Lines reader)."""
    if path.is_file():
        return path if path.parent.name == VIS_DIR else None
    if path.name != VIS_DIR:
        return None
    if (path / SCALARS).is_file():
        return path / SCALARS
    copies = sorted(path.glob("*.json"))  # LoggerHook's copy only (no LocalVisBackend)
    return copies[0] if len(copies) == 1 else None


def detect(path: Path) -> bool:
    """A Runner's ``vis_data`` folder or its scalars file, whose first line is a record with a
    ``step``. The folder, not the timestamp folder above it: a work dir people commit may hold a
    ``vis_data`` beside other runs' timestamp folders."""
    path = path if isinstance(path, Path) else Path(path)
    found = _scalars(path)
    if found is None:
        return False
    try:
        rec = json.loads(first_line(found) or "null")
    except (ValueError, RecursionError):
        return False
    return isinstance(rec, dict) and isinstance(rec.get("step"), int)


def _kwargs(node: ast.AST | None) -> dict[str, ast.AST]:
    """The keyword arguments of a ``dict(...)`` call, or the items of a ``{...}`` literal."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {k.arg: k.value for k in node.keywords if k.arg}
    if isinstance(node, ast.Dict):
        return {k.value: v for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return {}


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None


def config_params(path: Path) -> tuple[dict[str, Any], list[str]]:
    """lr, batch size, epochs or iterations and seed from the config a Runner dumps beside its
    scalars (``vis_data/config.py``). The file is Python; it is parsed, never run."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as e:
        return {}, [f"{path}: config not read ({type(e).__name__}); no params from it"]
    return config_text_params(text, str(path))


def config_text_params(text: str, where: str) -> tuple[dict[str, Any], list[str]]:
    """The same from a config's text: MMEngine's keys (``optim_wrapper``, ``train_dataloader``,
    ``train_cfg``, ``randomness``) or MMCV 1.x's (``optimizer``, ``data.samples_per_gpu``,
    ``runner``, ``total_epochs``), which MMDetection 2 writes into its logs' first line."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError) as e:
        return {}, [f"{where}: config not read ({type(e).__name__}); no params from it"]
    top = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
           for t in n.targets if isinstance(t, ast.Name)}
    optim = _kwargs(top.get("optim_wrapper"))
    optimizer = _kwargs(optim.get("optimizer")) or _kwargs(top.get("optimizer"))
    loop = _kwargs(top.get("train_cfg")) or _kwargs(top.get("runner"))
    found = {
        "lr": _literal(optimizer.get("lr")),
        "optimizer": _literal(optimizer.get("type")),
        "weight_decay": _literal(optimizer.get("weight_decay")),
        "batch_size": _literal(_kwargs(top.get("train_dataloader")).get("batch_size")
                               or _kwargs(top.get("data")).get("samples_per_gpu")),
        "max_epochs": _literal(loop.get("max_epochs") or top.get("total_epochs")),
        "max_iters": _literal(loop.get("max_iters")),
        "seed": _literal(_kwargs(top.get("randomness")).get("seed")),
    }
    return {k: v for k, v in found.items()
            if isinstance(v, (int, float, str)) and not isinstance(v, bool)}, []


def _iters_per_epoch(train: list[dict[str, Any]]) -> int | None:
    """The iterations in one epoch, from the training records' (epoch, iter): the iteration that
    ends epoch e lies at or after the last one logged in it and before the first one logged in
    the next. The smallest count that every epoch allows; None without an epoch-based log or
    when no count fits every epoch (the evaluations then go after the iteration logged before)."""
    last: dict[int, int] = {}
    first: dict[int, int] = {}
    for r in train:
        e, i = r.get("epoch"), r["iter"]
        if not isinstance(e, int) or e < 1:
            return None
        last[e] = max(last.get(e, i), i)
        first[e] = min(first.get(e, i), i)
    if not last:
        return None
    lo = max(math.ceil(i / e) for e, i in last.items())
    his = [(first[e + 1] - 1) // e for e in last if e + 1 in first]
    return lo if not his or lo <= min(his) else None


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run per training in the file (a file written again from step 1 holds several)."""
    path = Path(path)
    scalars = _scalars(path)
    if scalars is None:
        raise ReadError(path, f"no {VIS_DIR}/{SCALARS} here")
    records, notes, torn = json_records(scalars)
    folder = scalars.parent.parent if scalars.parent.name == VIS_DIR else scalars.parent
    params: dict[str, Any] = {}
    if (scalars.parent / CONFIG).is_file():
        params, more = config_params(scalars.parent / CONFIG)
        notes += more
    rid = folder.name
    # split where the training iteration starts again; evaluations stay with the part before
    parts: list[list[dict[str, Any]]] = [[]]
    first = last = None
    restart: tuple[int, int, int] | None = None
    no_step: list[int] = []
    for line, rec in records:
        if not isinstance(rec.get("step"), int) or isinstance(rec.get("step"), bool):
            no_step.append(line)
            continue
        if isinstance(rec.get("iter"), int):
            step = rec["step"]
            if first is None:
                first = step
            elif last is not None and starts_again(step, last, first):
                parts.append([])
                restart = restart or (line, last, step)
            last = step
        parts[-1].append(rec)
    if no_step:
        notes.append(f"{scalars}: {len(no_step)} record(s) without an integer step skipped "
                     f"(first: line {no_step[0]})")
    if restart:
        line, before, step = restart
        notes.append(appended_note(f"{scalars}:{line}", before, step, len(parts), rid))
    runs = []
    for n, recs in enumerate(parts, start=1):
        run = Run(id=f"{rid}#{n}" if len(parts) > 1 else rid, metrics=EMPTY, path=str(folder),
                  params=dict(params), format="mmengine", in_progress=torn and n == len(parts))
        run.warnings.extend(notes if n == 1 else [])
        steps, names, values, epochs = _columns(recs, run, scalars)
        finish_metrics(run, steps, names, values, aliases, str(scalars), epoch=epochs)
        runs.append(run)
    return runs


def _columns(recs: list[dict[str, Any]], run: Run, where: Path
             ) -> tuple[list[int], list[str], list[float], list[float]]:
    train = [r for r in recs if isinstance(r.get("iter"), int)]
    ipe = _iters_per_epoch(train)
    last_epoch = max((r["epoch"] for r in train if isinstance(r.get("epoch"), int)), default=0)
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    epochs: list[float] = []
    by_epoch = behind = False
    last_train = None  # the last training iteration logged before a record
    for r in recs:
        is_train = isinstance(r.get("iter"), int)
        step, epoch = r["step"], r.get("epoch")
        if is_train:
            last_train = step
        elif ipe and 0 <= step <= last_epoch:
            # an evaluation numbered by epoch: at the iteration that ended that epoch
            step, epoch, by_epoch = step * ipe, step, True
        elif last_train is not None and step < last_train:
            # numbered behind the training it follows (an iteration-based loop numbers its
            # evaluations by an epoch it never counts: 0): at the last iteration logged before
            step, behind = last_train, True
        for k, v in r.items():
            if k in BOOKKEEPING:
                continue
            x = json_or_text_float(v)
            if x is None or isinstance(v, bool):
                continue
            steps.append(step)
            names.append(k if is_train else VAL_PREFIX + k)
            values.append(x)
            epochs.append(float(epoch) if isinstance(epoch, int) else math.nan)
    if by_epoch:
        run.warnings.append(
            f"{where}: evaluations are numbered by epoch; each is placed at the iteration that "
            f"ended its epoch ({ipe} iterations per epoch, read off the training records)")
    if behind:
        run.warnings.append(
            f"{where}: evaluations are numbered below the training iterations before them "
            "(an iteration-based loop writes its epoch, 0); each is placed at the last training "
            "iteration logged before it")
    return steps, names, values, epochs
