"""Generic metric tables: Keras ``CSVLogger``, tidy and wide CSV, JSON Lines (detectron2's too).

Shapes:

- **tidy**: one value per row, columns ``step, metric, value`` (optional ``run``,
  ``wall_time``, ``epoch``). An empty value in a tidy row is NaN (pandas writes NaN so).
- **JSON Lines under a ``.json`` name**: detectron2's ``metrics.json`` (one object per logged
  iteration: ``iteration``, ``total_loss``, ``loss_cls``, ..., evaluation records such as
  ``bbox/AP`` at the iteration they ran) is read as wide JSON Lines when its first line is a whole
  object with a step key; a pretty-printed JSON document never is.
- **wide**: a ``step`` column (``global_step``, ``iteration``, ``iter`` also do, and a
  reinforcement-learning loop's ``episode``; Keras's ``epoch`` when there is none, or the row
  order when a metric repeats within an epoch) and one column per metric. Empty cells and
  Keras's ``NA`` are *missing*; ``nan``/``inf`` are values.

A table whose file name begins or ends with a split (``val_performance.csv``,
``history_valid.csv``) and none of whose columns names one holds that split's curves: its
``loss`` is the validation loss. Such tables need no step column (rows are epochs), and sibling
tables that differ only in the split (``train_performance.csv`` beside it) are one run, the
folder's.

A ``run`` column splits one file into several runs. Values are parsed with ``float``,
so whatever a writer printed with ``repr`` (csv, Keras, Lightning, pandas) comes back
bit-exact. Lightning's reader reuses the table code here.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ReadError
from ..run import CANONICAL_METRICS, HELD_OUT_WORDS, JUDGED_METRICS, Run, canonical_name, plain_words
from ._common import appended_note, fits_int64, restart_points, starts_again
from ._frame import (EMPTY, MISSING, finish_metrics, is_test_loss, json_or_text_float, opt_float,
                     printed_float)
from ._params import knob_params
from ._safe_open import first_line as _first_line
from ._safe_open import read_bytes, read_prefix
from ._textlog_tools import comma_pairs

__all__ = ["Table", "detect", "read", "read_table", "wide_columns"]

SUFFIXES = {".csv", ".tsv", ".jsonl", ".ndjson", ".log", ".txt"}
#: the columns a wide table's step is read from, in order of preference: LLaMA-Factory's
#: ``trainer_log.jsonl`` numbers its records ``current_steps``; an RL loop that logs its mean
#: loss per episode (``episode,average_loss``) numbers its rows by episode
STEP_COLUMNS = ("step", "global_step", "iteration", "iter", "current_steps", "episode")
WALL_COLUMNS = ("wall_time", "timestamp")
#: progress bookkeeping a trainer writes into every record (LLaMA-Factory's ``trainer_log.jsonl``):
#: not metrics, and repeated at every step that logs twice (a train and an eval record)
PROGRESS_KEYS = frozenset({"total_steps", "percentage", "elapsed_time", "remaining_time",
                           "throughput", "total_tokens"})
RUN_COLUMN = "run"
#: File stems that say nothing about the run; the folder name is used instead.
GENERIC_STEMS = {"metrics", "training", "history", "log", "logs", "train", "results", "progress",
                 "summary"}


@dataclass
class Table:
    """A delimited text file as header + rows, with line numbers and what went wrong."""

    path: Path
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    torn: bool = False
    #: data lines skipped as unreadable (wrong number of fields, a CSV error)
    skipped: int = 0
    #: The last row kept is the file's last line and has no newline: complete-looking,
    #: but a writer that always ends lines (Lightning, Keras, MLflow) was cut off there.
    open_tail: bool = False

    def drop_open_tail(self) -> None:
        """Treat an unterminated last row as torn (for writers that always end lines)."""
        if self.open_tail:
            self.rows.pop()
            line = self.lines.pop()
            self.open_tail = False
            self.torn = True
            self.notes.append(f"{self.path}:{line}: last line has no newline; skipped as torn "
                              "(the writer was interrupted or is still writing)")

    def col(self, *names: str) -> int | None:
        """Index of the first column named like one of ``names`` (case-insensitive)."""
        low = [h.strip().lower() for h in self.header]
        for n in names:
            if n in low:
                return low.index(n)
        return None


# -- detection -----------------------------------------------------------------------------


def first_line(path: Path) -> str:
    """The header line ("" for a FIFO, a device or a line that does not end in the prefix)."""
    line = _first_line(path)
    return "" if line is None else line.decode("utf-8-sig", errors="replace").strip("\r")


#: the delimiters a header line is split on, the first one found winning
_DELIMITERS = (",", "\t", ";", "|")


#: Excel's delimiter hint, which some exporters write as a table's first line (``sep=;``)
_SEP_HINT = re.compile(r"sep=\S")
#: bytes read to find the header under a title line
_TITLE_HEAD_BYTES = 1 << 12


def _may_be_title(line: str) -> bool:
    """A first line that may stand above a table's header: Excel's hint, or no delimiter."""
    text = line.strip()
    return bool(_SEP_HINT.fullmatch(text)) or (bool(text) and not any(
        d in text for d in _DELIMITERS))


def _title_above(first: str, second: str) -> bool:
    """Whether ``first`` is a line above a table's header rather than its header: Excel's
    ``sep=;`` hint, or one title with no delimiter (``model_history_log``, written before a
    Keras CSVLogger's rows) above a line of several delimited names. A one-column table's
    second line has no delimiter, so it never reads as a titled table."""
    if _SEP_HINT.fullmatch(first.strip()):
        return True
    if not _may_be_title(first):
        return False
    cells = header_cells(second)
    return len(cells) > 1 and all(c and json_or_text_float(c) is None for c in cells)


def header_line(path: Path) -> str:
    """A table's header line: its first line, or its second under a title line."""
    line = first_line(path)
    if not _may_be_title(line):
        return line
    head = (read_prefix(path, _TITLE_HEAD_BYTES) or b"").decode("utf-8-sig", errors="replace")
    lines = head.splitlines()
    if len(lines) > 1 and _title_above(lines[0], lines[1]):
        return lines[1].strip("\r")
    return line


def _delimiter(line: str) -> str:
    for d in _DELIMITERS:
        if d in line:
            return d
    return ","


#: other spellings of the epoch column in hand-written tables (``Epochs,Train Loss,Test Loss``)
_EPOCH_SPELLINGS = frozenset({"epochs"})


#: the comment mark ``numpy.savetxt`` puts before its ``header=`` line (``# step,train_loss``)
_SAVETXT_MARK = re.compile(r"^#\s*(?=\w)")


def _header_names(cells: list[str]) -> list[str]:
    """``cells`` with a lone ``Epochs`` column named ``epoch``: one name for the column the
    rows are numbered by, so detection and reading need no second spelling; and without the
    ``# `` that ``numpy.savetxt`` writes before its header, which would leave the step column
    named ``# step`` and the rows numbered by their order instead."""
    if cells and _SAVETXT_MARK.match(cells[0]) and len(cells) > 1:
        cells = [_SAVETXT_MARK.sub("", cells[0], count=1), *cells[1:]]
    low = [c.strip().lower() for c in cells]
    found = [i for i, c in enumerate(low) if c in _EPOCH_SPELLINGS]
    if len(found) != 1 or "epoch" in low:
        return cells
    return [*cells[:found[0]], "epoch", *cells[found[0] + 1:]]


def header_cells(line: str) -> list[str]:
    try:
        cells = [c.strip().lower() for c in next(csv.reader([line], delimiter=_delimiter(line)))]
    except (csv.Error, StopIteration):
        return []
    return _header_names(cells)


def _is_jsonl(path: Path) -> bool:
    """JSON Lines by name, or a ``log.txt`` / ``*.log`` whose first lines are whole JSON
    records, one with a step or epoch key (DETR, DeiT, MAE and ConvNeXt write ``log.txt`` so:
    ``{"train_loss": ..., "test_loss": ..., "epoch": 0, ...}`` per epoch)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    return suffix in (".log", ".txt") and _stepped_head(path)


#: leading JSON Lines records looked at for the first one with a step: a structured event log
#: opens with a record of its settings (``{"event": "start", "batch_size": 128, ...}``) first
JSONL_HEAD_RECORDS = 5
#: bytes read to find them
JSONL_HEAD_BYTES = 1 << 16


def _stepped_head(path: Path) -> bool:
    """Whether a file opens as JSON Lines of a shape this reader reads: its first record has a
    step, or it opens with a few records without one (settings, a start event), each a whole
    JSON object, before one that has."""
    line = first_line(path)
    if _stepped_record(line):
        return True
    if _json_dict(line) is None:
        return False
    head = read_prefix(path, JSONL_HEAD_BYTES) or b""
    for more in head.decode("utf-8", errors="replace").splitlines()[1:JSONL_HEAD_RECORDS]:
        rec = _json_dict(more)
        if rec is None:
            return False
        if _record_shape(rec) is not None:
            return True
    return False


def _json_dict(line: str) -> dict[str, Any] | None:
    """The JSON object a line holds whole, or None."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def _stepped_record(line: str) -> bool:
    """A line holding one whole JSON object of a shape this reader reads (a step key)."""
    rec = _json_dict(line)
    return rec is not None and _record_shape(rec) is not None


def could_hold(names: Collection[str]) -> bool:
    """A folder is a CSV log only when it holds tables that differ only in their split."""
    return bool(_families(names))


def why_unread(path: Path) -> str | None:
    """Why a CSV/TSV file :func:`detect` left alone is no history, naming its header; None
    for other files."""
    path = path if isinstance(path, Path) else Path(path)
    if not path.is_file() or path.suffix.lower() not in (".csv", ".tsv"):
        return None
    cells = header_cells(header_line(path))
    if not cells:
        return "a table with no header line"
    shown = ", ".join(cells[:8]) + (", ..." if len(cells) > 8 else "")
    return (f"a table whose header ({shown}) names no step or epoch column and no loss or "
            "accuracy column by a name diagnose knows")


def detect(path: Path) -> bool:
    """A CSV/TSV/JSONL file (or Keras's ``*.log``) whose header names a step or epoch column,
    a table named for its split, or a folder of one run's tables by split."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return _family(path) is not None
    if path.is_file() and path.suffix.lower() == ".json":
        # JSON Lines under a .json name (detectron2's metrics.json); a JSON document's first
        # line is never a whole object with a step key, unless the whole document is one record
        return _stepped_record(first_line(path))
    if not path.is_file() or path.suffix.lower() not in SUFFIXES:
        return False
    if path.stat().st_size == 0 and path.stem.lower() in GENERIC_STEMS:
        return True  # an empty log (training.log, metrics.csv): read says so, naming it
    if _is_jsonl(path):
        return _stepped_head(path)
    line = header_line(path)
    if comma_pairs(line) is not None:
        return False  # print lines of name, value pairs: the text-log reader's
    cells = header_cells(line)
    if path.suffix.lower() in (".log", ".txt"):
        return bool(cells) and cells[0] == "epoch"  # Keras CSVLogger's default file name
    return bool(set(cells) & {*STEP_COLUMNS, "epoch"}) or _history(cells) or \
        _names_a_curve(file_split(path, cells), cells) or \
        (_transposed_header(cells) and _names_curves_by_row(read_table(path)))


# -- tables named for their split ------------------------------------------------------------

#: words that name a table's split when they begin or end its file name (``val_log.csv``,
#: ``history_test.csv``); not ``training``: ``training_log.csv`` is the whole log
_FILE_SPLITS = frozenset({"train", "test"}) | HELD_OUT_WORDS
#: words that, in a column's name, say the column names its own split
_COLUMN_SPLITS = _FILE_SPLITS | {"training"}
#: tables that may be one run's split files (JSON Lines and free text are not)
_TABLE_SUFFIXES = (".csv", ".tsv")
#: columns that are never a split's metric: the step, the wall clock, pandas's unnamed index
#: (``PANDAS_INDEX``, lower-cased)
_NOT_METRICS = frozenset({*STEP_COLUMNS, "epoch", *WALL_COLUMNS, RUN_COLUMN, "", "unnamed: 0"})


def _stem_split(name: str) -> tuple[str, str] | None:
    """(split, the rest of the name) for a table file named for a split, else None."""
    stem, dot, suffix = name.lower().rpartition(".")
    if not dot or f".{suffix}" not in _TABLE_SUFFIXES:
        return None
    words = [w for w in re.split(r"[\W_]+", stem) if w]
    if len(words) > 1 and words[0] in _FILE_SPLITS:
        return words[0], "_".join(words[1:]) + dot + suffix
    if words and words[-1] in _FILE_SPLITS:
        return words[-1], "_".join(words[:-1]) + dot + suffix
    return None


def file_split(path: Path, header: Iterable[str]) -> str | None:
    """The split a table holds when its file name says it and no column names a split itself
    (``train_log.csv`` holding ``loss,val_loss`` is the whole log, not the train split)."""
    found = _stem_split(path.name)
    if found is None:
        return None
    if any(_COLUMN_SPLITS & set(plain_words(h)) for h in header):
        return None
    return found[0]


def _names_a_curve(split: str | None, cells: Iterable[str]) -> bool:
    """A split's table logs a loss or accuracy the rules judge (a test table as validation)."""
    if split is None:
        return False
    as_split = "val" if split == "test" else split
    return any(canonical_name(f"{as_split}_{c.strip()}") in JUDGED_METRICS
               for c in cells if c.strip().lower() not in _NOT_METRICS)


def _families(names: Iterable[str]) -> list[list[str]]:
    """Groups of file names that differ only in their split word (two splits or more)."""
    groups: dict[str, dict[str, str]] = {}
    for n in names:
        found = _stem_split(n)
        if found is not None:
            groups.setdefault(found[1], {})[found[0]] = n
    return [sorted(g.values(), key=lambda n: (_stem_split(n)[0] != "train", n))  # type: ignore[index]
            for g in groups.values() if len(g) > 1]


def _family(folder: Path) -> list[Path] | None:
    """The split tables of one run in ``folder``, train first: one family of tables each named
    for its split, no ``run`` column, and no other metrics table beside them (which would be a
    run of its own, and a claimed folder's files are not read one by one)."""
    try:
        names = sorted(e.name for e in folder.iterdir() if e.is_file())
    except OSError:
        return None
    families = _families(names)
    if len(families) != 1:
        return None
    members = [folder / n for n in families[0]]
    for m in members:
        cells = header_cells(header_line(m))
        if RUN_COLUMN in cells or not _names_a_curve(file_split(m, cells), cells):
            return None
    others = (folder / n for n in names if n not in families[0])
    return None if any(detect(o) for o in others) else members


#: the header pandas gives a DataFrame's unnamed index when it writes it (``to_csv``), and
#: the name it reads such a column back under
PANDAS_INDEX = ("", "Unnamed: 0")


def _history(cells: Iterable[str]) -> bool:
    """A Keras ``History`` written without its index (``pd.DataFrame(h.history).to_csv``), or
    any per-epoch table of a train and a validation loss (``train_loss,train_acc,val_loss``
    from a hand-written loop): both losses by any name the metric vocabulary knows, one row
    per epoch, no epoch column. Written with pandas's unnamed index first, one loss is enough
    (``,train_loss,val_dice,lr``: the index numbers the epochs)."""
    cells = [c.strip() for c in cells]
    names = {canonical_name(c) for c in cells}
    if cells and cells[0] in PANDAS_INDEX and names & set(JUDGED_METRICS[:2]):
        return True
    if JUDGED_METRICS[0] in names and JUDGED_METRICS[1] not in names:
        # ``Train Loss,Test Loss``: a test loss is the held-out loss when no other is logged
        names |= {JUDGED_METRICS[1] for c in cells if is_test_loss(c)}
    return set(JUDGED_METRICS[:2]) <= names  # both losses


def _transposed_header(cells: list[str]) -> bool:
    """The header of a history saved transposed (``pd.DataFrame(h.history).T.to_csv``): pandas's
    unnamed index cell, then the epochs 0, 1, ... (or 1, 2, ...), at least two of them."""
    epochs = [_int_cell(c) for c in cells[1:]]
    return (len(epochs) > 1 and cells[0].strip() in PANDAS_INDEX and None not in epochs
            and epochs[0] in (0, 1) and epochs == list(range(epochs[0], epochs[0] + len(epochs))))


def _names_curves_by_row(table: Table) -> bool:
    """Whether a row of a transposed table is named for a curve the rules read."""
    return any(row and canonical_name(row[0].strip()) in JUDGED_METRICS for row in table.rows)


def _untransposed(table: Table) -> Table:
    """A transposed history as the table it was before ``.T``: an ``epoch`` column from its
    header, a column per row. A last row with no newline is dropped as torn first (pandas ends
    every line)."""
    table.drop_open_tail()
    epochs = [c.strip() for c in table.header[1:]]
    out = Table(path=table.path, header=["epoch", *(row[0].strip() for row in table.rows)],
                notes=table.notes, torn=table.torn, skipped=table.skipped)
    out.rows = [[e, *(row[j + 1] for row in table.rows)] for j, e in enumerate(epochs)]
    out.lines = [1] * len(out.rows)  # every cell of an epoch sits on its own metric's line
    out.notes.append(f"{table.path}: one row per metric and one column per epoch (a transposed "
                     f"history): read as epochs {epochs[0]}-{epochs[-1]}")
    if len(set(out.header)) != len(out.header):
        _merge_repeated_columns(out)
    return out


def _record_shape(rec: Mapping[str, Any]) -> str | None:
    keys = {k.lower() for k in rec}
    if {"metric", "value"} <= keys and (keys & {*STEP_COLUMNS, "epoch"}):
        return "tidy"
    if keys & {*STEP_COLUMNS, "epoch"}:
        return "wide"
    return None


# -- reading text --------------------------------------------------------------------------


def read_text(path: Path) -> tuple[str, list[str]]:
    """A file's text (UTF-8, BOM dropped); undecodable bytes are replaced and reported."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        text = data.decode("utf-8-sig", errors="replace")
        return text, [f"{path}: byte {e.start} is not UTF-8 text; replaced (a damaged file?)"]


def read_table(path: Path, text: str | None = None) -> Table:
    """Parse a delimited file. A last line cut short (no newline, wrong field count) is torn.

    Lines with a wrong number of fields elsewhere are skipped with a note, so one bad
    line never costs the rest of the file.
    """
    notes: list[str] = []
    if text is None:
        text, notes = read_text(path)
    # the first two lines by position: no copy of the rest of a large file
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    after = -1 if end < 0 else text.find("\n", end + 1)
    second = "" if end < 0 else text[end + 1:] if after < 0 else text[end + 1:after]
    titled = _title_above(first.strip("\r"), second.strip("\r"))
    if titled:
        notes.append(f"{path}:1: line above the header skipped ({first.strip()[:60]})")
        text, first = text[end + 1:], second
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first.strip("\r")))
    table = Table(path=path, header=[], notes=notes)
    unterminated = bool(text) and not text.endswith("\n")
    raw: list[tuple[int, list[str]]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            table.notes.append(f"{path}:{reader.line_num + titled}: unreadable line skipped ({e})")
            table.skipped += 1
            continue
        raw.append((reader.line_num + titled, row))
    if not raw:
        return table
    table.header = _header_names([h.strip() for h in raw[0][1]])
    width = len(table.header)
    bad: list[int] = []
    for k, (line, row) in enumerate(raw[1:], start=1):
        if not row or (len(row) == 1 and not row[0].strip() and width > 1):
            continue
        if len(row) != width:
            if k == len(raw) - 1 and unterminated:
                table.torn = True
                table.notes.append(f"{path}:{line}: torn last line skipped (the writer was "
                                   "interrupted or is still writing)")
            else:
                bad.append(line)
            continue
        table.rows.append(row)
        table.lines.append(line)
        table.open_tail = k == len(raw) - 1 and unterminated
    table.skipped += len(bad)
    if bad:
        table.notes.append(
            f"{path}: {len(bad)} line(s) with a field count other than the header's "
            f"{width} skipped (first: line {bad[0]})"
        )
    if len(set(table.header)) != width:
        _merge_repeated_columns(table)
    return table


def _merge_repeated_columns(table: Table) -> None:
    """A header that names a column twice (a logger that wrote one metric under two keys): a
    copy with the same value in every row is read once; a copy that differs keeps its values
    under ``name.2`` (``name.3``, ...) and the first is read under the name, said in a note."""
    seen: dict[str, int] = {}
    keep: list[int] = []
    header: list[str] = []
    for i, name in enumerate(table.header):
        if name not in seen:
            seen[name] = i
            keep.append(i)
            header.append(name)
            continue
        first = seen[name]
        if all(row[i] == row[first] for row in table.rows):
            table.notes.append(f"{table.path}:1: column {name!r} appears again (column {i + 1}) "
                               "with the same value in every row; read once")
            continue
        n = 2
        while f"{name}.{n}" in seen or f"{name}.{n}" in table.header:
            n += 1
        seen[f"{name}.{n}"] = i
        keep.append(i)
        header.append(f"{name}.{n}")
        table.notes.append(f"{table.path}:1: column {name!r} appears again (column {i + 1}) with "
                           f"other values; the first is read as {name!r}, this one as '{name}.{n}'")
    table.header = header
    table.rows = [[row[i] for i in keep] for row in table.rows]


# -- wide tables -----------------------------------------------------------------------------


@dataclass
class Columns:
    """Raw tidy columns from one table, before names are mapped."""

    steps: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    epochs: list[np.ndarray] = field(default_factory=list)
    walls: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)

    def add(self, name: str, rows: np.ndarray, steps: np.ndarray, values: np.ndarray,
            epochs: np.ndarray, walls: np.ndarray) -> None:
        self.names.append(name)
        self.rows.append(rows)
        self.steps.append(steps)
        self.values.append(values)
        self.epochs.append(epochs)
        self.walls.append(walls)

    def finish(self, run: Run, aliases: Mapping[str, str] | None, where: str) -> None:
        """Put these columns into ``run.metrics`` in file order (row-major, like the file)."""
        if not self.names:
            finish_metrics(run, [], [], [], aliases, where)
            return
        steps = np.concatenate(self.steps)
        sizes = [len(s) for s in self.steps]
        names = np.repeat(np.array(self.names, dtype=object), sizes)
        order = np.argsort(np.concatenate(self.rows), kind="stable")
        finish_metrics(
            run, steps[order], names[order], np.concatenate(self.values)[order], aliases, where,
            wall_time=np.concatenate(self.walls)[order], epoch=np.concatenate(self.epochs)[order],
        )


def _int_cell(cell: str) -> int | None:
    """An integer step from a cell, or None (not an integer, or beyond the int64 column)."""
    s = cell.strip()
    try:
        n = int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            return None
        if not (math.isfinite(f) and f == int(f)):
            return None
        n = int(f)
    return n if fits_int64(n) else None


def _float_cells(cells: Iterable[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(values, present mask, indexes of cells that are not numbers)."""
    vals: list[float] = []
    present: list[bool] = []
    bad: list[int] = []
    for i, c in enumerate(cells):
        if c.strip().lower() in MISSING:
            vals.append(math.nan)
            present.append(False)
            continue
        try:
            vals.append(printed_float(c))
            present.append(True)
        except ValueError:
            vals.append(math.nan)
            present.append(False)
            bad.append(i)
    return np.array(vals, dtype=np.float64), np.array(present, dtype=bool), bad


def wide_columns(table: Table, step_col: int, notes: list[str]) -> Columns:
    """A wide table's metric columns as raw tidy columns (missing cells dropped).

    Rows without a usable step are skipped; a column with no number in it is not a
    metric (a text column) and is skipped; single bad cells are skipped and reported.
    """
    path = table.path
    cols = list(zip(*table.rows)) if table.rows else [() for _ in table.header]
    step_vals = [_int_cell(c) for c in cols[step_col]] if table.rows else []
    ok = np.array([s is not None for s in step_vals], dtype=bool)
    if len(ok) and not ok.all():
        first = table.lines[int(np.flatnonzero(~ok)[0])]
        notes.append(f"{path}: {int((~ok).sum())} row(s) without an integer step skipped "
                     f"(first: line {first})")
    steps = np.array([s if s is not None else 0 for s in step_vals], dtype=np.int64)
    epoch_col = table.col("epoch")
    wall_col = table.col(*WALL_COLUMNS)
    n = len(step_vals)
    epochs = _float_cells(cols[epoch_col])[0] if epoch_col is not None else np.full(n, math.nan)
    if epoch_col is not None and epoch_col != step_col:
        _fill_by_step(epochs, steps)
    walls = _float_cells(cols[wall_col])[0] if wall_col is not None else np.full(n, math.nan)
    skip = {step_col, epoch_col, wall_col, table.col(RUN_COLUMN)}
    out = Columns()
    for j, name in enumerate(table.header):
        if j in skip:
            continue
        vals, present, bad = _float_cells(cols[j])
        if bad and not present.any():
            notes.append(f"{path}: column {name!r} holds no numbers; not a metric, skipped")
            continue
        if bad:
            b = bad[0]
            notes.append(f"{path}:{table.lines[b]}: {len(bad)} value(s) of {name!r} are not "
                         f"numbers, skipped (first: {cols[j][b]!r})")
        keep = present & ok
        out.add(name, np.flatnonzero(keep), steps[keep], vals[keep], epochs[keep], walls[keep])
    return out


def _fill_by_step(epochs: np.ndarray, steps: np.ndarray) -> None:
    """Rows without an epoch (Lightning's LearningRateMonitor rows) take their step's epoch."""
    missing = np.isnan(epochs)
    if not missing.any() or missing.all():
        return
    known = dict(zip(steps[~missing].tolist(), epochs[~missing].tolist()))
    for i in np.flatnonzero(missing):
        epochs[i] = known.get(int(steps[i]), math.nan)


# -- runs --------------------------------------------------------------------------------------


def run_id(path: Path) -> str:
    """A run id from a file name, or from its folder when the name is generic."""
    return path.parent.name if path.stem.lower() in GENERIC_STEMS and path.parent.name else path.stem


def _new_run(path: Path, rid: str, fmt: str, notes: list[str], torn: bool) -> Run:
    run = Run(id=rid, metrics=EMPTY, path=str(path), format=fmt, in_progress=torn)
    run.warnings.extend(notes)
    return run


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read one CSV/TSV/JSONL metrics file into one run (or one per ``run`` value)."""
    path = Path(path)
    if path.is_dir():
        return [_read_family(path, aliases)]
    if not path.is_file():
        raise ReadError(path, "not a file")
    if _is_jsonl(path):
        return _read_jsonl(path, aliases)
    table = read_table(path)
    if not table.header:
        raise ReadError(path, "empty file: no header line", "line 1")
    if _transposed_header(table.header) and _names_curves_by_row(table):
        table = _untransposed(table)
    refuse_garbage(table)
    if table.col("metric") is not None and table.col("value") is not None:
        return _tidy_runs(table, aliases)
    step_col, fmt = _wide_steps(table)
    groups = _split_by_run(table, step_col)
    runs = []
    for rid, sub in groups:
        notes = list(table.notes) if len(runs) == 0 else []
        cols = wide_columns(sub, step_col, notes)
        run = _new_run(path, rid, fmt, notes, table.torn)
        cols.finish(run, aliases, str(path))
        runs.append(run)
    return runs


def _read_family(folder: Path, aliases: Mapping[str, str] | None) -> Run:
    """One run from its split tables (``train_performance.csv``, ``val_performance.csv``)."""
    members = _family(folder)
    if members is None:
        raise ReadError(folder, "no longer holds one run's tables by split")
    joined, notes, torn = Columns(), [], False
    for m in members:
        table = read_table(m)
        refuse_garbage(table)
        step_col, _ = _wide_steps(table)
        notes.extend(table.notes)
        torn = torn or table.torn
        cols = wide_columns(table, step_col, notes)
        for k, name in enumerate(cols.names):
            joined.add(name, cols.rows[k], cols.steps[k], cols.values[k], cols.epochs[k],
                       cols.walls[k])
    run = _new_run(folder, folder.name, "csv", notes, torn)
    joined.finish(run, aliases, str(folder))
    return run


def _wide_steps(table: Table) -> tuple[int, str]:
    """A wide table's step column and format, numbering its rows when it has no step column;
    a table named for its split gets the split in front of its metric names."""
    path = table.path
    split = file_split(path, table.header)
    if split is not None and split != "train":  # a plain ``loss`` is already the train loss
        table.header = [h if h.strip().lower() in _NOT_METRICS or canonical_name(h) in
                        CANONICAL_METRICS[len(JUDGED_METRICS):] else f"{split}_{h.strip()}"
                        for h in table.header]
        table.notes.append(f"{path}: read as the {split} split (its file name says so)")
    step_col = table.col(*STEP_COLUMNS)
    fmt = "csv"
    if step_col is None and table.col("epoch") is None and (_history(table.header) or split):
        if table.header[0].strip() in PANDAS_INDEX:
            table.header[0] = "epoch"  # pandas's unnamed index column: 0, 1, ... per row
            table.notes.append(f"{path}: its unnamed first column read as the epoch")
        else:  # rows are epochs 0, 1, ...: number them
            _number_rows(table, "epoch", f"{path}: no epoch column; rows read as epochs")
    if step_col is None and _steps_within_epochs(table):
        # an early Lightning CSVLogger (2019) wrote no step column: one row per logged step,
        # each with its epoch. Read by epoch, every step of an epoch would collapse to its last
        _number_rows(table, "step", f"{path}: no step column, and a metric is logged more than "
                     "once per epoch: rows read as steps", " in file order")
        step_col = 0
    if step_col is None:
        step_col = table.col("epoch")
        fmt = "keras" if step_col == 0 else "csv"
    if fmt == "keras":
        table.drop_open_tail()  # Keras's csv writer ends every row
    if step_col is None:
        raise ReadError(path, "no step or epoch column in the header "
                        f"({', '.join(table.header[:8])})", "line 1")
    return step_col, fmt


def _number_rows(table: Table, column: str, said: str, after: str = "") -> None:
    """Put a first column ``column`` numbering the rows 0, 1, ... and note it: ``said``, the
    range, ``after``."""
    table.header.insert(0, column)
    table.rows = [[str(i), *row] for i, row in enumerate(table.rows)]
    table.notes.append(f"{said} 0-{len(table.rows) - 1}{after}")


def _steps_within_epochs(table: Table) -> bool:
    """Whether a table with an epoch column and no step column logs some metric on more than
    one row of the same epoch (rows are steps, not epochs), its epochs never going back (a file
    with runs appended, as Keras's ``CSVLogger(append=True)`` writes, is split at its restarts)."""
    ec = table.col("epoch")
    if ec is None or table.col(*STEP_COLUMNS) is not None:
        return False
    cells = (_int_cell(row[ec]) if ec < len(row) else None for row in table.rows)
    epochs = [e for e in cells if e is not None]
    if any(b < a for a, b in zip(epochs, epochs[1:])):
        return False
    skip = {ec, table.col(*WALL_COLUMNS), table.col(RUN_COLUMN)}
    for c in range(len(table.header)):
        if c in skip:
            continue
        seen: set[str] = set()
        for row in table.rows:
            if max(c, ec) < len(row) and row[c].strip() and row[ec].strip():
                if row[ec] in seen:
                    return True
                seen.add(row[ec])
    return False


def refuse_garbage(table: Table) -> None:
    """A table none of whose data lines parses (right width, an integer step) is unreadable,
    not an empty run: random bytes under a plausible header must not pass as healthy."""
    step_col = table.col(*STEP_COLUMNS, "epoch")
    if step_col is None or not (table.rows or table.skipped):
        return
    if any(_int_cell(row[step_col]) is not None for row in table.rows):
        return
    raise ReadError(table.path, f"no data line parses ({len(table.rows) + table.skipped} "
                    "line(s), none with the header's width and an integer step); not a "
                    "metrics table, or destroyed", f"line {table.lines[0] if table.lines else 2}")


def _split_by_run(table: Table, step_col: int) -> list[tuple[str, Table]]:
    """One table per run: by the ``run`` column, or, without one, at every row whose step
    goes back to the file's first step or below (a logger appending a new run to the same
    file, as Keras's ``CSVLogger(append=True)`` does: mixing them by step would judge a curve
    no run drew). A step that goes back less far is a resumed run, read as one."""
    rc = table.col(RUN_COLUMN)
    if rc is None:
        return _split_restarts(table, step_col)
    groups: dict[str, Table] = {}
    for row, line in zip(table.rows, table.lines):
        t = groups.setdefault(row[rc], Table(path=table.path, header=table.header))
        t.rows.append(row)
        t.lines.append(line)
    return list(groups.items()) or [(run_id(table.path), table)]


def _split_restarts(table: Table, step_col: int) -> list[tuple[str, Table]]:
    rid = run_id(table.path)
    steps = [_int_cell(row[step_col]) for row in table.rows]
    cuts = restart_points(steps)
    if not cuts:
        return [(rid, table)]
    bounds = [0, *(i for i, _ in cuts), len(table.rows)]
    (at, before) = cuts[0]
    table.notes.append(appended_note(f"{table.path}:{table.lines[at]}", before, steps[at],
                                     len(bounds) - 1, rid))
    return [(f"{rid}#{k + 1}", Table(path=table.path, header=table.header, rows=table.rows[a:b],
                                    lines=table.lines[a:b]))
            for k, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def _tidy_runs(table: Table, aliases: Mapping[str, str] | None) -> list[Run]:
    path = table.path
    sc = table.col(*STEP_COLUMNS, "epoch")
    if sc is None:
        raise ReadError(path, "tidy table without a step column", "line 1")
    mc, vc = table.col("metric"), table.col("value")
    ec, wc, rc = table.col("epoch"), table.col(*WALL_COLUMNS), table.col(RUN_COLUMN)
    records = []
    for row, line in zip(table.rows, table.lines):
        records.append({
            RUN_COLUMN: row[rc] if rc is not None else None,
            "step": row[sc], "metric": row[mc], "value": row[vc],
            "epoch": row[ec] if ec is not None else "", "wall_time": row[wc] if wc is not None else "",
            "_line": line,
        })
    return _tidy_records(path, records, aliases, "csv", table.notes, table.torn)


def _tidy_records(
    path: Path,
    records: list[dict[str, Any]],
    aliases: Mapping[str, str] | None,
    fmt: str,
    notes: list[str],
    torn: bool,
) -> list[Run]:
    """Tidy records (strings or JSON values) grouped by run, into runs."""
    by_run: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_run.setdefault(str(r[RUN_COLUMN]) if r.get(RUN_COLUMN) is not None else "", []
                          ).append(r)
    if not by_run:
        by_run[""] = []
    runs = []
    for rid, recs in by_run.items():
        mine = list(notes) if not runs else []
        steps, names, values, epochs, walls = [], [], [], [], []
        bad, empty = [], 0
        for r in recs:
            step = _int_cell(str(r["step"])) if not isinstance(r["step"], bool) else None
            name = r["metric"]
            value = json_or_text_float(r["value"])
            if step is None or not isinstance(name, str) or not name or value is None:
                bad.append(r["_line"])
                continue
            if r["value"] is None or (isinstance(r["value"], str)
                                      and r["value"].strip().lower() in MISSING):
                empty += 1
            steps.append(step)
            names.append(name)
            values.append(value)
            epochs.append(opt_float(r.get("epoch")))
            walls.append(opt_float(r.get("wall_time")))
        if bad:
            mine.append(f"{path}: {len(bad)} row(s) without a step, metric name or numeric "
                        f"value skipped (first: line {bad[0]})")
        if empty:
            mine.append(f"{path}: {empty} empty value(s) read as NaN (a tidy row exists only "
                        "to carry a value)")
        run = _new_run(path, rid or run_id(path), fmt, mine, torn)
        finish_metrics(run, steps, names, values, aliases, str(path), wall_time=walls,
                       epoch=epochs)
        runs.append(run)
    return runs


# -- JSON Lines --------------------------------------------------------------------------------


def json_records(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str], bool]:
    """A JSON Lines file's objects with their line numbers, the notes on lines skipped, and
    whether the last line was torn (a writer interrupted or still writing). ReadError when
    no line holds a JSON object."""
    text, notes = read_text(path)
    lines = text.split("\n")
    unterminated = bool(text) and not text.endswith("\n")
    if not unterminated:
        lines.pop()
    torn = False
    records: list[tuple[int, dict[str, Any]]] = []
    corrupt: list[int] = []
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError):
            rec = None
        if not isinstance(rec, dict):
            if i == len(lines) and unterminated:
                torn = True
                notes.append(f"{path}:{i}: torn last line skipped (the writer was interrupted "
                             "or is still writing)")
            else:
                corrupt.append(i)
            continue
        records.append((i, rec))
    if corrupt:
        notes.append(f"{path}: {len(corrupt)} line(s) that are not JSON objects skipped "
                     f"(first: line {corrupt[0]})")
    if not records and (corrupt or not text.strip()):
        raise ReadError(path, "no JSON object on any line", "line 1")
    return records, notes, torn


def _read_jsonl(path: Path, aliases: Mapping[str, str] | None) -> list[Run]:
    records, notes, torn = json_records(path)
    shape = _record_shape(records[0][1]) if records else "wide"
    if shape == "tidy":
        recs = []
        for line, rec in records:
            low = {k.lower(): v for k, v in rec.items()}
            step = next((low[k] for k in (*STEP_COLUMNS, "epoch") if k in low), None)
            recs.append({RUN_COLUMN: low.get(RUN_COLUMN), "step": step, "metric": low.get("metric"),
                         "value": low.get("value"), "epoch": low.get("epoch"),
                         "wall_time": next((low[k] for k in WALL_COLUMNS if k in low), None),
                         "_line": line})
        return _tidy_records(path, recs, aliases, "jsonl", notes, torn)
    return _wide_jsonl(path, records, aliases, notes, torn)


def _flat(rec: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for k, v in rec.items():
        key = f"{prefix}/{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            yield from _flat(v, key)
        else:
            yield key, v


def _wide_jsonl(
    path: Path,
    records: list[tuple[int, dict[str, Any]]],
    aliases: Mapping[str, str] | None,
    notes: list[str],
    torn: bool,
) -> list[Run]:
    # (``run`` value, its k-th run appended to the file) -> columns
    by_run: dict[tuple[str, int], tuple[list, list, list, list, list]] = {}
    no_step: list[int] = []
    text_keys: set[str] = set()
    seen: dict[str, list[int]] = {}  # per ``run`` value: its first step, last step, runs so far
    restart: tuple[int, int, int, str] | None = None  # the first: line, step before, step, run
    settings: dict[str, Any] = {}
    for line, rec in records:
        flat = dict(_flat(rec))
        low = {k.lower(): k for k in flat}
        skey = next((low[k] for k in STEP_COLUMNS if k in low), low.get("epoch"))
        step = _int_cell(str(flat[skey])) if skey and not isinstance(flat[skey], bool) else None
        if step is None:  # a settings or start record: its knobs are the run's settings
            no_step.append(line)
            for k, v in knob_params(rec).items():
                settings.setdefault(k, v)
            continue
        ekey, wkey = low.get("epoch"), next((low[k] for k in WALL_COLUMNS if k in low), None)
        epoch = opt_float(flat.get(ekey))
        wall = opt_float(flat.get(wkey))
        rkey = low.get(RUN_COLUMN)
        rid = str(flat[rkey]) if rkey and flat[rkey] is not None else ""
        first, last, part = seen.setdefault(rid, [step, step, 1])
        if starts_again(step, last, first):
            seen[rid][2] = part = part + 1
            restart = restart or (line, last, step, rid)
        seen[rid][1] = step
        cols = by_run.setdefault((rid, part), ([], [], [], [], []))
        for k, v in flat.items():
            if k in (skey, ekey, wkey, rkey) or v is None or k.lower() in PROGRESS_KEYS:
                continue
            val = json_or_text_float(v)
            if val is None or (isinstance(v, str) and v.strip().lower() in MISSING):
                if val is None:
                    text_keys.add(k)
                continue
            for col, x in zip(cols, (step, k, val, epoch, wall)):
                col.append(x)
    if no_step:
        notes.append(f"{path}: {len(no_step)} record(s) without an integer step skipped "
                     f"(first: line {no_step[0]})")
    if text_keys:
        notes.append(f"{path}: non-numeric key(s) {', '.join(sorted(map(repr, text_keys))[:5])} "
                     "are not metrics; skipped")
    if restart:
        line, before, step, name = restart
        notes.append(appended_note(f"{path}:{line}", before, step, seen[name][2],
                                    name or run_id(path)))
    if not by_run:
        by_run[("", 1)] = ([], [], [], [], [])
    runs = []
    for (name, part), (steps, names, values, epochs, walls) in by_run.items():
        rid = name or run_id(path)
        if seen.get(name, (0, 0, 1))[2] > 1:
            rid = f"{rid}#{part}"
        run = _new_run(path, rid, "jsonl", notes if not runs else [], torn)
        for k, v in settings.items():
            run.params.setdefault(k, v)
        finish_metrics(run, steps, names, values, aliases, str(path), wall_time=walls,
                       epoch=epochs)
        runs.append(run)
    return runs
