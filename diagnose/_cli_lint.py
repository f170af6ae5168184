"""The linter conventions `diagnose check` shares with ruff: extend-select/ignore,
--statistics, --exit-zero, and the run folders' own `diagnose-ignore` shown under --verbose."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable

import click

from ._escape import escape
from ._suppress import run_suppressions
from .config import validate_selectors
from .readers import skipped_files, why_unread

__all__ = ["lint_options", "merge_selection", "note_skipped", "note_suppressions", "split_csv",
           "statistics"]


def lint_options(fn: Callable) -> Callable:
    """The options ruff users look for, on a command."""
    for deco in reversed([
        click.option("--extend-select", multiple=True,
                     help="Rules to enable in addition to those selected (as --select)."),
        click.option("--extend-ignore", multiple=True,
                     help="Rules to disable in addition to those ignored (as --ignore)."),
        click.option("--statistics", is_flag=True,
                     help="Print the number of findings per rule instead of the findings."),
        click.option("--exit-zero", is_flag=True,
                     help="Exit 0 even when findings reach --fail-on (2 still means unusable input)."),
    ]):
        fn = deco(fn)
    return fn


def split_csv(values: tuple[str, ...]) -> list[str] | None:
    """``--select A,B --select C`` -> ``[A, B, C]``; None when none was given."""
    out = [x.strip() for v in values for x in v.split(",") if x.strip()]
    return out or None


def merge_selection(cfg: Any, rules: list, select: tuple[str, ...], ignore: tuple[str, ...],
                    extend_select: tuple[str, ...], extend_ignore: tuple[str, ...]) -> Any:
    """``cfg`` with the command line's selectors: --select/--ignore replace the file's,
    --extend-select/--extend-ignore add to them. Each flag's selectors are checked
    against ``rules`` under the flag's own name, so a typo is not blamed on the file."""
    given = {"--select": split_csv(select), "--ignore": split_csv(ignore),
             "--extend-select": split_csv(extend_select) or [],
             "--extend-ignore": split_csv(extend_ignore) or []}
    for flag, sels in given.items():
        validate_selectors(sels or [], rules, flag)
    return cfg.merged(select=given["--select"], ignore=given["--ignore"],
                      extend_select=[*cfg.extend_select, *given["--extend-select"]],
                      extend_ignore=[*cfg.extend_ignore, *given["--extend-ignore"]])


def statistics(report: Any, fmt: str) -> str:
    """Findings counted per rule, most frequent first (``ruff --statistics``)."""
    first = {}
    for f in report.findings:
        first.setdefault(f.rule, f)
    counts = Counter(f.rule for f in report.findings)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt == "json":
        return json.dumps([{"code": code, "name": first[code].name, "severity": first[code].severity,
                            "count": n} for code, n in rows], indent=2) + "\n"
    if not rows:
        return ""
    w = max(len(str(n)) for _, n in rows)
    return "".join(f"{n:>{w}}\t{code}\t{first[code].severity:<7}\t{first[code].name}\n"
                   for code, n in rows)


def note_suppressions(report: Any, verbose: bool) -> None:
    """Add each run's ``diagnose-ignore`` entries to its notes: those honoured under
    --verbose, those without a reason (not honoured) always."""
    for run in report.runs:
        for s in run_suppressions(run.path):
            if s.valid and verbose:
                run.warnings.append(f"ignored here: {s.selector} ({s.reason}) [{s.source}]")
            elif not s.valid:
                run.warnings.append(f"not honoured: {s.selector} has no reason [{s.source}]; "
                                    "write why it is ignored")


#: files named (with why each was not read) when nothing under the paths was read
MAX_UNREAD_SHOWN = 10


def note_unread(paths: Any, every: bool = False) -> None:
    """When nothing was read: name each file that was looked at and not read, with the reason
    (a text log that prints numbers without names is told so), before the error line; the
    first ``MAX_UNREAD_SHOWN`` of them, or ``every`` one (``--verbose``)."""
    unread = skipped_files(paths)
    shown = unread if every else unread[:MAX_UNREAD_SHOWN]
    for p in shown:
        click.echo(f"diagnose: not read: {escape(str(p))}: {why_unread(p)}", err=True)
    if len(unread) > len(shown):
        click.echo(f"diagnose: not read: {len(unread) - len(shown)} more file(s) "
                   "(--verbose lists them)", err=True)


def note_skipped(paths: Any) -> None:
    """Under --verbose: the files under ``paths`` that no reader knows (on stderr)."""
    for p in skipped_files(paths):
        click.echo(f"diagnose: skipped (not a log format diagnose reads): {p}", err=True)
