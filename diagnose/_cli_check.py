"""`diagnose check`, `rules`, `explain`, `features`: thin wrappers over the engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ._errors import ConfigError, RuleError
from .cli import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, ensure_parent, fail

FORMAT_CHOICES = ["text", "json", "markdown", "github", "junit", "sarif"]


def _csv(values: tuple[str, ...]) -> list[str] | None:
    out = [x.strip() for v in values for x in v.split(",") if x.strip()]
    return out or None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
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
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def check(paths, select, ignore, fail_on, fmt, output, config_path, rules_paths, by, mode,
          group_by, skip_unreadable, verbose, quiet) -> None:
    """Check training runs under PATHS and report findings (exit 1 when any reach --fail-on)."""
    from .config import load_config
    from .engine import check as run_check
    from .report import render
    from .rules import load_rules

    try:
        cfg = load_config(config_path)
        cfg = cfg.merged(select=_csv(select), ignore=_csv(ignore), fail_on=fail_on)
        rules = load_rules(rules_paths or None)
        report = run_check(paths, rules, cfg, by=by, mode=mode, group_by=list(group_by) or None)
    except (ConfigError, RuleError) as e:
        fail(str(e))
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
    for err in report.errors:
        click.echo(f"diagnose: unreadable: {err}", err=True)
    if not report.runs and not report.errors:
        fail("no training runs found under " + ", ".join(map(str, paths)))
    if report.errors and not skip_unreadable:
        raise click.exceptions.Exit(EXIT_USAGE)
    blocking = report.at_or_above(cfg.fail_on)
    raise click.exceptions.Exit(EXIT_FINDINGS if blocking else EXIT_CLEAN)


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
            f.write(step_summary(report))


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
