"""From paths to a Report: discovery -> pool / Dask -> engine -> group stage (+ sweep results).

The parent walks the inputs (cheap: names and a few stats) and hands out
*claims* (:func:`diagnose.readers.iter_claims`), a path and the format that
claimed it. A worker reads the claim (:func:`diagnose.readers.read_claim`),
analyses each run in it and sends back only what the report needs: the run
without its curves (:meth:`Run.without_metrics`), its findings and its summary.
Sending paths rather than tables keeps the traffic small and puts the reading,
most of the cost, in the workers too. Paths given as URLs (``s3://``, ``gs://``,
anything ``fsspec`` knows) are read the same way (see :mod:`diagnose.readers`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._errors import ReadError
from ._escape import escape
from ._suppress import run_suppressions
from .config import Config, ignored_for_run, select_rules
from .engine import analyse_run, evaluate_group, unchecked_patterns
from .features import expect_many_medians, recorded_classes
from .features.group import summary_specs
from .findings import Finding, Report
from .grouping import as_list, group_runs, layouts_shared
from .readers import Claim, iter_claims, read_claim, unique_ids
from .rules import Rule, load_rules
from .run import Run, canonical_name, infer_mode, selection_metric
from .sweeps import SweepResult, compare, validation_sets

__all__ = ["Outcome", "Results", "Task", "check", "make_pool", "run_claims", "sweep"]

#: With ``jobs=0`` (one process per CPU), fewer runs than this are checked in-process.
AUTO_POOL_MIN = 8

@dataclass
class Task:
    """What every worker needs besides its claims: small and picklable."""

    rules: list[Rule]
    params: dict[str, dict[str, Any]]
    config: Config
    metric: str
    mode: str
    live: bool = False
    #: (metric, mode) pairs summarised besides the selection metric
    #: (see :func:`diagnose.features.group.summary_specs`)
    extra: list[tuple[str, str]] = field(default_factory=list)
    keep_metrics: bool = False
    #: the parent's working directory: relative paths are opened against it elsewhere
    cwd: str = field(default_factory=os.getcwd)


@dataclass
class Outcome:
    """A claim's (or a given Run's) results: one entry per run, or the read error."""

    index: int
    #: (run, findings, summary, id the run had when analysed)
    runs: list[tuple[Run, list[Finding], dict[str, Any], str]] = field(default_factory=list)
    error: tuple[str, str, str | None] | None = None  # ReadError's (path, reason, where)

    def read_error(self) -> ReadError | None:
        return None if self.error is None else ReadError(*self.error)


# ---------------------------------------------------------------------------------------
# the work itself (runs in the worker)
# ---------------------------------------------------------------------------------------
def analyse(run: Run, task: Task) -> tuple[Run, list[Finding], dict[str, Any], str]:
    """One run's findings and summary; the run comes back without curves unless kept."""
    rules = task.rules
    k = task.config.num_classes
    if k and recorded_classes(run) is None:
        run = dataclasses.replace(run, num_classes=k)  # the user's K where the run records none
    if task.config.per_run_ignores or run_suppressions(run.path):  # else none is ignored
        rules = [r for r in rules if not ignored_for_run(r, run.path, run.id, task.config)]
    findings, summary = analyse_run(run, rules, task.params, task.metric, task.mode, task.live,
                                    extra=task.extra)
    return (run if task.keep_metrics else run.without_metrics()), findings, summary, run.id


def work_one(index: int, item: Claim | Run, task: Task) -> Outcome:
    """Read (a claim) and analyse: everything per-run, for one claim or one given Run."""
    if isinstance(item, Run):
        return Outcome(index, [analyse(item, task)])
    try:
        runs = read_claim(item, task.config.metrics or None, task.cwd)
        return Outcome(index, [analyse(r, task) for r in runs])
    except ReadError as e:
        return Outcome(index, error=(e.path, e.reason, e.where))
    except Exception as e:  # noqa: BLE001 - a bug of ours: name the input, exit 2, go on
        if os.environ.get("DIAGNOSE_DEBUG"):
            raise
        return Outcome(index, error=(item.path, internal_error(e), None))


def internal_error(e: BaseException) -> str:
    """One line for an unexpected exception: what it was, and what to do."""
    msg = escape(str(e))
    return (f"internal error ({type(e).__name__}: {msg[:200]}); please report it with this "
            "file (DIAGNOSE_DEBUG=1 shows the traceback)")


def work_chunk(items: list[tuple[int, Claim | Run]], task: Task) -> list[Outcome]:
    """A batch of claims for one worker call (fewer, larger messages than one per run)."""
    return [work_one(i, item, task) for i, item in items]


# ---------------------------------------------------------------------------------------
# driving an executor
# ---------------------------------------------------------------------------------------
def make_pool(jobs: int) -> Executor:
    """A process pool of ``jobs`` workers; forked on Linux (no re-import), else spawned."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else None
    ctx = multiprocessing.get_context(method) if method else None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_start)


def _worker_start() -> None:
    """A pool worker will analyse many runs: load what repays itself over many at once."""
    expect_many_medians()


def as_executor(executor: Any) -> tuple[Executor, int]:
    """Any ``concurrent.futures.Executor`` or a ``distributed.Client``, and its worker count."""
    if not isinstance(executor, Executor) and hasattr(executor, "get_executor"):
        try:
            n = sum(executor.nthreads().values())
        except Exception:  # noqa: BLE001 - a client that cannot say: assume a few
            n = 4
        return executor.get_executor(pure=False), max(1, n)
    n = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    return executor, int(n)


@dataclass
class Results:
    """What the per-run work produced, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    #: unreadable inputs found by the walk, each with the number of items before it
    walk_errors: list[tuple[int, ReadError]] = field(default_factory=list)


def run_claims(items: Iterable[Claim | Run | ReadError], task: Task, executor: Any = None,
               progress: Any = None) -> Results:
    """Every item's outcome, in the items' order, however the work was spread.

    ``items`` may be a generator (the walk): work is handed out as it is found, in
    batches that start small (workers get going at once) and grow (fewer messages).
    ``progress`` (see :class:`Progress`) hears about items found and done.
    """
    res = Results()
    if executor is None:
        for item in _numbered(items, res, progress):
            o = work_one(*item, task)
            res.outcomes.append(o)
            if progress is not None:
                progress.advance(1, len(o.runs))
        return res
    ex, workers = as_executor(executor)
    pending: dict[Future, int] = {}

    def collect(block: bool) -> None:
        if not pending:
            return
        done, _ = wait(list(pending), timeout=None if block else 0,
                       return_when=FIRST_COMPLETED)
        for fut in done:
            got = fut.result()
            res.outcomes.extend(got)
            n = pending.pop(fut)
            if progress is not None:
                progress.advance(n, sum(len(o.runs) for o in got))

    try:
        chunk: list[tuple[int, Claim | Run]] = []
        size = 2
        for item in _numbered(items, res, progress):
            chunk.append(item)
            if len(chunk) >= size:
                pending[ex.submit(work_chunk, chunk, task)] = len(chunk)
                chunk = []
                size = min(size * 2, MAX_BATCH)
                collect(block=len(pending) > 4 * workers)  # keep the queue short
        if chunk:
            pending[ex.submit(work_chunk, chunk, task)] = len(chunk)
        while pending:
            collect(block=True)
    finally:
        for fut in pending:
            fut.cancel()
    res.outcomes.sort(key=lambda o: o.index)
    return res


#: Most claims sent to a worker in one message.
MAX_BATCH = 64


def _numbered(items: Iterable[Claim | Run | ReadError], res: Results, progress: Any
              ) -> Iterator[tuple[int, Claim | Run]]:
    """(index, item) for the work; walk errors and claims recorded on the way."""
    n = 0
    for item in items:
        if isinstance(item, ReadError):
            res.walk_errors.append((n, item))
            continue
        if isinstance(item, Claim):
            res.claims.append(item)
        if progress is not None:
            progress.found(1)
        yield n, item
        n += 1
    if progress is not None:
        progress.walked()


class Progress(Protocol):
    """What :func:`check` reports progress to (``diagnose._progress.Progress`` draws a bar).

    ``found`` counts paths to read as the walk finds them (``walked``: no more to
    come); ``advance`` counts paths read and runs analysed.
    """

    def start(self) -> None: ...
    def found(self, n: int) -> None: ...
    def walked(self) -> None: ...
    def advance(self, read: int, analysed: int) -> None: ...
    def close(self) -> None: ...


def check(
    runs: Iterable[Run | str | os.PathLike] | Run | str | os.PathLike,
    rules: Sequence[Rule] | None = None,
    config: Config | None = None,
    *,
    executor: Executor | Any | None = None,
    group_by: Sequence[str] | None = None,
    by: str | None = None,
    mode: str | None = None,
    live: bool = False,
    jobs: int | None = None,
    keep_metrics: bool | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check runs (Run objects, paths to discover, or fsspec URLs) and return a :class:`Report`.

    Where the per-run work (reading and analysing) runs:

    - ``executor``: any ``concurrent.futures.Executor``, or a ``distributed.Client``
      (Dask); each worker reads the paths it is given, so they must be visible to it;
    - ``jobs``: without an executor, a process pool of that many workers (``0`` or
      ``-1``: one per CPU); ``None`` or ``1``: this process.

    ``keep_metrics``: keep each run's curves in ``report.runs`` (default: yes in this
    process; no with workers, whose runs come back without curves, see
    :meth:`Run.without_metrics`). Findings do not depend on where the work ran.
    ``progress`` is told how far the work got.
    """
    cfg = config or Config()
    cfg = cfg.merged(by=by, mode=mode)
    all_rules = list(rules) if rules is not None else load_rules(extend=cfg.extend_rules)
    active = select_rules(all_rules, cfg)
    params = {r.code: cfg.rule_params(r) for r in active}
    metric, sel_mode = selection_metric(cfg.by, cfg.mode)

    given: list[Run] = []
    paths: list[str | os.PathLike] = []
    if isinstance(runs, (str, bytes, os.PathLike, Run)):  # one path: never its characters
        runs = [runs]
    for r in runs:
        (given if isinstance(r, Run) else paths).append(r)
    # the walk is a generator: with workers, reading starts while it goes on
    stream: Iterator[Any] = itertools.chain(given, iter_claims(paths) if paths else ())

    pool = None
    if executor is None and jobs is not None and jobs != 1:
        # auto: one process per CPU, once there are enough runs to repay starting them
        n = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1) if jobs <= 0 else jobs
        head, stream = _peek(stream, n * 2 if jobs > 0 else AUTO_POOL_MIN)
        if n > 1 and head > 1 and (jobs > 0 or head >= AUTO_POOL_MIN):
            executor = pool = make_pool(min(n, head))
    task = Task(rules=active, params=params, config=cfg, metric=metric, mode=sel_mode, live=live,
                extra=summary_specs(metric, sel_mode, cfg.by),
                keep_metrics=keep_metrics if keep_metrics is not None else executor is None)
    if progress is not None:
        progress.start()
    try:
        res = run_claims(stream, task, executor, progress)
    finally:
        if pool is not None:
            pool.shutdown()
        if progress is not None:
            progress.close()
    return _assemble(res, given, paths, task, cfg, group_by)


def _peek(stream: Iterator[Any], n: int) -> tuple[int, Iterator[Any]]:
    """How many runs or claims (up to ``n``) the stream starts with, and the stream intact."""
    head: list[Any] = []
    count = 0
    for item in stream:
        head.append(item)
        count += not isinstance(item, ReadError)
        if count >= n:
            break
    return count, itertools.chain(head, stream)


def _assemble(res: Results, given: list[Run], paths: Sequence[Any], task: Task, cfg: Config,
              group_by: Sequence[str] | None) -> Report:
    """The report from per-item outcomes: unique ids, errors in walk order, group rules."""
    report = Report()
    claims = res.claims
    k = len(given)
    keyed_errors = [((pos - k - 1, 2, n), e) for n, (pos, e) in enumerate(res.walk_errors)]
    entries: list[tuple[Run, list[Finding], dict[str, Any], str, int, int]] = []
    for o in res.outcomes:
        if o.error is not None:
            keyed_errors.append(((o.index - k, 1, 0), o.read_error()))
        for pos, (run, found, summary, analysed_id) in enumerate(o.runs):
            entries.append((run, found, summary, analysed_id, o.index, pos))
    ordered = [e for _, e in sorted(keyed_errors, key=lambda x: x[0])]
    report.errors = [str(e) for e in ordered if not getattr(e, "skipped", False)]
    report.notes = [str(e) for e in ordered if getattr(e, "skipped", False)]

    # ids: unique within each input (as discovery does), then across everything
    by_root: dict[int, list[Run]] = {}
    for e in entries:
        if e[4] >= k:
            by_root.setdefault(claims[e[4] - k].root, []).append(e[0])
    taken: set[str] = set()
    for i, root in enumerate(paths):
        mine = by_root.get(i, [])
        unique_ids(mine, root, set(taken) if len(paths) > 1 else taken)
        taken.update(r.id for r in mine)
    run_list = [e[0] for e in entries]
    unique_ids(run_list)

    summaries: dict[str, dict[str, Any]] = {}
    for n, (run, found, summary, analysed_id, index, pos) in enumerate(entries):
        if run.id != analysed_id:
            found, summary = _renamed(run, found, summary, analysed_id,
                                      claims[index - k] if index >= k else None, pos, task, cfg)
        report.findings.extend(found)
        summaries[run.id] = summary
    report.runs = run_list
    report.summaries = summaries
    # a pattern one of the run's findings reports was checked, whatever else was missing
    pattern_of = {r.code: r.pattern for r in task.rules}
    reported: dict[str, set[str]] = {}
    for f in report.findings:
        if f.run is not None and f.severity in ("warning", "error"):
            reported.setdefault(f.run, set()).update((pattern_of.get(f.rule, ""), *f.also))
    for run in run_list:
        lacking = (unchecked_patterns(run.metric_names, task.rules,
                                      summaries.get(run.id, {}).get("unmet"))
                   if run.n_steps else {})
        for pattern in reported.get(run.id, ()):
            lacking.pop(pattern, None)
        if lacking:
            report.unchecked[run.id] = lacking

    group_rules = [r for r in task.rules if r.scope == "group"]
    if len(run_list) > 1 and not task.live:
        with layouts_shared():
            report.groups = group_runs(run_list, group_by=group_by)
            by_id = {r.id: r for r in run_list}
            for g in report.groups:
                members = [by_id[i] for i in g.runs if i in by_id]
                report.findings.extend(
                    evaluate_group(g, members, {i: summaries[i] for i in g.runs if i in summaries},
                                   group_rules, task.params, metric=task.metric, mode=task.mode,
                                   by=cfg.by, at=cfg.at)
                )
    report.findings.sort(key=lambda f: f.sort_key())
    report.sweep_source = functools.partial(_report_sweep, report, cfg, group_by)
    return report


def _report_sweep(report: Report, cfg: Config, group_by: Sequence[str] | None
                  ) -> SweepResult | None:
    """The sweep of a checked report's own runs and findings (the HTML report's table and
    card), or None when its runs form no group; worked out only when asked for."""
    if not report.groups or len(report.runs) < 2:
        return None
    return sweep(report.runs, by=cfg.by, mode=cfg.mode, group_by=group_by,
                 findings=report.findings, config=cfg, summaries=report.summaries)


def _renamed(run: Run, found: list[Finding], summary: dict[str, Any], old: str,
             claim: Claim | None, pos: int, task: Task, cfg: Config
             ) -> tuple[list[Finding], dict[str, Any]]:
    """A run's results after its id was made unique: findings name the new id.

    Per-run ignores match ids; when the new id selects other rules than the one
    analysed, the run is analysed again (re-read if its curves were dropped).
    """
    def chosen(rid: str) -> list[str]:
        return [r.code for r in task.rules if not ignored_for_run(r, run.path, rid, cfg)]

    if cfg.per_run_ignores and chosen(old) != chosen(run.id):
        src = run if run.has_metrics or claim is None else \
            read_claim(claim, cfg.metrics or None, task.cwd)[pos]
        src.id = run.id
        _, found, summary, _ = analyse(src, task)
        return found, summary
    for f in found:
        f.run = run.id if f.run == old else f.run
        f.runs = [run.id if x == old else x for x in f.runs]
    return found, summary


def sweep(
    runs_or_paths: Any,
    by: str = "val/loss",
    mode: str | None = None,
    group_by: str | Sequence[str] | None = None,
    findings: Sequence[Finding] | None = None,
    config: Config | None = None,
    at: str | None = None,
    summaries: dict[str, dict[str, Any]] | None = None,
) -> SweepResult:
    """Compare runs: the experiment table, the best setting, the decision and the next experiment.

    The best setting is chosen by ``by`` (best value over steps, mean over seeds);
    when ``by`` is a training metric the selection still follows it, and the
    card names what the validation metric would have picked. ``findings`` (with
    Run objects, e.g. a Report's runs and findings) skips the rule engine; ``config`` (a
    :class:`diagnose.config.Config`) selects rules and maps metric names. ``at``:
    compare each run's ``final`` value (the last evaluation; default, or ``at`` in
    the config) or its ``best`` step. ``summaries`` (a Report's) are the numbers the
    check read; the sweep reads the same ones.
    """
    cfg = (config or Config()).merged(at=at)
    at = cfg.at
    aliases = (config.metrics or None) if config is not None else None
    by = canonical_name(by, aliases)
    asked_mode, mode = mode, mode or infer_mode(by)
    items = [runs_or_paths] if isinstance(runs_or_paths, (str, os.PathLike, Run)) else list(
        runs_or_paths)
    if findings is None:  # the engine reads the paths, makes run ids unique, runs the rules
        report = check(items, None, cfg, by=by, mode=asked_mode,
                       group_by=as_list(group_by) or None)
        sets = validation_sets(report.runs, by)
        errors = list(report.errors)
        if sets[0] != by:  # several evaluation sets and no `by`: the group rules judge the first
            report = check(report.runs, None, cfg, by=sets[0], mode=None,
                           group_by=as_list(group_by) or None)
        runs, findings = report.runs, report.findings
        summaries = report.summaries
    else:
        runs, errors = [r for r in items if isinstance(r, Run)], []
        if len(runs) != len(items):
            raise ValueError("sweep(findings=...) takes Run objects (a Report's runs), not paths")
    return compare(runs, findings, by, mode, group_by, errors, at=at, summaries=summaries)
