"""The terminal report: per run, each finding with its numbers, cause and next experiment.

Deterministic (snapshot tests pin it) and free of trailing whitespace; ANSI colour only
when the caller asks (the CLI passes ``color=sys.stdout.isatty()``). The small helpers
here (``sorted_findings``, ``steps_label``, ``detail_lines``, ...) are shared
by the other formatters so every format says the same thing the same way.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Iterable

from .._escape import escape_output
from ..findings import Finding, Group, Report
from ..readers import SIGNED_NOTE
from ..run import JUDGED_METRICS, Run

__all__ = [
    "detail_lines",
    "findings_by_owner",
    "plural",
    "render",
    "sorted_findings",
    "steps_label",
    "summary_line",
]

#: More clean runs than this are listed on one ``clean:`` line instead of one line each.
COMPACT_CLEAN_AFTER = 10
#: Reader warnings shown per run without ``verbose``.
MAX_WARNINGS = 3
WIDTH = 100

_RESET = "\x1b[0m"
_STYLES = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
    "ok": "\x1b[32m",
}
_SEV_WIDTH = max(len(s) for s in ("error", "warning", "info"))


# -- shared helpers --------------------------------------------------------------------------
def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by rule code and run: the order every format uses."""
    return sorted(findings, key=lambda f: f.sort_key())


def steps_label(steps: tuple[int, int] | None, *, word: bool = True) -> str:
    """``"steps 3-5"`` / ``"step 3"`` (or ``"3-5"`` / ``"3"`` without ``word``); ``""`` if None."""
    if steps is None:
        return ""
    a, b = int(steps[0]), int(steps[1])
    if a == b:
        return f"step {a}" if word else str(a)
    return f"steps {a}-{b}" if word else f"{a}-{b}"


def plural(n: int, word: str) -> str:
    """``"1 run"``, ``"2 runs"``; ``info`` never takes an s."""
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def findings_by_owner(report: Report) -> tuple[dict[str, list[Finding]], dict[str, list[Finding]]]:
    """Sorted findings split into per-run and per-group (``""`` = across runs, no group)."""
    per_run: dict[str, list[Finding]] = {}
    per_group: dict[str, list[Finding]] = {}
    for f in sorted_findings(report.findings):
        if f.run is not None:
            per_run.setdefault(f.run, []).append(f)
        else:
            per_group.setdefault(f.group or "", []).append(f)
    return per_run, per_group


def detail_lines(f: Finding) -> list[str]:
    """What follows a finding's message in plain-text bodies: members, cause, next."""
    lines = []
    if f.run is None and f.runs:
        lines.append(f"runs: {', '.join(f.runs)}")
    if f.cause:
        lines.append(f"cause: {f.cause}")
    if f.next_experiment:
        lines.append(f"next: {f.next_experiment}")
    return lines


def _judged(run: Run) -> bool:
    """Whether the run logs any loss or accuracy the rules read (a run that logs none gets
    its own note, not a list of the patterns it could not be checked for)."""
    return bool(set(run.metric_names) & set(JUDGED_METRICS))


def unchecked_phrase(lacking: dict[str, list[str]]) -> str:
    """``"generalization_gap, late_overfitting (no val/loss)"``: the patterns no rule could
    judge on a run, grouped by the metrics they lacked."""
    by_missing: dict[tuple[str, ...], list[str]] = {}
    for pattern, metrics in lacking.items():
        by_missing.setdefault(tuple(metrics), []).append(pattern)
    return "; ".join(f"{', '.join(ps)} (no {' or '.join(m)})" for m, ps in sorted(by_missing.items()))


def _unchecked_summary(partial: dict[str, dict[str, list[str]]]) -> str:
    """The patterns some runs could not be checked for, each once, for the summary line."""
    merged: dict[str, set[str]] = {}
    for lacking in partial.values():
        for pattern, metrics in lacking.items():
            merged.setdefault(pattern, set()).update(metrics)
    return unchecked_phrase({p: sorted(m) for p, m in sorted(merged.items())})


#: how to check the chance level of runs that record no number of classes (said once)
CLASSES_HINT = ("hint: `--num-classes K` (or `num-classes = K` in [tool.diagnose]) checks the "
                "chance level (ln K) of runs that record no number of classes")


def summary_line(report: Report) -> str:
    """ruff-style closing line; counts come from the report itself."""
    n_runs = plural(len(report.runs), "run")
    unreadable = (
        f"; {plural(len(report.errors), 'input')} could not be read" if report.errors else ""
    )
    empty = sum(1 for r in report.runs if not r.n_steps)
    if empty:  # a run with nothing in it was not checked: never "passed"
        unreadable += f"; {plural(empty, 'run')} had no usable steps (nothing checked)"
    # nor was a run whose metrics hold no loss or accuracy the rules read (see its note)
    blind = sum(1 for r in report.runs if r.n_steps and not _judged(r))
    if blind:
        unreadable += (f"; {plural(blind, 'run')} had no loss or accuracy diagnose recognises "
                       "(not checked: see the note)")
    # a loss below zero breaks the ratios the loss rules read: its silence is no pass
    signed = sum(1 for r in report.runs if any(SIGNED_NOTE in w for w in r.warnings))
    if signed:
        unreadable += (f"; {plural(signed, 'run')} logged a loss below zero (verdicts not "
                       "reliable: see the note)")
    # nor a run of a single logged step: there is no curve to judge, only the values at that step
    single = sum(1 for r in report.runs if r.n_steps == 1 and _judged(r))
    if single:
        unreadable += f"; {plural(single, 'run')} logged a single step (no curve to judge)"
    # nor a run that lacked what some checks need (no validation loss: no gap was looked for)
    partial = {r.id: report.unchecked[r.id] for r in report.runs
               if r.id in report.unchecked and _judged(r)}
    if partial:
        unreadable += f"; {plural(len(partial), 'run')} not checked for {_unchecked_summary(partial)}"
    if not report.findings:
        if not report.runs:
            return f"No runs checked{unreadable}."
        if report.errors or empty or blind or signed or single or partial:
            return f"No findings in {n_runs}{unreadable}."
        return f"All checks passed: {n_runs}, no findings."
    c = report.counts()
    parts = ", ".join(plural(c.get(s, 0), s) for s in ("error", "warning", "info"))
    return f"Found {plural(len(report.findings), 'finding')} ({parts}) in {n_runs}{unreadable}."


# -- rendering -------------------------------------------------------------------------------
class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        if not self.color or not text:
            return text
        return f"{_STYLES[style]}{text}{_RESET}"


def render(report: Report, *, color: bool = False, verbose: bool = False, **_: Any) -> str:
    """The report as terminal text, ending in one summary line."""
    paint = _Painter(color)
    per_run, per_group = findings_by_owner(report)
    out: list[str] = []
    clean: list[str] = []
    n_clean = sum(1 for r in report.runs if r.id not in per_run and not r.warnings)
    compact = not verbose and n_clean > COMPACT_CLEAN_AFTER

    for run in report.runs:
        found = per_run.pop(run.id, [])
        if found or run.warnings or verbose or not run.n_steps:
            _run_block(out, run, found, paint, verbose, lacking=report.unchecked.get(run.id))
        elif compact:
            clean.append(run.id)
        else:
            still = " (in progress)" if run.in_progress else ""  # judged on what is there so far
            if run.n_steps == 1:
                still += " (a single logged step: no curve to judge)"
            lacking = unchecked_phrase(report.unchecked.get(run.id, {}))
            lacking = paint("dim", f"; not checked: {lacking}") if lacking else ""
            out.append(f"{paint('bold', run.id)}: {paint('ok', 'ok')}{still}{lacking}")
    for run_id in sorted(per_run):  # findings naming a run the report does not hold
        _run_block(out, None, per_run[run_id], paint, verbose, run_id=run_id)
    if clean:
        head = f"clean ({len(clean)} runs): "
        wrapped = textwrap.wrap(
            ", ".join(clean), WIDTH, initial_indent=head, subsequent_indent="  ",
            break_on_hyphens=False, break_long_words=False,
        )
        wrapped[0] = paint("ok", head.rstrip()) + " " + wrapped[0][len(head):]
        out.extend([""] * bool(out) + wrapped)

    if per_group:
        out.append("")
        out.append(paint("bold", "across runs:"))
        groups = {g.id: g for g in report.groups}
        for gid in sorted(per_group):
            _group_block(out, gid, groups.get(gid), per_group[gid], paint, verbose)

    if report.errors:
        out.append("")
        out.append(paint("bold", "unreadable inputs:"))
        for msg in report.errors:
            out.extend(_indent(f"{paint('error', 'error')}: {msg}", "  ", "    "))

    if any("num_classes" in metrics for lacking in report.unchecked.values()
           for metrics in lacking.values()):
        out.extend([""] * bool(out) + [paint("dim", ln) for ln in textwrap.wrap(
            CLASSES_HINT, WIDTH, subsequent_indent="  ", break_on_hyphens=False)])
    if out:
        out.append("")
    out.append(paint("bold", summary_line(report)))
    text = "\n".join(line.rstrip() for line in out) + "\n"
    # run ids, paths, metric names and notes come from the logs: no control character of
    # theirs reaches the terminal (only the colour codes painted here)
    return escape_output(text, keep=(*_STYLES.values(), _RESET) if color else ())


def _run_block(
    out: list[str],
    run: Run | None,
    found: list[Finding],
    paint: _Painter,
    verbose: bool,
    run_id: str | None = None,
    lacking: dict[str, list[str]] | None = None,
) -> None:
    if out:
        out.append("")
    out.append(_run_header(run, run_id, paint))
    if run is not None and verbose and run.name_map:
        renames = ", ".join(f"{k} -> {v}" for k, v in sorted(run.name_map.items()))
        out.extend(_indent(f"metrics renamed: {renames}", "  ", "    ", paint, "dim"))
    for f in found:
        _finding_lines(out, f, paint, verbose)
    if run is not None:
        warnings = run.warnings if verbose else run.warnings[:MAX_WARNINGS]
        for w in warnings:
            out.extend(_indent(f"note: {w}", "  ", "    ", paint, "dim"))
        hidden = len(run.warnings) - len(warnings)
        if hidden:
            more = f"... and {plural(hidden, 'more reader warning')} (--verbose shows them)"
            out.append("  " + paint("dim", more))
    if not found and run is not None and not run.n_steps:
        out.append("  " + paint("dim", "not checked: no usable steps"))
        return
    if lacking and run is not None and _judged(run):
        out.extend(_indent(f"not checked: {unchecked_phrase(lacking)}", "  ", "    ", paint, "dim"))
    elif not found and verbose and run is not None and run.warnings:
        # not a plain "ok": the notes say what the log lacks (dropped records, torn lines)
        out.append("  " + paint("dim", "no findings in what could be read (see the notes)"))
    elif not found and verbose:
        out.append("  " + paint("ok", "ok"))


def _run_header(run: Run | None, run_id: str | None, paint: _Painter) -> str:
    if run is None:
        return paint("bold", str(run_id))
    bits = [run.format, plural(run.n_steps, "step")]
    if run.epoch_axis:
        bits.append("one per epoch")
    if run.in_progress:
        bits.append("in progress")
    where = f"  {run.path}" if run.path and run.path != run.id else ""
    return f"{paint('bold', run.id)}{where}  ({', '.join(bits)})"


def _group_block(
    out: list[str], gid: str, group: Group | None, found: list[Finding], paint: _Painter,
    verbose: bool,
) -> None:
    members = list(group.runs) if group is not None else sorted({r for f in found for r in f.runs})
    if group is not None:
        detail = group.kind
        if group.varying:
            detail += f", varying {', '.join(group.varying)}"
        head = f"  group {paint('bold', gid)} ({detail})"
    else:
        head = f"  {paint('bold', gid)}" if gid else "  " + paint("bold", "(no group)")
    out.append(head)
    if members:
        out.extend(
            textwrap.wrap(
                "runs: " + ", ".join(members), WIDTH, initial_indent="    ",
                subsequent_indent="      ", break_on_hyphens=False, break_long_words=False,
            )
        )
    for f in found:
        _finding_lines(out, f, paint, verbose, indent="    ")


def _finding_lines(
    out: list[str], f: Finding, paint: _Painter, verbose: bool, indent: str = "  "
) -> None:
    sev = paint(f.severity if f.severity in _STYLES else "bold", f.severity)
    pad = " " * (_SEV_WIDTH - len(f.severity)) if len(f.severity) < _SEV_WIDTH else ""
    where = steps_label(f.steps)
    head = f"{sev}{pad} {paint('bold', f.rule)} {f.name}"
    if where:
        head += f" ({where})"
    body_indent = indent + " " * (_SEV_WIDTH + 1)
    out.extend(_indent(f"{head}: {f.message}", indent, body_indent))
    if f.cause:
        out.extend(_indent(f"cause: {f.cause}", body_indent, body_indent + "  "))
    if f.next_experiment:
        out.extend(_indent(f"next:  {f.next_experiment}", body_indent, body_indent + "  "))
    if verbose and f.evidence:
        ev = ", ".join(f"{k}={_fmt(v)}" for k, v in f.evidence.items())
        out.extend(_indent(f"evidence: {ev}", body_indent, body_indent + "  ", paint, "dim"))


def _indent(
    text: str, first: str, rest: str, paint: _Painter | None = None, style: str = ""
) -> list[str]:
    """Multi-line text (messages may hold newlines) kept inside its column, styled per line."""
    lines = str(text).splitlines() or [""]
    if paint is not None:
        lines = [paint(style, ln) for ln in lines]
    return [first + lines[0]] + [rest + ln for ln in lines[1:]]


def _fmt(v: Any) -> str:
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):  # numpy scalars and arrays
        v = v.tolist()
    if isinstance(v, float):
        return repr(v) if not math.isfinite(v) else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)
