"""`diagnose check`, `rules`, `explain`, `features`: thin wrappers over the engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ._errors import ConfigError, RuleError
from ._escape import encodable, escape
from .cli import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, ensure_parent, fail

FORMAT_CHOICES = ["text", "json", "markdown", "github", "junit", "sarif"]


def _csv(values: tuple[str, ...]) -> list[str] | None:
    out = [x.strip() for v in values for x in v.split(",") if x.strip()]
    return out or None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--select", multiple=True, help="Rules to enable: codes, prefixes, names, tags or ALL.")
@click.option("--ignore", multiple=True, help="Rules to disable (same selectors; wins ties).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]),
              help="Exit 1 when a finding at or above this severity exists [default: warning].")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.diagnose] from [default: nearest].")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Rule files or folders to use instead of the shipped set.")
@click.option("--by", help="Selection metric for group rules [default: val/loss].")
@click.option("--mode", type=click.Choice(["min", "max"]), help="Whether lower or higher --by is better.")
@click.option("--group-by", multiple=True, help="Group runs by path pattern, e.g. 'lr=*/seed=*'.")
@click.option("--skip-unreadable", is_flag=True, help="Do not exit 2 because some input was unreadable.")
@click.option("-v", "--verbose", is_flag=True, help="Show metric-name mapping and reader notes.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes that read and analyse runs; 0: one per CPU (used from 8 runs up), "
                   "1: this process only.")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run the per-run work on this Dask scheduler (tcp://host:8786); the workers "
                   "read PATHS themselves. Needs diagnose[dask].")
def check(paths, select, ignore, fail_on, fmt, output, config_path, rules_paths, by, mode,
          group_by, skip_unreadable, verbose, quiet, jobs, dask_address) -> None:
    """Check training runs under PATHS and report findings (exit 1 when any reach --fail-on).

    PATHS may be folders, log files or URLs (s3://..., gs://...; needs fsspec and its backend).
    """
    from ._progress import Progress
    from .config import load_config
    from .engine import check as run_check
    from .report import render
    from .rules import load_rules

    try:
        cfg = load_config(config_path)
        cfg = cfg.merged(select=_csv(select), ignore=_csv(ignore), fail_on=fail_on)
        rules = load_rules(rules_paths or None)
    except (ConfigError, RuleError) as e:
        fail(str(e))
    client = _dask_client(dask_address) if dask_address else None
    try:
        report = run_check(list(paths), rules, cfg, by=by, mode=mode,
                           group_by=list(group_by) or None, executor=client,
                           jobs=None if client else jobs, keep_metrics=False,
                           progress=Progress(enabled=False if quiet else None))
    except (ConfigError, RuleError) as e:
        fail(str(e))
    finally:
        if client is not None:
            client.close()
    color = fmt == "text" and output is None and sys.stdout.isatty()
    text = render(report, fmt, color=color, verbose=verbose)
    if output:
        try:
            ensure_parent(output)
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            fail(f"{output}: cannot write: {e.strerror or e}")
    else:
        click.echo(text, nl=not text.endswith("\n"))
    if fmt == "github" and os.environ.get("GITHUB_ACTIONS") == "true":
        _github_extras(report)
    for note in report.notes:
        click.echo(f"diagnose: skipped: {escape(note)}", err=True)
    # the text report on stdout lists unreadable inputs already: once is enough
    for err in [] if fmt == "text" and output is None else report.errors:
        click.echo(f"diagnose: unreadable: {escape(err)}", err=True)
    if not report.runs and not report.errors:
        fail("no training runs found under " + ", ".join(map(str, paths)))
    if report.errors and not skip_unreadable:
        raise click.exceptions.Exit(EXIT_USAGE)
    blocking = report.at_or_above(cfg.fail_on)
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


def _github_extras(report) -> None:
    """On GitHub Actions: annotations to stderr, summary appended to $GITHUB_STEP_SUMMARY."""
    from .report import render

    try:
        from .report.github import step_summary
    except ImportError:  # formatter not available
        return
    click.echo(render(report, "github"), err=True)
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(encodable(step_summary(report)))


@click.command("rules")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
def rules_cmd(rules_paths) -> None:
    """List the rules: code, name, pattern, severity, tags."""
    from .rules import load_rules

    try:
        rules = load_rules(rules_paths or None)
    except RuleError as e:
        fail(str(e))
    w = max((len(r.name) for r in rules), default=4)
    for r in rules:
        flag = "" if r.live else " (end only)"
        click.echo(f"{r.code}  {r.name:<{w}}  {r.severity:<7}  {r.pattern:<22} {', '.join(r.tags)}{flag}")


@click.command()
@click.argument("code")
@click.option("--rules", "rules_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
def explain(code, rules_paths) -> None:
    """Print a rule's documentation and parameters (by code or name)."""
    from .rules import load_rules

    try:
        rules = load_rules(rules_paths or None)
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
    from .readers import FORMATS

    for name, mod in FORMATS:
        import importlib

        doc = (importlib.import_module(mod).__doc__ or "").strip().splitlines()
        click.echo(f"{name:<14} {doc[0] if doc else ''}")
