"""Score the rules on real training logs that other people committed to public repositories.

    python bench/real_runs.py plot [--out DIR] [ID ...]     # curves to PNG, for labelling by eye
    python bench/real_runs.py score [--split report|tuning|all] [--misses]

The logs live in ``bench/real-runs/<id>/`` with their original file names; where each
came from (repository, commit, path) and the labels read off its plot are in
``bench/real-runs/MANIFEST.csv``. ``plot`` reads the files with its own small parsers
(json, csv, tensorboard's ``EventAccumulator``), never with diagnose, so that a label
does not depend on the code it judges. ``score`` runs ``diagnose.check`` on every run of
the chosen split and prints precision/recall per pattern with the tables of
``bench/fresh_runs.py`` (same counting, same compatible patterns), then one line per run.

The split is fixed by the id alone (see ``split_of`` and ``bench/real-runs/README.md``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "bench" / "real-runs"
MANIFEST = RUNS / "MANIFEST.csv"
COLUMNS = ["id", "repository", "commit", "path", "writer", "labels", "why", "labelled_at", "split"]
PATTERNS = ["flat_loss", "explosion", "generalization_gap", "late_overfitting", "loss_spikes",
            "slow_convergence", "uniform_predictions"]


#: Ids of the report set: the batch collected in wave 14 (labelled 2026-12-03 from 21:10 UTC on)
#: and, from wave 15 on, the batch collected in wave 15 (``w15``), and from wave 16 on the batch
#: collected in wave 16 (``w16``, split decided 2026-12-04 05:07 UTC before collecting), none ever tuned on. Every
#: run labelled before wave 14 is tuning, the wave-9 report batch (``w10``) included (see
#: bench/real-runs/README.md, "Split").
REPORT_PREFIXES = ("w14", "w15", "w16")
#: batches split run by run by the hash of the id (wave 17: tuning runs with new kinds of
#: misses, and as many fresh report runs, from one collection; wave 18 the same, decided
#: 2026-12-04 14:45 UTC before any run of it was collected; a wave-18 second collection, w19,
#: the same, decided 15:53 UTC before any of it was collected; wave 19's batch, w20, the same,
#: decided 16:48 UTC before any of it was collected; its second collection, w21, the same,
#: decided 17:23 UTC before any of it was collected; a third, w22, the same, decided 18:13 UTC;
#: wave 20's batch, w23, the same, decided 2026-12-04 19:30 UTC before any of it was collected;
#: its second collection, w24, the same, decided 19:53 UTC before any of it was collected; a third,
#: w25, the same, decided 20:15 UTC before any of it was collected; wave 21's batch, w26, the
#: same, decided 2026-12-04 21:30 UTC before any of it was collected; its second collection,
#: w27, the same, decided 21:49 UTC before any of it was collected; a third, w28, the same,
#: decided 22:03 UTC before any of it was collected; a fourth, w29, the same, decided 22:09 UTC;
#: wave 22's batch, w30, the same, decided 2026-12-04 23:02 UTC before any of it was collected;
#: its second collection, w31, the same, decided 23:31 UTC before any of it was collected; a
#: third, w32, the same, decided 2026-12-05 00:21 UTC before any of it was collected; wave 23's
#: batch, w33, the same, decided 2026-12-05 01:03 UTC before any of it was collected; its second
#: collection, w34, the same, decided 01:22 UTC before any of it was collected; a third, w35,
#: the same, decided 01:39 UTC before any of it was collected; a fourth, w36, the same, decided
#: 01:56 UTC before any of it was collected; wave 24's batch, w37, the same, decided 2026-12-05
#: 02:50 UTC before any of it was collected; its second collection, w38, the same, decided
#: 03:12 UTC before any of it was collected; a third, w39, the same, decided 03:28 UTC before
#: any of it was collected; wave 25's batch, w40, the same, decided 2026-12-05 04:41 UTC before
#: any of it was collected; its second collection, w41, the same, decided 05:49 UTC before any
#: of it was collected; wave 26's batch, w42, the same, decided 2026-12-05 07:00 UTC before any
#: of it was collected; its second collection, w43, the same, decided before any of it was
#: collected; wave 29's batch, w44, the same, decided 2026-12-05 09:32 UTC before any of it was
#: collected; wave 31's batch, w45, the same, decided 2026-12-05 11:18 UTC before any of it was collected;
#: wave 32's batch, w46, the same, decided 2026-12-05 12:18 UTC before any of it was collected;
#: wave 33's batch, w47, the same, decided 2026-12-05 13:14 UTC before any of it was collected;
#: wave 34's batch, w48, the same, decided 2026-12-05 13:56 UTC before any of it was collected;
#: wave 35's batch, w49, the same, decided 2026-12-05 14:46 UTC before any of it was collected;
#: wave 36's batch, w50, the same, decided 2026-12-05 15:40 UTC before any of it was collected;
#: wave 37's batch, w51, the same, decided 2026-12-05 16:20 UTC before any of it was collected;
#: wave 38's batch, w52, the same, decided 2026-12-05 17:05 UTC before any of it was collected;
#: wave 39's batch, w53, the same, decided 2026-12-05 18:06 UTC before any of it was collected;
#: wave 40's batch, w54, the same, decided 2026-12-05 18:55 UTC before any of it was collected;
#: wave 41's batch, w55, the same, decided 2026-12-05 20:06 UTC before any of it was collected;
#: wave 42's batch, w56, the same, decided 2026-12-05 21:15 UTC before any of it was collected;
#: wave 43's batch, w57, the same, decided 2026-12-05 22:22 UTC before any of it was collected;
#: wave 44's batch, w58, the same, decided 2026-12-05 23:17 UTC before any of it was collected;
#: wave 45's batch, w59, the same, decided 2026-12-06 00:18 UTC before any of it was collected;
#: wave 46's batch, w60, the same, decided 2026-12-06 01:09 UTC before any of it was collected;
#: wave 47's batch, w61, the same, decided 2026-12-06 02:50 UTC before any of it was collected;
#: wave 48's batch, w62, the same, decided 2026-12-06 04:05 UTC before any of it was collected;
#: wave 49's batch, w63, the same, decided 2026-12-06 05:21 UTC before any of it was collected;
#: wave 50's batch, w64, the same, decided 2026-12-06 06:33 UTC before any of it was collected;
#: wave 50's second batch, w65, the same, decided 2026-12-06 06:43 UTC before any of it was collected;
#: wave 51's batch, w66, the same, decided 2026-12-06 07:55 UTC before any of it was collected;
#: wave 52's batch, w67, the same, decided 2026-12-06 08:57 UTC before any of it was collected;
#: wave 53's batch, w68, the same, decided 2026-12-06 10:14 UTC before any of it was collected;
#: wave 53's second batch, w69, the same, decided 2026-12-06 10:33 UTC before any of it was collected;
#: wave 54's batch, w70, the same, decided 2026-12-06 11:25 UTC before any of it was collected;
#: wave 54's second batch, w71, the same, decided 2026-12-06 11:47 UTC before any of it was collected;
#: wave 55's batch, w72, the same, decided 2026-12-06 12:47 UTC before any of it was collected;
#: wave 55's second batch, w73, the same, decided 2026-12-06 13:08 UTC before any of it was collected;
#: wave 56's batch, w74, the same, decided 2026-12-06 14:33 UTC before any of it was collected;
#: wave 57's batch, w75, the same, decided 2026-12-06 15:35 UTC before any of it was collected;
#: wave 57's second batch, w76, the same, decided 2026-12-06 15:53 UTC before any of it was collected;
#: wave 58's batch, w77, the same, decided 2026-12-06 17:03 UTC before any of it was collected;
#: wave 58's second batch, w78, the same, decided 2026-12-06 17:23 UTC before any of it was collected;
#: wave 58's third batch, w79, the same, decided 2026-12-06 17:37 UTC before any of it was collected;
#: wave 59's batch, w80, the same, decided 2026-12-06 18:54 UTC before any of it was collected;
#: wave 59's second batch, w81, the same, decided 2026-12-06 19:14 UTC before any of it was collected;
#: wave 60's batch, w82, the same, decided 2026-12-06 20:06 UTC before any of it was collected;
#: wave 61's batch, w83, the same, decided 2026-12-06 21:07 UTC before any of it was collected;
#: wave 62's batch, w84, the same, decided 2026-12-06 22:00 UTC before any of it was collected;
#: wave 62's second batch, w85, the same, decided 2026-12-06 22:14 UTC before any of it was collected;
#: wave 63's batch, w86, the same, decided 2026-12-06 23:08 UTC before any of it was collected;
#: wave 65's batch, w87, the same, decided 2026-12-07 01:37 UTC before any of it was collected;
#: wave 66's batch, w88, the same, decided 2026-12-07 02:37 UTC before any of it was collected;
#: wave 67's batch, w89, the same, decided 2026-12-07 03:27 UTC before any of it was collected;
#: wave 68's batch, w90, the same, decided 2026-12-07 04:36 UTC before any of it was collected;
#: wave 69's batch, w91, the same, decided 2026-12-07 05:27 UTC before any of it was collected;
#: wave 70's batch, w92, the same, decided 2026-12-07 06:32 UTC before any of it was collected;
#: wave 71's batch, w93, the same, decided 2026-12-07 07:50 UTC before any of it was collected;
#: wave 72's batch, w94, the same, decided 2026-12-07 08:58 UTC before any of it was collected;
#: wave 73's batch, w95, the same, decided 2026-12-07 10:20 UTC before any of it was collected;
#: wave 74's batch, w96, the same, decided 2026-12-07 11:25 UTC before any of it was collected;
#: wave 75's batch, w97, the same, decided 2026-12-07 12:36 UTC before any of it was collected;
#: wave 76's batch, w98, the same, decided 2026-12-07 13:34 UTC before any of it was collected;
#: wave 77's batch, w99, the same, decided 2026-12-07 14:57 UTC before any of it was collected;
#: wave 78's batch, w100, the same, decided 2026-12-07 16:05 UTC before any of it was collected;
#: wave 79's batch, w101, the same, decided 2026-12-07 16:59 UTC before any of it was collected;
#: wave 80's batch, w102, the same, decided 2026-12-07 18:09 UTC before any of it was collected;
#: wave 81's batch, w103, the same, decided 2026-12-07 19:22 UTC before any of it was collected;
#: wave 82's batch, w104, the same, decided 2026-12-07 20:33 UTC before any of it was collected;
#: wave 83's batch, w105, the same, decided 2026-12-07 21:52 UTC before any of it was collected;
#: wave 84's batch, w106, the same, decided 2026-12-07 22:44 UTC before any of it was collected;
#: wave 85's batch, w107, the same, decided 2026-12-07 23:50 UTC before any of it was collected;
#: wave 86's batch, w108, the same, decided 2026-12-08 01:04 UTC before any of it was collected;
#: wave 87's batch, w109, the same, decided 2026-12-08 02:17 UTC before any of it was collected;
#: wave 88's batch, w110, the same, decided 2026-12-08 04:31 UTC before any of it was collected;
#: wave 89's batch, w111, the same, decided 2026-12-08 05:32 UTC before any of it was collected;
#: no earlier id starts with "w100", "w101", "w102", "w103", "w104", "w105", "w106", "w107", "w108",
#: "w109", "w110" or "w111": the wave-9 batch is w10a-w10e)
HASHED_PREFIXES = ("w17", "w18", "w19", "w20", "w21", "w22", "w23", "w24", "w25", "w26", "w27", "w28",
                   "w29", "w30", "w31", "w32", "w33", "w34", "w35", "w36", "w37", "w38", "w39",
                   "w40", "w41", "w42", "w43", "w44", "w45", "w46", "w47", "w48",
                   "w49", "w50", "w51", "w52", "w53", "w54", "w55", "w56", "w57",
                   "w58", "w59", "w60", "w61", "w62", "w63", "w64", "w65",
                   "w66", "w67", "w68", "w69", "w70",
                   "w71", "w72", "w73", "w74", "w75", "w76", "w77", "w78", "w79",
                   "w80", "w81", "w82", "w83", "w84", "w85", "w86", "w87", "w88",
                   "w89", "w90", "w91", "w92", "w93", "w94", "w95", "w96", "w97", "w98",
                   "w99", "w100", "w101", "w102", "w103", "w104", "w105", "w106",
                   "w107", "w108", "w109", "w110", "w111")


def wave8_split_of(run_id: str) -> str:
    """The split through wave 8: ``report`` when the first byte of sha256(id) is even."""
    return "report" if hashlib.sha256(run_id.encode()).digest()[0] % 2 == 0 else "tuning"


def split_of(run_id: str) -> str:
    """``report`` for the wave-14, wave-15 and wave-16 batches, ``tuning`` for every run labelled before.

    Fixed before any run of that batch was collected or scored. A report set quoted for
    several waves stops being independent evidence (wave 9 retired the first one for that
    reason; wave 14 retires the wave-9 batch after four waves); it then serves tuning, and
    the batch nobody has scored is the report set. Wave 15 keeps the wave-14 batch (scored as
    aggregates only, its misses never read, nothing tuned on it) and adds a new batch to it,
    so that each pattern has more positives than the four to eleven of wave 14.
    """
    if run_id.startswith(HASHED_PREFIXES):  # waves 17-89: half of one batch each way, by the id alone
        return wave8_split_of(run_id)
    return "report" if run_id.startswith(REPORT_PREFIXES) else "tuning"


def read_manifest() -> list[dict[str, str]]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# =======================================================================================
# independent parsers (for plotting only): name -> list of (step, value)
# =======================================================================================
Series = dict[str, list[tuple[float, float]]]


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _parse_json_loose(text: str) -> Any:
    # Python's json accepts NaN/Infinity tokens already
    return json.loads(text)


def parse_trainer_state(path: Path) -> Series:
    state = _parse_json_loose(path.read_text(encoding="utf-8"))
    out: Series = defaultdict(list)
    for e in state.get("log_history", []):
        step = e.get("step")
        if step is None:
            continue
        for k, v in e.items():
            if k in ("step", "epoch", "total_flos") or k.startswith("train_") \
                    or k.endswith(("_runtime", "_per_second")):
                continue
            x = _num(v)
            if x is not None:
                out[k].append((float(step), x))
    return dict(out)


def parse_csv_table(path: Path) -> Series:
    """Lightning metrics.csv, Keras CSVLogger, YOLO results.csv: one column per metric."""
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        # Keras's CSVLogger takes any separator: tab-separated logs are committed too
        delim = max((",", ";", "\t"), key=sample.count)
        rows = list(csv.reader(fh, delimiter=delim))
    head = [h.strip() for h in rows[0]]
    xcol = next((i for i, h in enumerate(head) if h in ("step", "Step")), None)
    if xcol is None:
        xcol = next((i for i, h in enumerate(head) if h.lower() == "epoch"), None)
    out: Series = defaultdict(list)
    for n, r in enumerate(rows[1:]):
        x = _num(r[xcol]) if xcol is not None and xcol < len(r) else float(n)
        if x is None:
            continue
        for i, h in enumerate(head):
            if i == xcol or i >= len(r) or h.lower() in ("epoch", "step", "time", "lr", "lr-adam"):
                continue
            y = _num(r[i].strip())
            if y is not None:
                out[h].append((x, y))
    return dict(out)


#: a printed number
_TEXT_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"
#: ``name: value`` / ``name=value`` in a printed line (a percent sign kept out of the value)
_TEXT_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_./ -]{0,40}?)\s*[:=]\s*" + _TEXT_NUMBER
                        + r"(?![\w.])", re.I)
#: a cell of a ``|``-split line naming its value with a space: ``step 10 | train/loss 4.5997``
_TEXT_CELL = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_./-]{0,40})\s+" + _TEXT_NUMBER + r"\s*$", re.I)
#: counters and timings: the x axis or noise, not a curve
_TEXT_SKIP = re.compile(r"(^|[\s_])(epoch|step|iter|iteration|batch|time|eta|lr|it|sec|s)$", re.I)


def parse_text_log(path: Path) -> Series:
    """A script's printed log, read for a plot only (independent of diagnose's readers, whose
    verdicts the labels must not depend on): every ``name: value`` pair of a line, each name's
    values numbered in file order (and every ``name value`` cell of a line split by ``|``).
    Several runs appended in one file show as one long curve."""
    out: Series = defaultdict(list)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        pairs = list(_TEXT_PAIR.finditer(line))
        if "|" in line:
            pairs += [m for m in map(_TEXT_CELL.match, line.split("|")) if m]
        for m in pairs:
            name = re.sub(r"\s+", " ", m.group(1)).strip()
            y = _num(m.group(2))
            if name and y is not None and not _TEXT_SKIP.search(name):
                out[name].append((float(len(out[name])), y))
    return {k: v for k, v in out.items() if len(v) >= 3}


def parse_events(folder: Path) -> Series:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: Series = defaultdict(list)
    for f in sorted(folder.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        prefix = f.parent.name + "/" if f.parent != folder else ""
        for tag in acc.Tags().get("scalars", []):
            out[prefix + tag] += [(float(e.step), float(e.value)) for e in acc.Scalars(tag)]
        for tag in acc.Tags().get("tensors", []):
            import numpy as np
            from tensorboard.util import tensor_util

            for e in acc.Tensors(tag):
                arr = np.asarray(tensor_util.make_ndarray(e.tensor_proto))
                if arr.size == 1 and arr.dtype.kind == "f":
                    out[prefix + tag].append((float(e.step), float(arr.reshape(()))))
    return {k: sorted(v) for k, v in out.items() if v}


def parse_mlflow(folder: Path) -> Series:
    """An MLflow file store: ``<run>/metrics/<name>`` files of ``timestamp value step`` lines (a
    name with ``/`` is a sub-folder); one run's metrics, prefixed with the run folder when the
    store holds several."""
    dirs = sorted(d for d in folder.rglob("metrics") if d.is_dir() and (d.parent / "meta.yaml").exists())
    out: Series = defaultdict(list)
    for d in dirs:
        prefix = d.parent.name + ":" if len(dirs) > 1 else ""
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                value, step = (_num(parts[1]), _num(parts[2])) if len(parts) >= 3 else (None, None)
                if value is not None and step is not None:
                    out[prefix + str(f.relative_to(d))].append((step, value))
    return {k: _mlflow_order(v) for k, v in out.items() if v}


def _mlflow_order(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points by step; a metric logged without a step (every value at one step, as
    ``mlflow.log_metric(key, value)`` writes) numbered in the order it was written instead of
    sorted by value."""
    if len(points) > 1 and len({x for x, _ in points}) == 1:
        return [(float(i), y) for i, (_, y) in enumerate(points)]
    return sorted(points, key=lambda p: p[0])  # a stable sort: equal steps keep their order


def parse_json_history(path: Path) -> Series:
    """A history dumped as JSON: a dict of lists (Keras ``history.history``, homework result
    files; lists kept per epoch are drawn per batch at fractional epochs, with their epoch
    means beside), possibly under one wrapping key, or a list of per-step records."""
    data = _parse_json_loose(path.read_text(encoding="utf-8", errors="replace"))
    out: Series = defaultdict(list)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        axis = ("step", "global_step", "epoch")
        for n, rec in enumerate(data):
            x = next((_num(rec[k]) for k in axis if k in rec), float(n))
            for k, v in rec.items():
                if k not in axis and _num(v) is not None and x is not None:
                    out[k].append((x, float(v)))
        return dict(out)
    if not isinstance(data, dict):
        return {}
    # the history may sit under a key ({"config": ..., "results": {...}}, {"history": {...}})
    candidates = [data, *(v for v in data.values() if isinstance(v, dict))]
    return max((parse_json_history_dict(c) for c in candidates), key=len)


def parse_json_history_dict(data: dict[str, Any]) -> Series:
    """One object's number lists, indexed by position (a list of lists: one list per epoch; a
    single list wrapped once, evaluations beside a longer per-step list, spread over that
    list's positions, as evaluations every so many steps)."""
    out: Series = defaultdict(list)
    longest = max((len(v) for v in data.values()
                   if isinstance(v, list) and v and not isinstance(v[0], list)), default=0)
    for k, v in data.items():
        if not isinstance(v, list) or not v:
            continue
        if len(v) == 1 and isinstance(v[0], list) and 1 < len(v[0]) < longest:
            ys = [_num(e) for e in v[0]]
            every = longest / len(ys)
            out[k] += [((i + 1) * every - 1, y) for i, y in enumerate(ys) if y is not None]
        elif all(isinstance(e, list) for e in v):  # one list per epoch
            for ep, batch in enumerate(v):
                ys = [y for y in (_num(b) for b in batch) if y is not None]
                out[k] += [(ep + i / max(len(batch), 1), y) for i, y in enumerate(ys)]
                if ys:
                    out[k + " (epoch mean)"].append((ep + 1.0, sum(ys) / len(ys)))
        else:
            ys = [_num(e) for e in v]
            out[k] += [(float(i), y) for i, y in enumerate(ys) if y is not None]
    return {k: v for k, v in out.items() if v}


def parse_run(folder: Path) -> tuple[str, Series]:
    """Find the one log in a run folder and parse it; returns (file, series)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    for p in files:
        if p.name == "trainer_state.json":
            return str(p.relative_to(folder)), parse_trainer_state(p)
    for p in files:
        if p.name.startswith("events.out.tfevents"):
            return str(p.relative_to(folder)), parse_events(folder)
    for p in files:
        if p.name == "meta.yaml" and (p.parent / "metrics").is_dir():
            return str(p.parent.relative_to(folder)), parse_mlflow(folder)
    for p in files:
        if p.suffix in (".csv", ".log") and p.name not in ("MANIFEST.csv",):
            series = parse_csv_table(p)
            if series or p.suffix == ".csv":
                return str(p.relative_to(folder)), series
    for p in files:  # a printed log: its name: value pairs
        if p.suffix in (".log", ".txt", ".out") and p.name not in ("README.txt",):
            series = parse_text_log(p)
            if series:
                return str(p.relative_to(folder)), series
    for p in files:
        if p.suffix == ".json":
            series = parse_json_history(p)
            if series:
                return str(p.relative_to(folder)), series
    raise SystemExit(f"{folder}: no log found")


def _kind(name: str) -> str:
    n = name.lower()
    if re.search(r"acc|f1|precision|recall|map|auc|iou|dice|wer|cer|bleu|rouge|score|metrics/", n):
        return "metric"
    if "loss" in n or "perplex" in n or "mse" in n or "mae" in n or n.endswith("cost"):
        return "loss"
    if "lr" in n or "learning_rate" in n or "grad_norm" in n or "epoch" in n:
        return "other"
    return "metric"


def summary(series: Series) -> list[str]:
    lines = []
    for name, pts in sorted(series.items()):
        if _kind(name) == "other" or not pts:
            continue
        vals = [v for _, v in pts]
        fin = [(s, v) for s, v in pts if math.isfinite(v)]
        if not fin:
            lines.append(f"  {name}: n={len(pts)} all non-finite")
            continue
        lo = min(fin, key=lambda t: t[1])
        hi = max(fin, key=lambda t: t[1])
        nonfin = len(vals) - len(fin)
        k = int(len(fin) * 0.8)
        tail = ""
        if len(fin) >= 5 and k < len(fin) - 1:
            a, b = fin[k][1], fin[-1][1]
            tail = f" at80%={a:.4g}@{fin[k][0]:g} tail_change={(b - a) / abs(b) if b else float('nan'):+.0%}"
        lines.append(f"  {name}: n={len(pts)} first={fin[0][1]:.4g}@{fin[0][0]:g} last={fin[-1][1]:.4g}@{fin[-1][0]:g}"
                     f" min={lo[1]:.4g}@{lo[0]:g} max={hi[1]:.4g}@{hi[0]:g}" + tail + (f" nonfinite={nonfin}" if nonfin else ""))
    return lines


def plot(ids: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    folders = [RUNS / i for i in ids] if ids else sorted(p for p in RUNS.iterdir() if p.is_dir())
    for folder in folders:
        try:
            fname, series = parse_run(folder)
        except Exception as e:  # noqa: BLE001 - a bench script reports and goes on
            print(f"{folder.name}: PARSE FAILED {type(e).__name__}: {e}")
            continue
        losses = {k: v for k, v in series.items() if _kind(k) == "loss"}
        metrics = {k: v for k, v in series.items() if _kind(k) == "metric"}
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
        for k, pts in losses.items():
            xs, ys = zip(*pts)
            style = "-" if len(pts) > 60 else "o-"
            axes[0].plot(xs, ys, style, ms=3, lw=1, label=k)
            axes[1].plot(xs, ys, style, ms=3, lw=1, label=k)
        axes[1].set_yscale("log")
        for k, pts in list(metrics.items())[:8]:
            xs, ys = zip(*pts)
            axes[2].plot(xs, ys, "o-" if len(pts) <= 60 else "-", ms=3, lw=1, label=k)
        axes[0].set_title(f"{folder.name}: {fname} (losses)")
        axes[1].set_title("losses, log y")
        axes[2].set_title("other metrics")
        for ax in axes:
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"{folder.name}.png", dpi=70)
        plt.close(fig)
        print(f"{folder.name}: {fname} -> {out / (folder.name + '.png')}")
        print("\n".join(summary(series)))


# =======================================================================================
# scoring (the counting of bench/fresh_runs.py, by import)
# =======================================================================================
def score(split: str, show_misses: bool) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT))
    from fresh_runs import COMPATIBLE, INFO_PATTERNS, Scored, tables

    import diagnose
    from diagnose.report.text import summary_line

    rows = [r for r in read_manifest() if split == "all" or r["split"] == split]
    scored: list[Any] = []
    per_run: list[str] = []
    improving: set[str] = set()  # runs where DG203 (info, "still improving") fired
    passed: set[str] = set()  # runs whose report closes with "All checks passed"
    for r in rows:
        folder = RUNS / r["id"]
        expected = {p for p in r["labels"].split(";") if p and p != "healthy"}
        got: dict[str, list[Any]] = defaultdict(list)
        note = ""
        try:
            report = diagnose.check([str(folder)])
            runs = list(report.runs)
            if summary_line(report).startswith("All checks passed"):
                passed.add(r["id"])
            for e in report.errors:
                note += f" READ ERROR: {e}"
            if not runs:
                got["(run not read)"] = []
                if not report.errors:
                    note += " no run found and no read error reported"
            if len(runs) > 1:
                note += f" ({len(runs)} runs read; findings pooled)"
            for run in runs:
                for f in report.for_run(run.id):
                    if f.pattern == "still_improving":
                        improving.add(r["id"])
                    for pat in (f.pattern, *f.also):  # its own and those it tells ([[also]])
                        if f.severity in ("error", "warning") and (not expected or pat not in INFO_PATTERNS):
                            got[pat].append(f)
        except Exception as e:  # noqa: BLE001 - a reader failure is a result, not a crash
            got["(run not read)"] = []
            note += f" FAILED {type(e).__name__}: {e}"
        spec = argparse.Namespace(name=r["id"], pattern=r["labels"], about=r["why"])
        row = argparse.Namespace(spec=spec, seed=None, interval=None, group=r["id"], trace=None)
        scored.append(Scored(row, folder, r["writer"], expected, dict(got), set(got), True, "", None))
        allowed = set(expected)
        for p in expected:
            allowed |= COMPATIBLE.get(p, set())
        missed = sorted(expected - set(got))
        extra = sorted(set(got) - allowed)
        mark = "ok" if not missed and not extra else "MISS" if missed and not extra else "FP" if extra and not missed else "MISS+FP"
        per_run.append(f"| {r['id']} | {r['writer']} | {r['labels']} | {';'.join(sorted(got)) or '-'} | {mark} |{note}")
        if show_misses and (missed or extra):
            for fl in got.values():
                for f in fl:
                    per_run.append(f"|   | {f.rule} {f.severity}: {f.message} | | | |")
    print(f"split: {split} ({len(rows)} runs)\n")
    print(tables(scored))
    print("\n" + _nan_as_explosion(scored))
    print(_improving_as_slow(scored, improving))
    print(_under_explosion(scored))
    broken = [s for s in scored if s.expected]
    silent = sum(s.row.spec.name in passed for s in broken)
    print(f"broken runs whose report says \"All checks passed\": {silent} of {len(broken)}; "
          f"healthy runs that say it: {sum(s.row.spec.name in passed for s in scored if not s.expected)}"
          f" of {len(scored) - len(broken)}")
    if split == "report":  # each batch of the report set on its own, beside the whole
        for prefix in (*REPORT_PREFIXES, *HASHED_PREFIXES):  # a hashed batch: its report half
            part = [s for s in scored if s.row.spec.name.startswith(prefix)]
            if part:
                print(f"\n### batch {prefix} ({len(part)} runs)\n")
                print(tables(part).split("\n\n")[0])
    print("\n| run | writer | labels | found (warning/error patterns) | verdict |")
    print("|---|---|---|---|---|")
    print("\n".join(per_run))


def _nan_as_explosion(scored: list[Any]) -> str:
    """A secondary count, never the score: explosion when a NaN/inf error (DG201, pattern
    ``nonfinite``) also counts as the explosion it may be (the labels call a loss that turns
    NaN an explosion; DG201 says the log cannot tell a numeric fault from a fast divergence)."""
    return _secondary(scored, "explosion", lambda s: bool({"explosion", "nonfinite"} & set(s.got)),
                      "explosion with a NaN/inf error (DG201) read as explosion")


def _improving_as_slow(scored: list[Any], improving: set[str]) -> str:
    """A secondary count, never the score: slow_convergence when DG203's info finding (pattern
    ``still_improving``) also counts. The labels define slow_convergence as "still improving at
    the end" (README), which is DG203's test; diagnose reports it as information, not a fault,
    because the chapter calls such a run (its lr=0.1) one that learns well. This line shows how
    much of the slow_convergence recall gap is that naming decision."""
    return _secondary(scored, "slow_convergence",
                      lambda s: "slow_convergence" in s.got or s.row.spec.name in improving,
                      "slow_convergence with DG203's info finding (still improving) read as slow")


def _under_explosion(scored: list[Any]) -> str:
    """Secondary counts, never the score: each pattern on runs labelled with an explosion as
    well, counted as found when diagnose reports that explosion. On a diverged run every other
    finding is dropped by design (issue 14, case 11: the other rules are ``suppressed_by`` the
    explosion rules), so such a run's spikes, chance level or overfitting are never named; these
    lines show how much of each recall gap that is (only patterns where it changes the count)."""
    def excused(s: Any, label: str) -> bool:  # labelled with an explosion that was found
        return {"explosion", label} <= s.expected and "explosion" in s.got

    return "\n".join(
        _secondary(scored, label, lambda s, lb=label: lb in s.got or excused(s, lb),
                   f"{label} with the explosion that suppresses it read as found")
        for label in PATTERNS
        if label != "explosion" and any(excused(s, label) and label not in s.got for s in scored))


def _secondary(scored: list[Any], label: str, hit_of: Any, title: str) -> str:
    from fresh_runs import COMPATIBLE  # score() put bench/ on the path

    tp = fn = fp = 0
    for s in scored:
        hit = bool(hit_of(s))
        if label in s.expected:
            tp += hit
            fn += not hit
        elif hit and not any(label in COMPATIBLE.get(e, ()) for e in s.expected):
            fp += 1  # as in the tables: a gap beside a labelled late overfitting is no false alarm
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return f"secondary (not the score): {title}: TP {tp}, FP {fp}, FN {fn}, precision {prec:.2f}, recall {rec:.2f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plot")
    p.add_argument("ids", nargs="*")
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "real-runs-plots")
    s = sub.add_parser("score")
    s.add_argument("--split", choices=["report", "tuning", "all"], default="report")
    s.add_argument("--misses", action="store_true", help="print the findings of every wrong run")
    sub.add_parser("split", help="print the split of every run folder")
    a = ap.parse_args(argv)
    if a.cmd == "plot":
        plot(a.ids, a.out)
    elif a.cmd == "score":
        score(a.split, a.misses)
    else:
        for d in sorted(p for p in RUNS.iterdir() if p.is_dir()):
            print(d.name, split_of(d.name))


if __name__ == "__main__":
    main()
