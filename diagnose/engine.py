"""Rules x runs -> findings. Pure: no files, no pool, no printing.

:func:`evaluate_run` and :func:`analyse_run` judge one run (a pure function of the
run and the rules, so any worker can call it); :func:`evaluate_group` judges a
group on the per-run summaries, never on raw curves. Reading, workers and the
group stage are :mod:`diagnose.pipeline`'s.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .advice import finding_next
from .features import FEATURES, GroupContext, RunContext, compute, feature_params, run_summary
from .findings import Finding, Group
from .rules import Rule
from .run import Run

__all__ = ["analyse_run", "evaluate_group", "evaluate_run", "unchecked_patterns"]

def _env_for(rule: Rule, values: Mapping[str, Any], params: Mapping[str, Any],
             terms: Mapping[str, Any] | None = None) -> dict[str, Any]:
    env = dict(values)
    env.update(params)
    if terms:
        env.update(terms)
    return env


def _finding(rule: Rule, env: Mapping[str, Any], subjects: Sequence[Run], *,
             run: str | None = None, group: str | None = None,
             runs: Sequence[str] = (), ctx: GroupContext | None = None) -> Finding:
    steps = None
    if rule.steps:
        a, b = env.get(rule.steps[0]), env.get(rule.steps[1])
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            steps = (int(a), int(b)) if a <= b else (int(b), int(a))
        elif isinstance(a, (int, float)):
            steps = (int(a), int(a))
    evidence = {k: env.get(k) for k in sorted(rule.names) if k in env}
    cause, next_text, next_run = rule.advice_for(env)
    message, also = rule.message.render(env), []
    for a in rule.also:
        if a.when.holds(env) and a.pattern not in also:
            message += "; " + a.message.render(env)
            also.append(a.pattern)
    return Finding(
        rule=rule.code, name=rule.name, pattern=rule.pattern, severity=rule.severity,
        message=message, also=also, cause=cause.render(env),
        next_experiment=next_text.render(env), run=run, group=group,
        runs=list(runs) if runs else ([run] if run else []), steps=steps,
        evidence=evidence, tags=list(rule.tags),
        next_run=finding_next(next_run, env, subjects,
                              *((ctx.summaries, ctx.metric, ctx.mode) if ctx else ())),
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
    # (a rule with terms: every name its terms read as well, and the terms' values, which
    # messages and causes may read too)
    own = {**{n: values.get(n) for n in (rule.names if rule.terms else rule.when.names)}, **rule_params}
    if rule.terms:
        own = rule.with_terms(own)
    if not rule.when.holds(own):
        return None
    return _env_for(rule, values, rule_params, {n: own[n] for n, _ in rule.terms})


def evaluate_run(run: Run, rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None,
                 *, live: bool = False, ctx: RunContext | None = None,
                 unmet: dict[str, list[str]] | None = None) -> list[Finding]:
    """Findings of run-scope ``rules`` on ``run``. ``params``: rule code -> param values.

    ``unmet``, when given, receives rule code -> the features in its ``needs`` that have no
    value on this run (the rule could not judge it: see :func:`unchecked_patterns`).
    """
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
            findings.append(_finding(rule, env, [run], run=run.id))
        elif unmet is not None and rule.needs:
            lacking = [n for n in rule.needs if values.get(n) is None]
            if lacking:
                unmet[rule.code] = lacking
    fired = {f.rule for f in findings}
    by_code = {r.code: r for r in rules}
    if unmet:  # a check a fired finding would have silenced anyway was not missed
        for code in [c for c in unmet if fired.intersection(by_code[c].suppressed_by)]:
            del unmet[code]
    return [f for f in findings if not fired.intersection(by_code[f.rule].suppressed_by)]


def unchecked_patterns(metric_names: Sequence[str], rules: Sequence[Rule],
                       unmet: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """The patterns no warning or error rule of ``rules`` could judge on a run logging
    ``metric_names``, each with the metrics (or features) the run lacks: for a pattern several
    rules judge from different metrics, those of the rule that lacks the fewest.

    A clean report must not read as "every check passed" when a check never ran: a log
    without a validation loss was never checked for a generalization gap. ``unmet``: rule
    code -> the features of its ``needs`` the run had no value for (from
    :func:`evaluate_run`): a log with no number of classes and no accuracy was never checked
    for a model stuck at chance, even though a rule of that pattern that reads no metric of its
    own (DG209, looking for several outputs' curves) ran on it and found nothing to look at.
    """
    present = set(metric_names)
    unmet = unmet or {}
    judged: set[str] = set()  # by some rule
    witnessed: set[str] = set()  # by a rule that had the metrics or features it reads
    missing: dict[str, set[str]] = {}
    short: dict[str, set[str]] = {}  # patterns whose rule lacked a feature it needs
    for r in rules:
        if r.scope != "run" or r.severity not in ("warning", "error"):
            continue
        lacking = set(r.requires) - present
        if lacking:
            # the fewest metrics that would let some rule of the pattern judge it: a log without
            # a validation loss lacks DG103's val/loss, not also DG223's pair of accuracies
            if r.pattern not in missing or len(lacking) < len(missing[r.pattern]):
                missing[r.pattern] = lacking
        elif r.code in unmet:
            short.setdefault(r.pattern, set()).update(unmet[r.code])
        else:
            judged.add(r.pattern)
            if r.requires or r.needs:
                witnessed.add(r.pattern)
    out = {p: m for p, m in missing.items() if p not in judged}
    for p, names in short.items():
        if p not in witnessed:
            out[p] = names | missing.get(p, set())
    return {p: sorted(m) for p, m in sorted(out.items())}


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
    unmet: dict[str, list[str]] = {}
    findings = evaluate_run(run, rules, params, live=live, ctx=ctx, unmet=unmet)
    summary = run_summary(run, metric, mode, ctx)
    summary["unmet"] = unmet
    summary["errors"] = [f.rule for f in findings if f.severity == "error"]
    if extra:
        summary["other"] = {f"{m}|{md}": run_summary(run, m, md, ctx) for m, md in extra}
    return findings, summary


def evaluate_group(group: Group, runs: Sequence[Run], summaries: Mapping[str, dict[str, Any]],
                   rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None,
                   *, metric: str = "val/loss", mode: str = "min", by: str | None = None,
                   at: str = "final") -> list[Finding]:
    """Findings of group-scope rules on one group."""
    ctx = GroupContext(group=group, runs=list(runs), summaries=dict(summaries),
                       metric=metric, mode=mode, by=by, at=at)
    values: dict[str, Any] = {"run_count": len(runs)}
    out = []
    for rule in rules:
        if rule.scope != "group" or group.kind not in rule.groups:
            continue
        env = _fires(rule, values, ctx, params)
        if env is not None:
            out.append(_finding(rule, env, runs, group=group.id, runs=group.runs, ctx=ctx))
    return out
