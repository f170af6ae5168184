"""`diagnose check`, `explain`, `formats`: thin wrappers over the pipeline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import pipeline
from ._cli_lint import (
    lint_options,
    merge_selection,
    note_skipped,
    note_suppressions,
    note_unread,
)
from ._cli_lint import statistics as lint_statistics
from ._cli_rules import EXTEND_OPTION, config_or_fail, rule_set
from ._errors import ConfigError, RuleError
from ._escape import encodable, escape
from ._locate import finding_locator
from ._progress import Progress
from .cli import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, ensure_parent, fail
from .config import load_config
from .readers import FORMATS
from .report import render
from .report.github import step_summary

FORMAT_CHOICES = ["text", "json", "markdown", "github", "junit", "sarif"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--select", multiple=True, help="Rules to enable: codes, prefixes, names, tags or ALL.")
@click.option("--ignore", multiple=True, help="Rules to disable (same selectors; wins ties).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]),
              help="Exit 1 when a finding at or above this severity exists [default: warning].")
@click.option("--output-format", "--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="text",
              show_default=True)
@lint_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.diagnose] from [default: nearest].")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Rule files or folders to use instead of the shipped set.")
@EXTEND_OPTION
@click.option("--by", help="Selection metric for group rules [default: val/loss].")
@click.option("--mode", type=click.Choice(["min", "max"]), help="Whether lower or higher --by is better.")
@click.option("--group-by", multiple=True, help="Group runs by path pattern, e.g. 'lr=*/seed=*'.")
@click.option("--num-classes", type=click.IntRange(min=2), metavar="K",
              help="Number of classes of runs that record none: their chance level (ln K) is "
                   "checked against it.")
@click.option("--skip-unreadable", is_flag=True, help="Do not exit 2 because some input was unreadable.")
@click.option("-v", "--verbose", is_flag=True, help="Show metric-name mapping and reader notes.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes that read and analyse runs; 0: one per CPU (used from 8 runs up), "
                   "1: this process only.")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run the per-run work on this Dask scheduler (tcp://host:8786); the workers "
                   "read PATHS themselves. Needs diagnose[dask].")
def check(paths, select, ignore, fail_on, fmt, extend_select, extend_ignore, statistics, exit_zero,
          output, config_path, rules_paths, extend_paths, by, mode, group_by, num_classes,
          skip_unreadable, verbose, quiet, jobs, dask_address) -> None:
    """Check training runs under PATHS and report findings (exit 1 when any reach --fail-on).

    PATHS may be folders, log files or URLs (s3://..., gs://...; needs fsspec and its backend).
    """
    try:
        cfg = load_config(config_path).merged(fail_on=fail_on, num_classes=num_classes)
        rules = rule_set(cfg, rules_paths, extend_paths)
        cfg = merge_selection(cfg, rules, select, ignore, extend_select, extend_ignore)
    except (ConfigError, RuleError) as e:
        fail(str(e))
    client = _dask_client(dask_address) if dask_address else None
    try:
        report = pipeline.check(list(paths), rules, cfg, by=by, mode=mode,
                           group_by=list(group_by) or None, executor=client,
                           jobs=None if client else jobs, keep_metrics=False,
                           progress=Progress(enabled=False if quiet else None))
    except (ConfigError, RuleError) as e:
        fail(str(e))
    finally:
        if client is not None:
            client.close()
    note_suppressions(report, verbose)
    if verbose and report.runs:  # with nothing read, note_unread below names them with why
        note_skipped(paths)
    color = fmt == "text" and output is None and sys.stdout.isatty()
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    extra = {}
    if fmt == "github" and in_actions:

        extra["where"] = finding_locator(report)
    text = (lint_statistics(report, fmt) if statistics
            else render(report, fmt, color=color, verbose=verbose, **extra))
    if output:
        try:
            ensure_parent(output)
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            fail(f"{output}: cannot write: {e.strerror or e}")
    elif report.runs or fmt != "text":  # with nothing read, the messages below say it all
        click.echo(text, nl=not text.endswith("\n"))
    if fmt == "github" and in_actions and not statistics:
        _github_extras(report, text if output else None)
    for note in report.notes:
        click.echo(f"diagnose: skipped: {escape(note)}", err=True)
    if output or fmt != "text" or not report.runs:  # else the text report lists them
        for err in report.errors:
            click.echo(f"diagnose: unreadable: {escape(err)}", err=True)
    if not report.runs and not report.errors:
        note_unread(paths, every=verbose)
        fail("no training runs found under " + ", ".join(map(str, paths)))
    if not report.runs and skip_unreadable:
        fail("nothing was checked: every input was unreadable (--skip-unreadable skips "
             "unreadable inputs only when others were read)")
    if report.errors and not skip_unreadable:
        raise click.exceptions.Exit(EXIT_USAGE)
    blocking = [] if exit_zero else report.at_or_above(cfg.fail_on)
    raise click.exceptions.Exit(EXIT_FINDINGS if blocking else EXIT_CLEAN)


def _dask_client(address: str):
    """A ``distributed.Client`` for ``--dask``, or a clear exit-2 message."""
    try:
        from distributed import Client
    except ImportError:
        fail("--dask needs Dask: pip install 'diagnose[dask]'")
    try:
        return Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as e:
        fail(f"--dask {address}: cannot reach the scheduler ({e})")


def _github_extras(report, annotations: str | None) -> None:
    """On GitHub Actions: the summary appended to $GITHUB_STEP_SUMMARY.

    ``annotations``: when the report went to a file, printed on stdout so the runner sees
    them (once: stdout and stderr are both read for workflow commands).
    """
    if annotations:
        click.echo(annotations, nl=not annotations.endswith("\n"))
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(encodable(step_summary(report)))


@click.command()
@click.argument("code")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
@EXTEND_OPTION
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.diagnose] from [default: nearest].")
def explain(code, rules_paths, extend_paths, config_path) -> None:
    """Print a rule's documentation and parameters (by code or name)."""
    try:
        rules = rule_set(config_or_fail(config_path), rules_paths, extend_paths)
    except RuleError as e:
        fail(str(e))
    for r in rules:
        if code in (r.code, r.name):
            click.echo(r.explain(), nl=False)
            return
    fail(f"no rule {code!r}; `diagnose rules` lists them")


@click.command()
def formats() -> None:
    """List the log formats diagnose reads."""

    for name, mod in FORMATS:
        import importlib

        doc = (importlib.import_module(mod).__doc__ or "").strip().splitlines()
        click.echo(f"{name:<14} {doc[0] if doc else ''}")
