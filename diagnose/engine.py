"""Rules x runs -> findings. Pure: no printing, no files written.

Per-run analysis (:func:`analyse_run`) is a pure function of the run and the
rules, so it can run in any ``concurrent.futures.Executor``, a process pool
(``jobs``) or a Dask cluster (a ``distributed.Client``); with workers, reading
happens there too (see :mod:`diagnose._parallel`). Group rules run afterwards,
on the small per-run summaries, never on raw curves.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Executor
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence

from .config import Config, ignored_for_run, select_rules
from .features import FEATURES, GroupContext, RunContext, compute, feature_params, run_summary
from .findings import Finding, Group, Report
from .rules import Rule, load_rules
from .run import Run

__all__ = ["analyse_run", "check", "evaluate_group", "evaluate_run"]

#: With ``jobs=0`` (one process per CPU), fewer runs than this are checked in-process.
AUTO_POOL_MIN = 8


def _env_for(rule: Rule, values: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    env = dict(values)
    env.update(params)
    return env


def _finding(rule: Rule, env: Mapping[str, Any], *, run: str | None = None,
             group: str | None = None, runs: Sequence[str] = ()) -> Finding:
    steps = None
    if rule.steps:
        a, b = env.get(rule.steps[0]), env.get(rule.steps[1])
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            steps = (int(a), int(b)) if a <= b else (int(b), int(a))
        elif isinstance(a, (int, float)):
            steps = (int(a), int(a))
    evidence = {k: env.get(k) for k in sorted(rule.names) if k in env}
    return Finding(
        rule=rule.code, name=rule.name, pattern=rule.pattern, severity=rule.severity,
        message=rule.message.render(env), cause=rule.cause_for(env).render(env),
        next_experiment=rule.next.render(env), run=run, group=group,
        runs=list(runs) if runs else ([run] if run else []), steps=steps,
        evidence=evidence, tags=list(rule.tags),
    )


def _fires(rule: Rule, values: dict[str, Any], ctx: Any,
           params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any] | None:
    """Compute the features ``rule`` still needs (cached in ``values``), then its condition.

    Returns the rule's environment when it fires, else None.
    """
    missing = {n for n in rule.names if n not in values and n in FEATURES}
    if missing:
        values.update(compute(missing, ctx))
    rule_params = (params or {}).get(rule.code) or rule.defaults()
    # the condition reads only the rule's own names: judge it on those, and build the
    # whole environment (what messages may show) only for a rule that fires
    if not rule.when.holds({**{n: values.get(n) for n in rule.when.names}, **rule_params}):
        return None
    return _env_for(rule, values, rule_params)


def evaluate_run(run: Run, rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None,
                 *, live: bool = False, ctx: RunContext | None = None) -> list[Finding]:
    """Findings of run-scope ``rules`` on ``run``. ``params``: rule code -> param values."""
    ctx = ctx if ctx is not None else RunContext(run, live=live)
    ctx.params.update(_feature_params(rules, params))
    values: dict[str, Any] = {}
    findings = []
    present = set(run.metric_names)
    for rule in rules:
        if rule.scope != "run" or (live and not rule.live):
            continue
        if not present.issuperset(rule.requires):
            continue
        env = _fires(rule, values, ctx, params)
        if env is not None:
            findings.append(_finding(rule, env, run=run.id))
    fired = {f.rule for f in findings}
    by_code = {r.code: r for r in rules}
    return [f for f in findings if not fired.intersection(by_code[f.rule].suppressed_by)]


def _feature_params(rules: Sequence[Rule],
                    params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The configured values of the thresholds features read (the rest keep their defaults)."""
    wanted = feature_params()
    out: dict[str, Any] = {}
    for r in rules:
        for k, v in ((params or {}).get(r.code) or {}).items():
            if k in wanted and k in r.params:
                out[k] = v
    return out


def analyse_run(run: Run, rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]],
                metric: str, mode: str, live: bool = False, *,
                extra: Sequence[tuple[str, str]] = ()) -> tuple[list[Finding], dict[str, Any]]:
    """Everything per-run: findings and the summary group rules need. Picklable inputs/outputs.

    ``extra``: other ``(metric, mode)`` pairs to summarise, under ``summary["other"]``
    keyed ``"metric|mode"`` (selecting by a training metric needs them; the group
    stage never sees curves).
    """
    ctx = RunContext(run, live=live)
    findings = evaluate_run(run, rules, params, live=live, ctx=ctx)
    summary = run_summary(run, metric, mode, ctx)
    summary["errors"] = [f.rule for f in findings if f.severity == "error"]
    if extra:
        summary["other"] = {f"{m}|{md}": run_summary(run, m, md, ctx) for m, md in extra}
    return findings, summary


def evaluate_group(group: Group, runs: Sequence[Run], summaries: Mapping[str, dict[str, Any]],
                   rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None,
                   *, metric: str = "val/loss", mode: str = "min", by: str | None = None) -> list[Finding]:
    """Findings of group-scope rules on one group."""
    ctx = GroupContext(group=group, runs=list(runs), summaries=dict(summaries),
                       metric=metric, mode=mode, by=by)
    values: dict[str, Any] = {"run_count": len(runs)}
    out = []
    for rule in rules:
        if rule.scope != "group" or group.kind not in rule.groups:
            continue
        env = _fires(rule, values, ctx, params)
        if env is not None:
            out.append(_finding(rule, env, group=group.id, runs=group.runs))
    return out


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
    runs: Iterable[Run | str | os.PathLike],
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
    from ._parallel import Task, iter_claims, make_pool, run_claims

    cfg = config or Config()
    cfg = cfg.merged(by=by, mode=mode)
    all_rules = list(rules) if rules is not None else load_rules()
    active = select_rules(all_rules, cfg)
    params = {r.code: cfg.rule_params(r) for r in active}
    metric, sel_mode = _selection_metric(cfg)

    given: list[Run] = []
    paths: list[str | os.PathLike] = []
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
    from .experiments import summary_specs

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
    from ._errors import ReadError

    head: list[Any] = []
    count = 0
    for item in stream:
        head.append(item)
        count += not isinstance(item, ReadError)
        if count >= n:
            break
    return count, itertools.chain(head, stream)


def _assemble(res: Any, given: list[Run], paths: Sequence[Any], task: Any, cfg: Config,
              group_by: Sequence[str] | None) -> Report:
    """The report from per-item outcomes: unique ids, errors in walk order, group rules."""
    from ._parallel import unique_ids

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
    report.errors = [str(e) for _, e in sorted(keyed_errors, key=lambda x: x[0])]

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
    _unique_ids(run_list)

    summaries: dict[str, dict[str, Any]] = {}
    for n, (run, found, summary, analysed_id, index, pos) in enumerate(entries):
        if run.id != analysed_id:
            found, summary = _renamed(run, found, summary, analysed_id,
                                      claims[index - k] if index >= k else None, pos, task, cfg)
        report.findings.extend(found)
        summaries[run.id] = summary
    report.runs = run_list

    group_rules = [r for r in task.rules if r.scope == "group"]
    if len(run_list) > 1 and not task.live:
        from .experiments import group_runs, layouts_shared

        with layouts_shared():
            report.groups = group_runs(run_list, group_by=group_by)
            by_id = {r.id: r for r in run_list}
            for g in report.groups:
                members = [by_id[i] for i in g.runs if i in by_id]
                report.findings.extend(
                    evaluate_group(g, members, {i: summaries[i] for i in g.runs if i in summaries},
                                   group_rules, task.params, metric=task.metric, mode=task.mode,
                                   by=cfg.by)
                )
    report.findings.sort(key=lambda f: f.sort_key())
    return report


def _renamed(run: Run, found: list[Finding], summary: dict[str, Any], old: str, claim: Any,
             pos: int, task: Any, cfg: Config) -> tuple[list[Finding], dict[str, Any]]:
    """A run's results after its id was made unique: findings name the new id.

    Per-run ignores match ids; when the new id selects other rules than the one
    analysed, the run is analysed again (re-read if its curves were dropped).
    """
    def chosen(rid: str) -> list[str]:
        return [r.code for r in task.rules if not ignored_for_run(r, run.path, rid, cfg)]

    if cfg.per_run_ignores and chosen(old) != chosen(run.id):
        from ._parallel import analyse, read_claim

        src = run if run.has_metrics or claim is None else read_claim(claim, task)[pos]
        src.id = run.id
        _, found, summary, _ = analyse(src, task)
        return found, summary
    for f in found:
        f.run = run.id if f.run == old else f.run
        f.runs = [run.id if x == old else x for x in f.runs]
    return found, summary


def _selection_metric(cfg: Config) -> tuple[str, str]:
    """The metric group rules judge by: the validation counterpart of ``--by``."""
    metric = cfg.by
    if metric.startswith("train/"):
        metric = "val/" + metric.split("/", 1)[1]
    mode = cfg.mode or ("max" if metric.endswith(("acc", "accuracy", "f1", "auc")) else "min")
    return metric, mode


def _unique_ids(runs: list[Run]) -> None:
    """Make run ids unique (two runs named 'version_0' in different folders)."""
    seen: dict[str, int] = {}
    for r in runs:
        if r.id in seen:
            seen[r.id] += 1
            r.id = r.path or f"{r.id}#{seen[r.id]}"
            if r.id in seen:
                r.id = f"{r.id}#{seen[r.id]}"
        seen.setdefault(r.id, 0)
