"""Running a rule's inline ``[[cases]]``: what ``diagnose rules test`` and the test suite share.

A case is a small series (or, for a group rule, a few runs) and whether the rule
should fire on it (``expect = "fail"``) or stay quiet (``expect = "pass"``),
with the rule's params optionally changed (``config = {...}``); a failing case may list the
patterns the finding must tell as consequences (``also = [...]``, see the rule's ``[[also]]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import evaluate_group, evaluate_run
from .features import run_summary
from .findings import Finding
from .grouping import group_runs
from .rules import Rule
from .run import Run, infer_mode

__all__ = ["CaseResult", "run_case", "run_cases"]


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome: ``ok`` when the rule did what the case expects."""

    rule: Rule
    name: str
    expect: str
    ok: bool
    #: why it failed, in the words a user needs to fix the rule or the case
    reason: str = ""
    findings: tuple[Finding, ...] = ()


def run_case(rule: Rule, case: dict[str, Any]) -> CaseResult:
    """Evaluate ``rule`` on one of its cases."""
    params = {**rule.defaults(), **case.get("config", {})}
    if rule.scope == "run":
        run = Run.from_series(case["series"], case.get("steps"), params=case.get("params"),
                              num_classes=case.get("num_classes"))
        found = evaluate_run(run, [rule], {rule.code: params})
    else:
        found = _group_findings(rule, case, params)
    name, expect = str(case.get("name", "?")), case["expect"]
    if expect == "fail":
        if not found:
            return CaseResult(rule, name, expect, False, "expected a finding, got none", ())
        f = found[0]
        told = case.get("also")  # the patterns it tells as consequences ([[also]]), when given
        bad = ("finding has no message" if not f.message else
               "finding has no next experiment" if not f.next_experiment else
               f"message has a missing value (n/a): {f.message}" if "n/a" in f.message else
               f"expected it to tell {told}, it told {f.also}" if told is not None
               and sorted(told) != sorted(f.also) else "")
        return CaseResult(rule, name, expect, not bad, bad, tuple(found))
    if found:
        return CaseResult(rule, name, expect, False, f"expected no finding, got: {found[0].message}",
                          tuple(found))
    return CaseResult(rule, name, expect, True)


def run_cases(rules: list[Rule]) -> list[CaseResult]:
    """Every case of every rule, in rule order."""
    return [run_case(r, c) for r in rules for c in r.cases]


def _group_findings(rule: Rule, case: dict[str, Any], params: dict[str, Any]) -> list[Finding]:
    runs = []
    for i, spec in enumerate(case["runs"]):
        run = Run.from_series(spec["series"], spec.get("steps"), id=f"r{i}",
                              params=spec.get("params"), num_classes=spec.get("num_classes"))
        run.results.update(spec.get("results") or {})  # train_time for cost rules
        runs.append(run)
    groups = [g for g in group_runs(runs) if g.kind in rule.groups]
    by = case.get("by", "val/loss")
    metric = "val/" + by.split("/", 1)[1] if by.startswith("train/") else by
    mode = infer_mode(metric)
    summaries = {r.id: run_summary(r, metric, mode) for r in runs}
    found: list[Finding] = []
    for g in groups:
        members = [r for r in runs if r.id in g.runs]
        found += evaluate_group(g, members, summaries, [rule], {rule.code: params},
                                metric=metric, mode=mode, by=by)
    return found
