"""JUnit XML: one testsuite per run, one testcase per finding, so CI test tabs show them.

Findings at or above ``fail_on`` (default ``warning``) are ``<failure type=severity>``;
those below pass with their text in ``<system-out>``. A run without findings gets one
passing testcase; unreadable inputs become ``<error>`` testcases. Characters XML 1.0
cannot hold (control characters) are dropped so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ..findings import Finding, Report, severity_rank
from .text import detail_lines, findings_by_owner, steps_label

__all__ = ["render"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(s: Any) -> str:
    return _NOT_XML.sub("", str(s))


def _body(f: Finding) -> str:
    where = [steps_label(f.steps)] if f.steps is not None else []
    return _x("\n".join([f.message, *where, *detail_lines(f)]))


def _suite(
    parent: ET.Element, name: str, file: str | None, found: list[Finding], fail_rank: int
) -> None:
    suite = ET.SubElement(parent, "testsuite", name=_x(name))
    if file:
        suite.set("file", _x(file))
    failures = 0
    for f in found:
        case = ET.SubElement(suite, "testcase", classname=_x(name), name=_x(f"{f.rule} {f.name}"))
        if file:
            case.set("file", _x(file))
        if severity_rank(f.severity) >= fail_rank:
            failures += 1
            fail = ET.SubElement(case, "failure", type=_x(f.severity), message=_x(f.message))
            fail.text = _body(f)
        else:
            ET.SubElement(case, "system-out").text = f"{_x(f.severity)}: {_body(f)}"
    if not found:
        ET.SubElement(suite, "testcase", classname=_x(name), name="no findings")
    _counts(suite, tests=max(len(found), 1), failures=failures, errors=0)


def _counts(el: ET.Element, *, tests: int, failures: int, errors: int) -> None:
    el.set("tests", str(tests))
    el.set("failures", str(failures))
    el.set("errors", str(errors))
    el.set("skipped", "0")


def render(
    report: Report, *, color: bool = False, verbose: bool = False, fail_on: str = "warning",
    **_: Any,
) -> str:
    """The report as a JUnit XML document (``<testsuites>`` root)."""
    fail_rank = severity_rank(fail_on)
    root = ET.Element("testsuites", name="diagnose")
    per_run, per_group = findings_by_owner(report)
    for run in report.runs:
        _suite(root, run.id, run.path, per_run.pop(run.id, []), fail_rank)
    for run_id in sorted(per_run):
        _suite(root, run_id, None, per_run[run_id], fail_rank)
    for gid in sorted(per_group):
        _suite(root, f"group {gid}" if gid else "across runs", None, per_group[gid], fail_rank)
    if report.errors:
        suite = ET.SubElement(root, "testsuite", name="unreadable inputs")
        for i, msg in enumerate(report.errors, start=1):
            case = ET.SubElement(
                suite, "testcase", classname="unreadable inputs", name=f"input {i}"
            )
            ET.SubElement(case, "error", type="ReadError", message=_x(msg)).text = _x(msg)
        _counts(suite, tests=len(report.errors), failures=0, errors=len(report.errors))
    suites = list(root)
    _counts(
        root,
        tests=sum(int(s.get("tests", 0)) for s in suites),
        failures=sum(int(s.get("failures", 0)) for s in suites),
        errors=sum(int(s.get("errors", 0)) for s in suites),
    )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
