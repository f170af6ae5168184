"""DVCLive output folders (``dvclive/`` by default): one TSV per metric under ``plots/metrics``.

``Live.log_metric("train/loss", v)`` then ``next_step()`` appends a row to
``plots/metrics/train/loss.tsv``: a header of ``step`` (``timestamp`` first when the logger
was asked for one) and the metric's name, then ``step<TAB>value`` rows. The folders are the
metric's name (``train/loss``, ``eval/loss``, ``val/dice``); the frameworks' callbacks log
the epoch as a metric of its own (``epoch.tsv``), read here as the epoch of each step.
Beside them sit ``metrics.json`` (the latest values only) and ``params.yaml`` (what
``log_params`` was given: the run's settings).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, finish_metrics, json_or_text_float
from ._params import read_yaml_params
from .csv_generic import read_table

__all__ = ["could_hold", "detect", "read"]

PLOTS = ("plots", "metrics")
PARAMS_FILE = "params.yaml"
#: the metric a framework's callback logs for the epoch: an axis, not a curve
EPOCH_NAMES = frozenset({"epoch", "epochs"})
#: the folder name DVCLive writes to unless told otherwise: the run is the folder above
DEFAULT_DIR = "dvclive"
#: most metric files read for one run (a walk must not hang on a folder of thousands)
MAX_FILES = 2000


def could_hold(names: Collection[str]) -> bool:
    return PLOTS[0] in names


def _tsvs(folder: Path) -> list[Path]:
    root = folder.joinpath(*PLOTS)
    if not root.is_dir():
        return []
    try:
        found = sorted(root.rglob("*.tsv"))
    except OSError:
        return []
    return found[:MAX_FILES]


def detect(path: Path) -> bool:
    """A DVCLive folder: ``plots/metrics`` under it holds a metric's ``.tsv``."""
    path = path if isinstance(path, Path) else Path(path)
    return path.is_dir() and bool(_tsvs(path))


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run: each TSV a metric named by its path under ``plots/metrics``, at its own
    steps; ``params.yaml`` as params."""
    folder = Path(path)
    files = _tsvs(folder)
    if not files:
        raise ReadError(folder, "no plots/metrics/*.tsv here (not a DVCLive folder)")
    rid = folder.parent.name if folder.name == DEFAULT_DIR and folder.parent.name else folder.name
    params, notes = {}, []
    if (folder / PARAMS_FILE).is_file():
        params, notes = read_yaml_params(folder / PARAMS_FILE)
    run = Run(id=rid, metrics=EMPTY, params=params, path=str(folder), format="dvclive")
    run.warnings.extend(notes)
    root = folder.joinpath(*PLOTS)
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    epoch_at: dict[int, float] = {}
    for f in files:
        name = f.relative_to(root).with_suffix("").as_posix()
        for step, value in _points(f, run):
            if name in EPOCH_NAMES:
                epoch_at[step] = value
                continue
            steps.append(step)
            names.append(name)
            values.append(value)
    if not names:
        raise ReadError(folder, "its metric files hold no rows yet")
    epochs = [epoch_at.get(s, float("nan")) for s in steps] if epoch_at else None
    finish_metrics(run, steps, names, values, aliases, str(folder), epoch=epochs)
    return [run]


def _points(f: Path, run: Run) -> list[tuple[int, float]]:
    """``(step, value)`` rows of one metric file: the ``step`` column and the one column that
    is neither it nor ``timestamp``."""
    table = read_table(f)
    run.warnings.extend(table.notes)
    run.in_progress = run.in_progress or table.torn
    if not table.header:
        return []
    at = table.col("step")
    cols = [i for i, h in enumerate(table.header) if h.strip().lower() not in ("step", "timestamp")]
    if at is None or len(cols) != 1:
        raise ReadError(f, f"expected a 'step' column and one value column, found "
                           f"{table.header!r}", "line 1")
    out = []
    for line, row in zip(table.lines, table.rows):
        x = json_or_text_float(row[cols[0]])
        try:
            step = int(row[at])
        except ValueError:
            raise ReadError(f, f"step {row[at]!r} is not a whole number", f"line {line}") from None
        if x is None:
            raise ReadError(f, f"value {row[cols[0]]!r} is not a number", f"line {line}")
        out.append((step, x))
    return out
