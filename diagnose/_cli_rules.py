"""`diagnose rules [test]` and `diagnose features`: the commands for writing your own rules."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._errors import ConfigError, RuleError
from .cli import EXIT_FINDINGS, fail
from .config import load_config
from .features import FEATURES
from .features.catalog import CATALOG
from .rule_cases import run_cases
from .rules import SHIPPED_PREFIX, code_prefix, load_rules

_RULES_OPT = click.option("--rules", "rules_paths", multiple=True,
                          type=click.Path(exists=True, path_type=Path),
                          help="Rule files or folders to use instead of the shipped set.")
EXTEND_OPTION = click.option("--extend-rules", "extend_paths", multiple=True,
                           type=click.Path(exists=True, path_type=Path),
                           help="Your own rule files or folders, added to the shipped set "
                                "(also `extend-rules = [...]` in [tool.diagnose]).")


def rule_set(cfg, rules_paths=(), extend_paths=()) -> list:
    """The rules a command uses: shipped (or --rules), plus the config's and the CLI's own rules."""
    extend = [*getattr(cfg, "extend_rules", []), *extend_paths]
    return load_rules(list(rules_paths) or None, extend=extend)


def config_or_fail(config_path):
    try:
        return load_config(config_path)
    except ConfigError as e:
        fail(str(e))


@click.group("rules", invoke_without_command=True)
@_RULES_OPT
@EXTEND_OPTION
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.diagnose] from [default: nearest].")
@click.pass_context
def rules_cmd(ctx, rules_paths, extend_paths, config_path) -> None:
    """List the rules: code, name, pattern, severity, tags. `diagnose rules test` runs their cases."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        rules = rule_set(config_or_fail(config_path), rules_paths, extend_paths)
    except RuleError as e:
        fail(str(e))
    w = max((len(r.name) for r in rules), default=4)
    for r in rules:
        flag = "" if r.live else " (end only)"
        click.echo(f"{r.code}  {r.name:<{w}}  {r.severity:<7}  {r.pattern:<22} {', '.join(r.tags)}{flag}")


@rules_cmd.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml whose extend-rules are tested when no PATHS are given.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failing cases and the summary.")
def rules_test(paths, config_path, quiet) -> None:
    """Run every inline [[cases]] of the rules in PATHS (default: the shipped and the project's own).

    Prints PASS/FAIL per case, like `semgrep --test`; exits 1 when a case fails.
    """
    try:
        if paths:
            rules = load_rules(paths)
            if not any(code_prefix(r.code).startswith(SHIPPED_PREFIX) for r in rules):
                load_rules(extend=paths)  # a project's own rules: codes checked against the shipped
        else:
            rules = rule_set(config_or_fail(config_path))
    except RuleError as e:
        fail(str(e))
    results = run_cases(rules)
    failed = [r for r in results if not r.ok]
    for res in results:
        if res.ok and quiet:
            continue
        mark = "PASS" if res.ok else "FAIL"
        line = f"{mark}  {res.rule.code} {res.rule.name}  case {res.name!r} (expect {res.expect})"
        click.echo(line + ("" if res.ok else f": {res.reason}  [{res.rule.path}]"))
    no_cases = [r for r in rules if not r.cases]
    for r in no_cases:
        click.echo(f"note: {r.code} {r.name} has no [[cases]]  [{r.path}]")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed "
               f"({len(rules)} rule(s), {len(results)} case(s))")
    if failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


@click.command("features")
@click.option("--output-format", "--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--scope", type=click.Choice(["run", "group"]), help="Only names of this scope.")
def features_cmd(fmt, scope) -> None:
    """List the names a rule's condition and message can use: name, unit, scope, doc."""
    rows = [{"name": n, "unit": CATALOG.get(n, ("", ""))[0], "scope": spec.scope,
             "doc": CATALOG.get(n, ("", spec.doc))[1] or spec.doc}
            for n, spec in FEATURES.items()]
    rows.append({"name": "run_count", "unit": CATALOG["run_count"][0], "scope": "group",
                 "doc": CATALOG["run_count"][1]})
    rows = sorted((r for r in rows if scope in (None, r["scope"])), key=lambda r: (r["scope"] != "run",
                                                                                    r["name"]))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    w = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{w}}  {r['unit']:<8}  {r['scope']:<5}  {r['doc']}")
