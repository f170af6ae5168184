"""`diagnose next`: the next runs after a comparison, one per line (thin over :mod:`diagnose.advice`)."""

from __future__ import annotations

import json
import string

import click

from ._cli_experiments import _common, _emit, _run_sweep
from .advice import command, sweep_next
from .cli import EXIT_USAGE, fail
from .findings import jsonable
from .grouping import fmt


@click.command("next")
@_common
@click.option("--cmd", "template", metavar="TEMPLATE",
              help="A command per run, e.g. 'python train.py --lr {lr} --seed {seed} "
                   "--out runs/lr={lr}/seed={seed}' (any param, {seed}, {steps}).")
@click.option("--format", "fmt_", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: the next experiments as data, for scripts.")
def next_cmd(paths, by, mode, at, group_by, config_path, output, template, fmt_) -> None:
    """Print the next runs the decision on the runs under PATHS asks for, one per line."""
    result = _run_sweep(paths, by, mode, at, group_by, config_path)
    entries = sweep_next(result)
    if fmt_ == "json":
        _emit(json.dumps(jsonable({"decision": result.decision, "next": entries}), indent=2,
                         allow_nan=False) + "\n", output, "json")
        return
    lines: list[str] = []
    if template:
        changed = sorted({k for e in entries for k in e.get("change", {})} - _names(template))
        if changed:
            click.echo(f"diagnose: warning: --cmd does not name {', '.join(changed)}, which the "
                       "next runs change", err=True)
    for e in entries:
        if e["kind"] != "rerun":
            lines.append(f"# {e['kind']}: {e.get('also', '')}".rstrip())
            continue
        if template:
            try:
                lines += command(template, e)
            except KeyError as err:
                names = sorted({*e.get("keep", {}), *e.get("change", {}), "seed", "steps"})
                fail(f"--cmd names {err} , which the next runs do not have "
                     f"(they have: {', '.join(names)})")
            except (ValueError, IndexError) as err:
                fail(f"--cmd is not a valid template: {err}")
        else:
            params = {**e.get("keep", {}), **e.get("change", {})}
            steps = e.get("budget", {}).get("steps")
            for seed in e.get("seeds") or [None]:
                lines.append(" ".join(f"{k}={fmt(v)}" for k, v in {
                    **params, "seed": seed, "steps": steps}.items() if v is not None))
    if not lines:
        click.echo("diagnose: no next runs: " + result.decision.replace("\n", " "), err=True)
        raise click.exceptions.Exit(EXIT_USAGE)
    _emit("\n".join(lines) + "\n", output)


def _names(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}
