"""Judge the rules on fresh, diverse training runs that share no code with the fixtures.

    python bench/fresh_runs.py --seeds 0 1 2 3 --out /tmp/fresh     # trains everything, keeps it
    python bench/fresh_runs.py --rescore /tmp/fresh/seed-* --split report    # no training
    python bench/fresh_runs.py --rescore /tmp/fresh/seed-* --split tuning --list-misses

Two kinds of runs (``--what``):

- ``native`` (``bench/_fresh/legacy.py``, ``misses.py``): 46 recipes trained *by* the writer's
  framework or loop and logged once, at its own interval: ``SummaryWriter``, our ``Recorder``,
  Lightning (every run logged to ``CSVLogger`` and ``TensorBoardLogger`` at once), Hugging Face
  ``Trainer`` (``trainer_state.json``), Keras ``fit`` with ``CSVLogger`` (torch backend);
- ``grid`` (``bench/_fresh/grid.py``, ``writers.py``): 37 recipes trained once each with a
  plain torch loop that keeps every step, then written by three of seven writers (our
  ``Recorder``, ``SummaryWriter``, Lightning ``CSVLogger`` and ``TensorBoardLogger``, HF
  ``TrainerState``, Keras ``CSVLogger`` on the torch backend, an MLflow file store), each
  through the writer's own library code, at logging intervals 1, 5, 10 and 50 steps: the
  last step's loss of each window for the first four, the window's mean for HF, Keras and
  MLflow (as those trainers log it). The writers of a recipe rotate with the seed.
  ``--writers textlog`` writes every grid recipe instead as the printed output of a plain
  loop (``train.log``: argparse's ``Namespace`` and ``Epoch [e/E], Step [i/T], Loss: x``, a
  nanoGPT-style ``iter S: loss x``, ``logging`` lines with a config dict, or a Hugging Face
  ``Trainer``'s console from its real ``ProgressCallback``: tqdm bars and the printed dicts;
  rounded as printed), a writer outside the rotation so that the seven-writer seeds stay as
  they were.

Each run is labelled *by construction* with the pattern its recipe should show (``healthy``
means no warning or error). Each *log* also gets an independent check of the label on the
values it holds (``label check``, ``bench/_fresh/checks.py``): plain arithmetic, never
diagnose's features. A log whose check fails (a one-step spike that a 50-step mean or a
50-step sample cannot show, say) is not scored: it is counted as "label not visible".

**Split (fixed before any scoring):** a run's seed decides: even seeds (0, 2, ...) are the
*tuning* set, odd seeds (1, 3, ...) the *report* set. The rules may be tuned on the tuning
set only; ``bench/RESULTS.md`` reports the report set. ``--split tuning|report|all`` picks
which runs are scored.

Needs the ``peers`` and ``fixtures`` extras (Lightning, transformers, TensorBoard, Keras 3 on
the torch backend, MLflow; MLflow 3 needs ``MLFLOW_ALLOW_FILE_STORE=true`` for a file store,
which the script sets). Four seeds take about 8 minutes in two processes on a shared 2-core VM.

``--rescore`` re-reads the runs and labels kept in each ``seed-N/runs.json``: after a rule or
feature change, the same runs are judged again without training them.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Patterns that may accompany a labelled one without counting as a false positive.
COMPATIBLE = {
    "flat_loss": {"uniform_predictions"},
    "uniform_predictions": {"flat_loss"},
    "generalization_gap": {"late_overfitting"},
    "late_overfitting": {"generalization_gap"},
    # a divergence that reaches NaN abruptly may be read as a numeric fault
    "explosion": {"nonfinite"},
}
#: Info-level patterns: never scored, except as unexpected on a healthy run at warning/error.
INFO_PATTERNS = {"still_improving", "val_better_than_train"}


from _fresh import legacy, misses  # noqa: F401  (register the native recipes)
from _fresh.checks import label_check
from _fresh.core import SPECS, Spec, Trace
from _fresh.grid import GRID
from _fresh.writers import (
    AGG,
    WRITE,
    WRITERS,
    logged_acc,
    logged_train,
    text_agg,
    text_style,
    text_value,
    write_textlog,
)

#: Patterns scored (issue 14).
PATTERNS = ["flat_loss", "explosion", "generalization_gap", "late_overfitting", "loss_spikes",
            "slow_convergence", "uniform_predictions"]
#: For the agreement across intervals read as: a NaN/inf loss is the explosion it ends.
SAME_AS = {"nonfinite": "explosion"}
#: Writers per grid training (of the seven, rotating with recipe and seed).
WRITERS_PER_RUN = 3
INTERVALS = (1, 5, 10, 50)


def split_of(seed: int) -> str:
    """The split rule, fixed before any scoring: even seeds tune, odd seeds report."""
    return "tuning" if seed % 2 == 0 else "report"


@dataclass
class Row:
    """One log (one writer, one interval) of one training, with its label."""

    spec: Spec
    trace: Trace
    seed: int
    interval: int | None  # logging interval in steps (None: the native run's own)
    group: str  # same training and writer at several intervals share a group


# =======================================================================================
# scoring
# =======================================================================================
@dataclass
class Scored:
    row: Row
    path: Path
    source: str
    expected: set[str]
    got: dict[str, list[Any]]  # pattern -> findings (warning/error), scored patterns only
    seen: set[str]  # every warning/error pattern, for the agreement across intervals
    label_ok: bool
    label_desc: str
    run: Any

    @property
    def spec(self) -> Spec:
        return self.row.spec


def _source(spec: Spec, path: Path) -> str:
    if spec.logger == "lightning":
        return "lightning-csv" if "lightning-csv" in path.parts else "lightning-tb"
    return spec.logger


def score(rows: list[Row]) -> list[Scored]:
    import diagnose

    paths = [p for r in rows for p in r.trace.paths]
    report = diagnose.check(paths)
    by_path: dict[str, Any] = {}
    for r in report.runs:
        by_path[str(Path(r.path).resolve())] = r
    out: list[Scored] = []
    for row in rows:
        spec, trace = row.spec, row.trace
        ok, desc = label_check(spec.pattern, trace)
        for p in trace.paths:
            key = str(p.resolve())
            run = by_path.get(key)
            if run is None:  # a reader may have named the run inside the folder: match by prefix
                run = next((r for k, r in by_path.items() if k.startswith(key + os.sep)), None)
            exp = set() if spec.pattern == "healthy" else {spec.pattern}
            got: dict[str, list[Any]] = defaultdict(list)
            seen: set[str] = set()
            if run is None:
                got["(run not read)"] = []
            else:
                for f in report.for_run(run.id):
                    if f.severity not in ("error", "warning"):
                        continue
                    # a finding's own pattern and those it tells as consequences ([[also]])
                    for pat in (f.pattern, *f.also):
                        seen.add(pat)
                        # info patterns count only against a healthy label (and only at warning+)
                        if not exp or pat not in INFO_PATTERNS:
                            got[pat].append(f)
            out.append(Scored(row, p, _source(spec, p), exp, dict(got), seen, ok, desc, run))
    for e in report.errors:
        print(f"READ ERROR: {e}")
    return out


def _allowed(s: Scored) -> set[str]:
    allowed = set(s.expected)
    for p in s.expected:
        allowed |= COMPATIBLE.get(p, set())
    return allowed


def _right(s: Scored) -> bool:
    if not s.expected:
        return not s.got
    return all(p in s.got for p in s.expected) and not (set(s.got) - _allowed(s))


def tables(scored: list[Scored]) -> str:
    """Per-pattern TP/FP/FN, healthy runs clean, runs judged right by writer and interval."""
    judged = [s for s in scored if s.label_ok]
    stats: dict[str, dict[str, int]] = {p: {"tp": 0, "fp": 0, "fn": 0} for p in PATTERNS}
    clean = [0, 0]
    for s in judged:
        for p in s.expected:
            stats.setdefault(p, {"tp": 0, "fp": 0, "fn": 0})["tp" if p in s.got else "fn"] += 1
        for p in set(s.got) - _allowed(s):
            stats.setdefault(p, {"tp": 0, "fp": 0, "fn": 0})["fp"] += 1
        if not s.expected:
            clean[1] += 1
            clean[0] += not s.got
    lines = ["| pattern | TP | FP | FN | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    for p, st in stats.items():
        prec = st["tp"] / (st["tp"] + st["fp"]) if st["tp"] + st["fp"] else float("nan")
        rec = st["tp"] / (st["tp"] + st["fn"]) if st["tp"] + st["fn"] else float("nan")
        # three decimals: 247 of 255 is 0.969, under a 0.97 bar it must not print as meeting
        lines.append(f"| {p} | {st['tp']} | {st['fp']} | {st['fn']} | {prec:.3f} | {rec:.3f} |")
    share = f"{clean[0] / clean[1]:.3f}" if clean[1] else "n/a"
    lines.append(f"| (healthy runs clean) | {clean[0]} | | {clean[1] - clean[0]} | | {share} |")
    lines.append("")
    hidden = [s for s in scored if not s.label_ok]
    lines.append(f"{len(judged)} logs scored; {len(hidden)} left out because their label check failed "
                 "(the pattern is not visible in the logged values)"
                 + (": " + ", ".join(f"{k} {v}" for k, v in sorted(_count(
                     f"{s.spec.pattern}@{s.row.interval or 'native'}" for s in hidden).items())) if hidden else ""))
    for title, key in (("writer", lambda s: s.source),
                       ("interval", lambda s: str(s.row.interval) if s.row.interval else "native")):
        lines.append("")
        lines.append(f"| {title} | logs judged exactly right |")
        lines.append("|---|---:|")
        by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for s in judged:
            by[key(s)][0] += _right(s)
            by[key(s)][1] += 1
        for k in sorted(by, key=lambda x: (len(x), x)):
            lines.append(f"| {k} | {by[k][0]}/{by[k][1]} |")
    lines.append("")
    lines.append(agreement(scored))
    return "\n".join(lines)


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for x in items:
        out[x] += 1
    return out


def _interval_groups(scored: list[Scored]) -> dict[tuple[str, int, str], dict[int, Scored]]:
    """The logs of each (training, seed, writer) logged at every one of INTERVALS, by interval."""
    groups: dict[tuple[str, int, str], dict[int, Scored]] = defaultdict(dict)
    for s in scored:
        if s.row.interval is not None:
            groups[(s.row.group, s.row.seed, s.source)][s.row.interval] = s
    return {k: v for k, v in groups.items() if set(INTERVALS) <= set(v)}


def agreement(scored: list[Scored]) -> str:
    """Share of (training, writer) groups logged at 1, 5, 10 and 50 steps whose logs get the
    same set of warning/error patterns at every interval."""
    full = _interval_groups(scored)
    same = {k: len({frozenset(v[i].seen) for i in INTERVALS}) == 1 for k, v in full.items()}
    # the same, reading a non-finite loss as the explosion it is (the scoring allows that pair)
    merged = {k: len({frozenset(SAME_AS.get(p, p) for p in v[i].seen) for i in INTERVALS}) == 1
              for k, v in full.items()}
    vis = {k for k, v in full.items() if all(v[i].label_ok for i in INTERVALS)}
    lines = ["| recipes (training x writer) logged at 1/5/10/50 | groups | same verdict at every interval |",
             "|---|---:|---:|"]

    def row(title: str, keys: set, same: dict = same) -> None:
        n = len(keys)
        k = sum(same[x] for x in keys)
        # one decimal: 651 of 686 is 94.9%, below a 95% bar, and must not print as 95%
        lines.append(f"| {title} | {n} | {k} ({k / n:.1%}) |" if n else f"| {title} | 0 | n/a |")

    row("all", set(full))
    row("all, nonfinite read as explosion", set(full), merged)
    row("label visible at every interval", vis)
    by_label: dict[str, set] = defaultdict(set)
    for k, v in full.items():
        by_label[v[1].spec.pattern].add(k)
    for lab in sorted(by_label):
        row(f"label {lab}", by_label[lab])
    return "\n".join(lines)


def disagreements(scored: list[Scored]) -> str:
    """The groups whose label is visible at every interval but whose verdicts differ, one line
    per group with the patterns found at each interval (for the tuning split's misses file)."""
    out = []
    for (group, seed, source), v in sorted(_interval_groups(scored).items(), key=lambda kv: str(kv[0])):
        if not all(v[i].label_ok for i in INTERVALS):
            continue
        if len({frozenset(v[i].seen) for i in INTERVALS}) > 1:
            seen = "  ".join(f"every{i}: {','.join(sorted(v[i].seen)) or '-'}" for i in INTERVALS)
            out.append(f"DISAGREE {group} seed={seed} writer={source} label={v[1].spec.pattern}  {seen}")
    return "\n".join(out)


def _rule_names(pattern: str) -> list[str]:
    """Feature names used by the rules of one pattern (what to show when it misfires)."""
    import diagnose
    from diagnose.features import FEATURES

    names: list[str] = []
    for r in diagnose.load_rules():
        if r.pattern == pattern:
            names += [n for n in sorted(r.names) if n in FEATURES and n not in names]
    return names


def misfires(scored: list[Scored]) -> str:
    """Every healthy run with a warning/error and every missed pattern, with why."""
    from diagnose.features import FEATURES, RunContext, compute

    out: list[str] = []
    for s in scored:
        allowed = set(s.expected)
        for p in s.expected:
            allowed |= COMPATIBLE.get(p, set())
        missed = [p for p in s.expected if p not in s.got]
        extra = [p for p in s.got if p not in allowed]
        if not missed and not extra:
            continue
        out.append(f"- {s.spec.name} [{s.source}] labelled {s.spec.pattern}: "
                   + (f"MISSED {missed} " if missed else "") + (f"UNEXPECTED {extra}" if extra else ""))
        out.append(f"    path: {s.path}")
        out.append(f"    recipe: {s.spec.about}")
        out.append(f"    label check: {'ok' if s.label_ok else 'FAILED'}: {s.label_desc}")
        for p in extra:
            for f in s.got[p]:
                out.append(f"    {f.rule} {f.severity}: {f.message}")
        if s.run is None:
            out.append("    (run not found by diagnose)")
            continue
        # run-scope features only: the group ones need a GroupContext
        vals = compute({n for n, f in FEATURES.items() if f.scope == "run"}, RunContext(s.run))
        for p in missed + extra:
            feats = ", ".join(f"{n}={_fmt(vals.get(n))}" for n in _rule_names(p))
            out.append(f"    features for {p}: {feats}")
        for f_list in s.got.values():
            for f in f_list:
                if f.pattern in allowed and f.pattern not in s.expected:
                    out.append(f"    (compatible) {f.rule}: {f.message}")
    return "\n".join(out) if out else "(none)"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def list_misses(scored: list[Scored]) -> str:
    """One line per log judged wrong: run id, label, what was found (scored logs only)."""
    out = []
    for s in scored:
        if not s.label_ok or _right(s):
            continue
        found = "; ".join(f"{f.rule} {f.severity} {f.pattern}: {f.message}" for fs in s.got.values() for f in fs) \
            or "nothing (All checks passed)"
        missed = [p for p in s.expected if p not in s.got]
        extra = sorted(set(s.got) - _allowed(s))
        what = (f"MISSED {','.join(missed)} " if missed else "") + (f"UNEXPECTED {','.join(extra)}" if extra else "")
        out.append(f"{s.path}\tlabel={s.spec.pattern}\twriter={s.source}\tinterval={s.row.interval or 'native'}"
                   f"\t{what.strip()}\tfound: {found}\tlabel check: {s.label_desc}")
    return "\n".join(out) if out else "(none)"


# =======================================================================================
def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning",
                 "transformers", "torch", "mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    # MLflow 3 refuses a new file store unless asked; the reader reads both stores
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


MANIFEST = "runs.json"


def save(out: Path, rows: list[Row]) -> None:
    """Keep each log's label and logged values beside the runs, for ``--rescore``."""
    data = [{"name": r.spec.name, "pattern": r.spec.pattern, "logger": r.spec.logger, "about": r.spec.about,
             "k": r.trace.k, "paths": [str(p.relative_to(out)) for p in r.trace.paths],
             "train": r.trace.train, "val": r.trace.val, "acc": r.trace.acc, "seed": r.seed, "interval": r.interval,
             "group": r.group} for r in rows]
    (out / MANIFEST).write_text(json.dumps(data))


def load(out: Path) -> list[Row]:
    rows = json.loads((out / MANIFEST).read_text())
    seed0 = int(out.name.split("-")[-1]) if out.name.startswith("seed-") else 0
    return [Row(Spec(r["name"], r["pattern"], r["logger"], lambda o, s: Trace(), r["about"]),
                Trace([tuple(x) for x in r["train"]], [tuple(x) for x in r["val"]], r["k"],
                      [out / p for p in r["paths"]], logged_acc(r["logger"], [tuple(x) for x in r.get("acc", [])])),
                r.get("seed", seed0), r.get("interval"), r.get("group", r["name"])) for r in rows]


def report(scored: list[Scored], header: str, *, details: bool = False) -> None:
    print()
    print(header)
    print(f"{platform.processor() or platform.machine()}, nproc={os.cpu_count()}, torch {torch.__version__}")
    print()
    print(tables(scored))
    if details:
        print()
        print("misfires (healthy runs with warnings/errors, missed patterns):")
        print(misfires([s for s in scored if s.label_ok]))


def _native_interval(name: str) -> tuple[int | None, str]:
    m = re.search(r"-every(\d+)$", name)
    return (int(m.group(1)), name[:m.start()]) if m else (None, name)


def run_native(out: Path, seed: int, only: list[str], verbose: bool) -> list[Row]:
    rows = []
    for spec in [s for s in SPECS if not only or any(o in s.name for o in only)]:
        t1 = time.perf_counter()
        if verbose:
            trace = spec.fn(out, seed * 1000)
        else:
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                trace = spec.fn(out, seed * 1000)
        ok, desc = label_check(spec.pattern, trace)
        print(f"{spec.name:34s} {time.perf_counter() - t1:5.1f}s  label {'ok ' if ok else 'BAD'} {desc}",
              flush=True)
        interval, group = _native_interval(spec.name)
        rows.append(Row(spec, trace, seed, interval, group))
    return rows


def _write_text(g_index: int) -> Callable[[Any, Path, int], Path]:
    style = text_style(g_index)
    return lambda curve, d, n: write_textlog(curve, d, n, style)


def _text_trace(g_index: int, trace: Trace) -> Trace:
    """The values as a text log holds them: printed, so rounded."""
    style = text_style(g_index)
    r = lambda v: text_value(style, v)
    return Trace([(s, r(v)) for s, v in trace.train], [(s, r(v)) for s, v in trace.val], trace.k, trace.paths,
                 [(s, r(a), r(b)) for s, a, b in trace.acc])


def run_grid(out: Path, seed: int, only: list[str], verbose: bool,
             chosen: list[str] | None = None) -> list[Row]:
    """Train each grid recipe once and write it with three of the seven writers (rotating), or
    with ``chosen`` writers (``textlog``, the print output of a plain loop, is only chosen)."""
    rows = []
    for i, g in enumerate(GRID):
        if only and not any(o in g.name for o in only):
            continue
        t1 = time.perf_counter()
        torch.manual_seed(seed * 1000)
        curve = g.fn(seed * 1000)
        t_train = time.perf_counter() - t1
        writers = chosen or [WRITERS[(i + seed + 2 * j) % len(WRITERS)] for j in range(WRITERS_PER_RUN)]
        checks = []
        for w in writers:
            spec = Spec(g.name, g.pattern, w, lambda o, s: Trace(), g.about)
            for n in g.intervals:
                d = out / "grid" / w / f"{g.name}-every{n}"
                shutil.rmtree(d, ignore_errors=True)
                d.parent.mkdir(parents=True, exist_ok=True)
                sink = io.StringIO()
                with redirect_stdout(sink), redirect_stderr(sink):
                    path = (_write_text(i) if w == "textlog" else WRITE[w])(curve, d, n)
                if verbose:
                    print(sink.getvalue())
                agg = text_agg(text_style(i)) if w == "textlog" else AGG.get(w, "sample")
                trace = Trace(logged_train(curve, n, agg), [(s, v) for s, v, _, _ in curve.evals],
                              curve.k, [path], logged_acc(w, [(s, ta, va) for s, _, va, ta in curve.evals
                                                              if ta is not None and va is not None]))
                if w == "textlog":
                    trace = _text_trace(i, trace)
                checks.append(label_check(g.pattern, trace)[0])
                rows.append(Row(spec, trace, seed, n, g.name))
        print(f"{g.name:34s} {t_train:5.1f}s train, {time.perf_counter() - t1 - t_train:5.1f}s write "
              f"({', '.join(writers)}); label visible in {sum(checks)}/{len(checks)} logs", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--seed", type=int, help="one seed (same as --seeds N)")
    ap.add_argument("--out", type=Path, help="write the runs here, one seed-N folder per seed (default: a temp dir)")
    ap.add_argument("--what", choices=["all", "native", "grid"], default="all")
    ap.add_argument("--only", action="append", default=[], help="run names containing this (repeatable)")
    ap.add_argument("--writers", nargs="+", choices=WRITERS + ["textlog"],
                    help="write every grid recipe with these writers instead of three rotating ones "
                         "(textlog: a script's printed output, in one of four styles by recipe)")
    ap.add_argument("--list", action="store_true", help="list the recipes and exit")
    ap.add_argument("--rescore", type=Path, nargs="+", metavar="DIR",
                    help="judge the runs kept in these seed folders again (pooled)")
    ap.add_argument("--split", choices=["tuning", "report", "all"], default="report",
                    help="score the tuning seeds (even), the report seeds (odd) or all (default: report)")
    ap.add_argument("--list-misses", action="store_true",
                    help="print one line per log judged wrong (run id, label, what was found)")
    ap.add_argument("--misses-to", metavar="FILE",
                    help="also write the --list-misses lines to FILE (one scoring for both)")
    ap.add_argument("--details", action="store_true", help="print each misfire with its feature values")
    ap.add_argument("--verbose", action="store_true", help="show the libraries' own output")
    args = ap.parse_args(argv)
    if args.list:
        for s in SPECS:
            print(f"{s.name:34s} {s.pattern:20s} {s.logger:10s} {s.about}")
        for g in GRID:
            print(f"{g.name:34s} {g.pattern:20s} {'grid':10s} {g.about}")
        return
    _quiet()
    if args.rescore:
        rows = [r for d in args.rescore for r in load(d)]
        where = ", ".join(map(str, args.rescore))
        header = f"fresh runs rescored ({where})"
    else:
        torch.set_num_threads(1)
        seeds = [args.seed] if args.seed is not None else args.seeds
        base = args.out or Path(tempfile.mkdtemp(prefix="diagnose-fresh-"))
        t0 = time.perf_counter()
        rows = []
        for seed in seeds:
            out = base / f"seed-{seed}"
            out.mkdir(parents=True, exist_ok=True)
            t1 = time.perf_counter()
            seed_rows = []
            if args.what in ("all", "native"):
                seed_rows += run_native(out, seed, args.only, args.verbose)
            if args.what in ("all", "grid"):
                seed_rows += run_grid(out, seed, args.only, args.verbose, args.writers)
            save(out, seed_rows)
            print(f"seed {seed}: {len(seed_rows)} logs in {time.perf_counter() - t1:.0f} s ({out})", flush=True)
            rows += seed_rows
        header = f"fresh runs: seeds {seeds}, generated in {time.perf_counter() - t0:.0f} s ({base})"
    if args.split != "all":
        rows = [r for r in rows if split_of(r.seed) == args.split]
    t1 = time.perf_counter()
    scored = score(rows)
    header += f"; split {args.split}: {len(rows)} recipe logs, {len(scored)} scored runs (a native " \
              f"Lightning run counts once per logger), scored in " \
              f"{time.perf_counter() - t1:.0f} s"
    if args.list_misses:
        print(list_misses(scored))
        return
    if args.misses_to:
        Path(args.misses_to).write_text(list_misses(scored) + "\n" + disagreements(scored) + "\n")
    report(scored, header, details=args.details)


if __name__ == "__main__":
    main()
