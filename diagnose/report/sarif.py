"""SARIF 2.1.0: the format code-scanning dashboards (GitHub, Azure DevOps) ingest.

Each finding is a result whose location is the run's path; steps and evidence ride
along in ``properties``. Unreadable inputs are tool execution notifications, so the
log still says the check did not see everything.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any, Iterable
from urllib.parse import quote

from .._version import __version__
from ..findings import Finding, Report
from .json_ import dumps, jsonable
from .text import sorted_findings

__all__ = ["SCHEMA", "render", "sarif_dict"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: Where a reader of the log learns about the tool. Set to the project page once it has one.
INFORMATION_URI = "https://pypi.org/project/diagnose/"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def artifact_uri(path: str) -> str:
    """A run path as a SARIF URI: ``file:`` for absolute paths, percent-encoded relative ones."""
    p = PurePath(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(str(path).replace(os.sep, "/"), safe="/")


def _descriptor(
    code: str, name: str, pattern: str, severity: str, tags: Any, rule: Any = None
) -> dict[str, Any]:
    """A reportingDescriptor; with the loaded rule (duck-typed) its own docs describe it."""
    what = str(getattr(rule, "docs", {}).get("what", "")).strip()
    short = what.split("\n\n")[0].replace("\n", " ") if what else (
        f"{name.replace('-', ' ')} ({pattern})"
    )
    desc: dict[str, Any] = {"id": code, "name": name, "shortDescription": {"text": short}}
    if what:
        desc["fullDescription"] = {"text": what}
    hint = f"Run `diagnose explain {code}` for what it detects and its options."
    explain = getattr(rule, "explain", None)
    desc["help"] = {"text": hint, "markdown": explain()} if callable(explain) else {"text": hint}
    desc["defaultConfiguration"] = {"level": _LEVELS.get(severity, "warning")}
    desc["properties"] = {"pattern": pattern, "tags": list(tags)}
    return desc


def _result(f: Finding, index: int, paths: dict[str, str | None]) -> dict[str, Any]:
    members = [f.run] if f.run is not None else list(f.runs)
    locations = [
        {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(paths[r])}}}
        for r in members
        if paths.get(r)
    ]
    text = f.message
    if f.next_experiment:
        text += f"\nNext: {f.next_experiment}"
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _LEVELS.get(f.severity, "warning"),
        "message": {"text": text},
        "locations": locations,
        "properties": {
            "run": f.run,
            "group": f.group,
            "runs": list(f.runs),
            "steps": list(f.steps) if f.steps is not None else None,
            "cause": f.cause,
            "next_experiment": f.next_experiment,
            "evidence": jsonable(f.evidence),
        },
    }
    return result


def sarif_dict(report: Report, rules: Iterable[Any] = ()) -> dict[str, Any]:
    """The SARIF log as a dict. ``rules`` (the loaded rules, optional) lists every rule run."""
    findings = sorted_findings(report.findings)
    loaded = {r.code: r for r in rules}
    descriptors: dict[str, dict[str, Any]] = {}
    for code in sorted(set(loaded) | {f.rule for f in findings}):
        r = loaded.get(code)
        if r is not None:
            descriptors[code] = _descriptor(code, r.name, r.pattern, r.severity, r.tags, r)
        else:
            f = next(f for f in findings if f.rule == code)
            descriptors[code] = _descriptor(code, f.name, f.pattern, f.severity, f.tags)
    index = {code: i for i, code in enumerate(descriptors)}
    paths = {r.id: r.path for r in report.runs}
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": str(e)}} for e in report.errors
        ]
    return jsonable(
        {
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "diagnose",
                            "version": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": list(descriptors.values()),
                        }
                    },
                    "invocations": [invocation],
                    "results": [_result(f, index[f.rule], paths) for f in findings],
                }
            ],
        }
    )


def render(
    report: Report, *, color: bool = False, verbose: bool = False, rules: Iterable[Any] = (),
    **_: Any,
) -> str:
    """The report as a SARIF 2.1.0 JSON document."""
    return dumps(sarif_dict(report, rules))
