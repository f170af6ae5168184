"""`diagnose plot` and `diagnose report`: thin wrappers over report.plot and report.html.

`plot` needs matplotlib (the ``[plot]`` extra; without it, exit 2 with the install hint);
`report` draws its curves as inline SVG and needs no extra.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from . import pipeline
from ._cli_lint import note_unread
from ._cli_lint import split_csv as _csv
from ._errors import ConfigError, RuleError
from ._escape import escape
from .cli import EXIT_USAGE, ensure_parent, fail
from .config import load_config
from .report import render
from .report.plot import PlotUnavailable, require_matplotlib, run_figure, save_figure, sweep_figure

_IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def _need_matplotlib() -> None:
    try:
        require_matplotlib()
    except PlotUnavailable as e:
        fail(str(e))


def _plain_text() -> Any:
    """Labels drawn as they are: a run id or param like ``$\\foo{$`` is text, not
    matplotlib math (which fails on it, or recurses on a deep one). Without matplotlib
    (the report's curves are SVG) there is nothing to switch off."""
    try:
        import matplotlib
    except ImportError:
        return contextlib.nullcontext()
    return matplotlib.rc_context({"text.parse_math": False})


def _checked(paths: tuple[Path, ...], config_path: Path | None, select: tuple[str, ...],
             ignore: tuple[str, ...], by: str | None, mode: str | None,
             group_by: tuple[str, ...]) -> Any:
    """Read the runs and run the rules once: the report both commands draw from."""
    try:
        cfg = load_config(config_path).merged(select=_csv(select), ignore=_csv(ignore))
        return pipeline.check(paths, config=cfg, by=by, mode=mode, group_by=list(group_by) or None)
    except (ConfigError, RuleError) as e:
        fail(str(e))


def _input_errors(report: Any, paths: tuple[Path, ...], skip_unreadable: bool) -> bool:
    """Print unreadable inputs; True when they should make the command exit 2."""
    for note in report.notes:
        click.echo(f"diagnose: skipped: {escape(note)}", err=True)
    for err in report.errors:
        click.echo(f"diagnose: unreadable: {escape(err)}", err=True)
    if not report.runs:
        note_unread(paths)
        fail("no training runs found under " + ", ".join(map(str, paths)))
    return bool(report.errors) and not skip_unreadable


_common = [
    click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
                 help="pyproject.toml to read [tool.diagnose] from [default: nearest]."),
    click.option("--select", multiple=True, help="Rules to enable (as in `check`)."),
    click.option("--ignore", multiple=True, help="Rules to disable (as in `check`)."),
    click.option("--by", help="Selection metric for sweeps [default: val/loss]."),
    click.option("--mode", type=click.Choice(["min", "max"]), help="Whether lower or higher --by is better."),
    click.option("--group-by", multiple=True, help="Group runs by path pattern, e.g. 'lr=*/seed=*'."),
    click.option("--skip-unreadable", is_flag=True, help="Do not exit 2 because some input was unreadable."),
]


def _with_common(fn: Any) -> Any:
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Image to write: .png, .svg or .pdf.")
@click.option("--metric", "metrics", multiple=True,
              help="Metric to plot, one panel each (repeatable): val/f1, grad_norm, or loss for "
                   "both splits [default: loss, accuracy, learning rate].")
@click.option("--sweep", "as_sweep", is_flag=True,
              help="Draw the sweep plot: the metric against the swept param, and curves per setting.")
@click.option("--param", help="The swept param for --sweep [default: the one that varies].")
@click.option("--dpi", type=click.IntRange(30, 600), default=100, show_default=True)
@_with_common
def plot(runs, output, metrics, as_sweep, param, dpi, config_path, select, ignore, by, mode,
         group_by, skip_unreadable) -> None:
    """Plot RUNS (overlaid) with every finding drawn where it happens."""
    if output.suffix.lower() not in _IMAGE_SUFFIXES:
        fail(f"{output}: cannot tell the image format; end the name in .png, .svg or .pdf")
    _need_matplotlib()

    report = _checked(runs, config_path, select, ignore, by, mode, group_by)
    bad_input = _input_errors(report, runs, skip_unreadable)
    try:
        with _plain_text():
            if as_sweep or param:
                metric = metrics[0] if metrics else by
                fig = sweep_figure(report, param, metric, mode=mode)
            else:
                fig = run_figure(report.runs, report.findings, metrics=list(metrics) or None)
            ensure_parent(output)
            save_figure(fig, output, dpi=dpi)
    except ValueError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{output}: cannot write: {e.strerror or e}")
    n = len(report.runs)
    click.echo(f"wrote {output} ({n} run{'s' * (n != 1)}, {len(report.findings)} findings)", err=True)
    if bad_input:
        raise click.exceptions.Exit(EXIT_USAGE)


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write.")
@click.option("--title", default="diagnose report", show_default=True)
@click.option("--max-plots", type=click.IntRange(0), default=60, show_default=True,
              help="Plot at most this many runs (the most severe first); 0 for no run plots.")
@_with_common
def report_cmd(paths, output, title, max_plots, config_path, select, ignore, by, mode, group_by,
               skip_unreadable) -> None:
    """Write one self-contained HTML report of the runs under PATHS (opens from disk)."""

    report = _checked(paths, config_path, select, ignore, by, mode, group_by)
    bad_input = _input_errors(report, paths, skip_unreadable)
    with _plain_text():
        text = render(report, "html", title=title, max_plots=max_plots, plots=max_plots > 0)
    try:
        ensure_parent(output)
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"{output}: cannot write: {e.strerror or e}")
    click.echo(f"wrote {output} ({len(text) // 1024} KiB, {len(report.runs)} runs, "
               f"{len(report.findings)} findings)", err=True)
    if bad_input:
        raise click.exceptions.Exit(EXIT_USAGE)
