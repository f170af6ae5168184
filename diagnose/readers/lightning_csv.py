"""Lightning's ``CSVLogger``: ``<name>/version_N/metrics.csv`` + ``hparams.yaml``.

The writer keeps the sorted union of every key it has seen as the header and writes
one sparse row per ``log_metrics`` call (``step`` always, ``epoch`` from the Trainer,
so LearningRateMonitor rows have an empty epoch). Metrics logged with
``on_step``/``on_epoch`` appear twice, as ``<name>_step`` and ``<name>_epoch``; the
per-step series takes the canonical name and the epoch means keep theirs. Rows are
flushed every ``flush_logs_every_n_steps`` (100), so a 0-byte file is a run that has
not flushed yet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY
from ._params import read_yaml_params
from .csv_generic import Columns, first_line, header_cells, read_table, refuse_garbage, wide_columns

__all__ = ["detect", "read"]

METRICS_FILE = "metrics.csv"
HPARAMS_FILE = "hparams.yaml"


def _is_lightning_csv(p: Path) -> bool:
    if not p.is_file():
        return False
    if p.stat().st_size == 0:
        return True  # created, nothing flushed yet
    return "step" in header_cells(first_line(p))


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return METRICS_FILE in names


def detect(path: Path) -> bool:
    """A ``version_N``-style folder holding ``metrics.csv`` with a ``step`` column, or that file."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return _is_lightning_csv(path / METRICS_FILE)
    return path.name == METRICS_FILE and _is_lightning_csv(path)


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read one CSVLogger run folder (or its ``metrics.csv``)."""
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent
    metrics = run_dir / METRICS_FILE
    if not metrics.is_file():
        raise ReadError(run_dir, f"no {METRICS_FILE} here")
    params, notes = {}, []
    if (run_dir / HPARAMS_FILE).is_file():
        params, notes = read_yaml_params(run_dir / HPARAMS_FILE)
    rid = f"{run_dir.parent.name}/{run_dir.name}" if run_dir.parent.name else run_dir.name
    run = Run(id=rid, metrics=EMPTY, params=params, path=str(run_dir), format="lightning")
    run.warnings.extend(notes)
    table = read_table(metrics)
    table.drop_open_tail()  # the csv module ends every row it writes
    refuse_garbage(table)
    run.warnings.extend(table.notes)
    if not table.header:
        run.in_progress = True
        run.warnings.append(f"{metrics}: empty; the run has not flushed any rows yet "
                            "(CSVLogger writes every 100 steps and at the end)")
        Columns().finish(run, aliases, str(metrics))
        return [run]
    step_col = table.col("step")
    if step_col is None:
        raise ReadError(metrics, "no 'step' column in the header", "line 1")
    cols = wide_columns(table, step_col, run.warnings)
    cols.finish(run, aliases, str(metrics))
    run.in_progress = table.torn
    return [run]
