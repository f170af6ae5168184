"""GitHub Actions workflow commands: one annotation per finding, plus a job summary.

``::error title=DG102 loss-explosion,file=runs/lr_10::message`` (warning -> ``::warning``,
info -> ``::notice``). Escaping follows the runner's rules (actions/toolkit
``command.ts``): data escapes ``%``, CR and LF; property values also ``:`` and ``,``.
"""

from __future__ import annotations

from typing import Any, Callable

from ..findings import Finding, Report
from . import markdown
from .text import detail_lines, sorted_findings, steps_label, summary_line

__all__ = ["escape_data", "escape_property", "render", "step_summary"]

#: finding -> (file, line) as GitHub should show it
Locator = Callable[[Finding], "tuple[str | None, int | None]"]

_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    """A command's message: ``%``, CR and LF percent-encoded."""
    return str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """A property value (title, file): as data, plus ``:`` and ``,``."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **props: str | None) -> str:
    given = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v)
    return f"::{kind}{' ' + given if given else ''}::{escape_data(message)}"


def annotation(f: Finding, paths: dict[str, str | None], where: Locator | None = None) -> str:
    """One workflow command for one finding, pointing at the run it concerns.

    ``where``: the finding's log file and line (the CLI looks them up on disk); without
    it, the run's path as read.
    """
    owner = f.run if f.run is not None else (f.group or None)
    members = [f.run] if f.run is not None else list(f.runs)
    file = next((paths[r] for r in members if paths.get(r)), None)
    line = None
    if where is not None:
        file, line = where(f)
    where = steps_label(f.steps)
    lines = [f"{owner}: {f.message}" if owner else f.message, *detail_lines(f)]
    title = f"{f.rule} {f.name}" + (f" ({where})" if where else "")
    return _command(_COMMANDS.get(f.severity, "warning"), "\n".join(lines), title=title, file=file,
                    line=str(line) if line else None)


def render(report: Report, *, color: bool = False, verbose: bool = False,
           where: Locator | None = None, **_: Any) -> str:
    """Annotations for every finding and unreadable input, then the summary as a notice."""
    paths = {r.id: r.path for r in report.runs}
    out = [annotation(f, paths, where) for f in sorted_findings(report.findings)]
    out += [_command("error", e, title="diagnose: unreadable input") for e in report.errors]
    out.append(_command("notice", summary_line(report), title="diagnose"))
    return "\n".join(out) + "\n"


def step_summary(report: Report) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (the CLI appends it to that file)."""
    return markdown.render(report)
