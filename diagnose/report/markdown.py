"""The Markdown report: severity counts and one table row per finding (GitHub-flavoured).

Used for pull-request comments and, through :func:`diagnose.report.github.step_summary`,
for the job summary of a GitHub Actions run.
"""

from __future__ import annotations

from typing import Any

from .._escape import markdown_inline
from ..findings import SEVERITIES, Finding, Report
from .text import sorted_findings, steps_label, summary_line

__all__ = ["cell", "render"]

_ICONS = {"error": ":x:", "warning": ":warning:", "info": ":information_source:"}
_FINDING_COLUMNS = ("Run", "Rule", "Severity", "Steps", "Message", "Next experiment")


def cell(text: Any) -> str:
    """Text safe inside a table cell: pipes escaped, newlines as ``<br>``, no raw HTML, and
    no link or image (``[``/``]`` escaped): run names come from the logs."""
    s = markdown_inline(str(text)).replace("|", "\\|")  # no link, image or HTML
    return "<br>".join(part.strip() for part in s.splitlines()) if s else ""


def _row(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |"


def _where(f: Finding) -> str:
    if f.run is not None:
        return cell(f.run)
    members = ", ".join(f.runs)
    label = f"group {f.group}" if f.group else "across runs"
    return cell(f"{label} ({members})" if members else label)


def render(report: Report, *, color: bool = False, verbose: bool = False, **_: Any) -> str:
    """Summary table, findings table, unreadable inputs and the summary line."""
    counts = report.counts()
    out = ["## diagnose", "", cell(summary_line(report)), ""]
    out += [_row(["Severity", "Count"]), "| --- | ---: |"]
    out += [_row([f"{_ICONS[s]} {s}", str(counts.get(s, 0))]) for s in SEVERITIES]
    findings = sorted_findings(report.findings)
    if findings:
        out += ["", "### Findings", "", _row(list(_FINDING_COLUMNS))]
        out.append(_row(["---"] * len(_FINDING_COLUMNS)))
        for f in findings:
            out.append(
                _row(
                    [
                        _where(f),
                        f"`{cell(f.rule)}` {cell(f.name)}",
                        f"{_ICONS.get(f.severity, '')} {cell(f.severity)}".strip(),
                        cell(steps_label(f.steps, word=False)),
                        cell(f.message),
                        cell(f.next_experiment),
                    ]
                )
            )
    if report.errors:
        out += ["", "### Unreadable inputs", ""]
        out += [f"- {cell(e)}" for e in report.errors]
    return "\n".join(out) + "\n"
