"""Rules x runs -> findings. Pure: no printing, no files written.

Per-run analysis (:func:`analyse_run`) is a pure function of the run and the
rules, so it can run in any ``concurrent.futures.Executor``. Group rules run
afterwards, on the small per-run summaries, never on raw curves.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .config import Config, ignored_for_run, select_rules
from .features import FEATURES, GroupContext, RunContext, compute, run_summary
from .findings import Finding, Group, Report
from .rules import Rule, load_rules
from .run import Run

__all__ = ["analyse_run", "check", "evaluate_group", "evaluate_run"]


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
        message=rule.message.render(env), cause=rule.cause.render(env),
        next_experiment=rule.next.render(env), run=run, group=group,
        runs=list(runs) if runs else ([run] if run else []), steps=steps,
        evidence=evidence, tags=list(rule.tags),
    )


def evaluate_run(run: Run, rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None,
                 *, live: bool = False) -> list[Finding]:
    """Findings of run-scope ``rules`` on ``run``. ``params``: rule code -> param values."""
    ctx = RunContext(run, live=live)
    values: dict[str, Any] = {}
    findings = []
    present = set(run.metric_names)
    for rule in rules:
        if rule.scope != "run" or (live and not rule.live):
            continue
        if not set(rule.requires) <= present:
            continue
        missing = {n for n in rule.names if n in FEATURES and n not in values}
        if missing:
            values.update(compute(missing, ctx))
        p = (params or {}).get(rule.code) or rule.defaults()
        env = _env_for(rule, values, p)
        if rule.when.holds(env):
            findings.append(_finding(rule, env, run=run.id))
    fired = {f.rule for f in findings}
    by_code = {r.code: r for r in rules}
    return [f for f in findings if not fired.intersection(by_code[f.rule].suppressed_by)]


def analyse_run(run: Run, rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]],
                metric: str, mode: str, live: bool = False) -> tuple[list[Finding], dict[str, Any]]:
    """Everything per-run: findings and the summary group rules need. Picklable inputs/outputs."""
    findings = evaluate_run(run, rules, params, live=live)
    summary = run_summary(run, metric, mode)
    summary["errors"] = [f.rule for f in findings if f.severity == "error"]
    return findings, summary


def _analyse_path_or_run(args: tuple) -> tuple[list[Finding], dict[str, Any]]:
    return analyse_run(*args)


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
        missing = {n for n in rule.names if n in FEATURES and n not in values}
        if missing:
            values.update(compute(missing, ctx))
        p = (params or {}).get(rule.code) or rule.defaults()
        env = _env_for(rule, values, p)
        if rule.when.holds(env):
            out.append(_finding(rule, env, group=group.id, runs=group.runs))
    return out


def check(
    runs: Iterable[Run | str | os.PathLike],
    rules: Sequence[Rule] | None = None,
    config: Config | None = None,
    *,
    executor: Executor | None = None,
    group_by: Sequence[str] | None = None,
    by: str | None = None,
    mode: str | None = None,
    live: bool = False,
) -> Report:
    """Check runs (Run objects or paths to discover) and return a :class:`Report`.

    ``executor`` runs the per-run work (any ``concurrent.futures.Executor``);
    by default it runs in this process.
    """
    cfg = config or Config()
    cfg = cfg.merged(by=by, mode=mode)
    all_rules = list(rules) if rules is not None else load_rules()
    active = select_rules(all_rules, cfg)
    params = {r.code: cfg.rule_params(r) for r in active}
    metric, sel_mode = _selection_metric(cfg)

    report = Report()
    run_list: list[Run] = []
    paths = []
    for r in runs:
        if isinstance(r, Run):
            run_list.append(r)
        else:
            paths.append(Path(r))
    if paths:
        from .readers import discover

        found = discover(paths, aliases=cfg.metrics or None)
        run_list.extend(found.runs)
        report.errors.extend(str(e) for e in found.errors)
    _unique_ids(run_list)
    report.runs = run_list

    jobs = []
    for run in run_list:
        rules_for_run = [r for r in active if not ignored_for_run(r, run.path, run.id, cfg)]
        jobs.append((run, rules_for_run, params, metric, sel_mode, live))
    if executor is None:
        results = [_analyse_path_or_run(j) for j in jobs]
    else:
        results = list(executor.map(_analyse_path_or_run, jobs))
    summaries: dict[str, dict[str, Any]] = {}
    for run, (found_f, summary) in zip(run_list, results):
        report.findings.extend(found_f)
        summaries[run.id] = summary

    group_rules = [r for r in active if r.scope == "group"]
    if len(run_list) > 1 and not live:
        from .experiments import group_runs

        report.groups = group_runs(run_list, group_by=group_by)
        by_id = {r.id: r for r in run_list}
        for g in report.groups:
            members = [by_id[i] for i in g.runs if i in by_id]
            report.findings.extend(
                evaluate_group(g, members, {i: summaries[i] for i in g.runs if i in summaries},
                               group_rules, params, metric=metric, mode=sel_mode, by=cfg.by)
            )
    report.findings.sort(key=lambda f: f.sort_key())
    return report


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
