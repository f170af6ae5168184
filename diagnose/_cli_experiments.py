"""`diagnose sweep`, `card` and `demo`: thin wrappers over :func:`diagnose.pipeline.sweep`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

import click

from . import _chapter as chapter
from . import pipeline
from ._cli_lint import note_unread
from ._errors import ConfigError, RuleError
from ._escape import encodable, escape, escape_output, markdown_inline
from .cli import EXIT_USAGE, fail
from .config import load_config
from .report import render
from .report.sweep import render as render_sweep
from .sweeps import CARD_FIELDS

SWEEP_FORMATS = ["text", "markdown", "csv", "json"]


def _common(fn):
    """Options shared by `sweep` and `card`."""
    for deco in reversed([
        click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path)),
        click.option("--by", help="Selection metric [default: val/loss, or [tool.diagnose] by]."),
        click.option("--mode", type=click.Choice(["min", "max"]),
                     help="Whether lower or higher --by is better [default: from the name]."),
        click.option("--at", type=click.Choice(["final", "best"]),
                     help="Compare each run's final value (last evaluation) or its best step "
                          "(only when its checkpoint was kept) [default: final, or [tool.diagnose] at]."),
        click.option("--group-by", multiple=True,
                     help="Read params from run paths: 'lr=*/seed=*' or a regex with named groups."),
        click.option("--config", "config_path",
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="pyproject.toml to read [tool.diagnose] from [default: nearest]."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write to FILE instead of stdout."),
    ]):
        fn = deco(fn)
    return fn


def _run_sweep(paths: Sequence[Path], by: str | None, mode: str | None, at: str | None,
               group_by: Sequence[str], config_path: Path | None, *, shown: bool = False):
    """The sweep of ``paths``; unreadable inputs go to stderr unless ``shown`` (the text
    report on stdout lists them already: once is enough)."""
    try:
        cfg = load_config(config_path)
        result = pipeline.sweep(paths, by=by or cfg.by, mode=mode or cfg.mode,
                                group_by=list(group_by) or None, config=cfg, at=at)
    except (ConfigError, RuleError, ValueError) as e:
        fail(str(e))
    for err in [] if shown else result.errors:
        click.echo(f"diagnose: unreadable: {escape(err)}", err=True)
    if not result.runs:
        note_unread(paths)
        fail("no training runs found under " + ", ".join(map(str, paths)))
    return result


def _card_cell(value: Any) -> str:
    return markdown_inline(str(value)).replace("|", "\\|").replace("\n", " ")


def _emit(text: str, output: Path | None, fmt: str = "text") -> None:
    # run ids and params come from the logs: no control character reaches a terminal or
    # a document (JSON escapes them itself), and no lone surrogate breaks the write
    text = encodable(text) if fmt in ("json", "csv") else escape_output(text)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.command()
@_common
@click.option("--format", "fmt", type=click.Choice(SWEEP_FORMATS), default="text",
              show_default=True, help="csv is the reusable experiment log.")
def sweep(paths, by, mode, at, group_by, config_path, output, fmt) -> None:
    """Compare runs: experiment table, best setting, decision and next experiment."""
    result = _run_sweep(paths, by, mode, at, group_by, config_path,
                        shown=fmt == "text" and output is None)
    _emit(render_sweep(result, fmt), output, fmt)
    if result.errors:
        raise click.exceptions.Exit(EXIT_USAGE)


@click.command()
@_common
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
def card(paths, by, mode, at, group_by, config_path, output, fmt) -> None:
    """Print the tuning decision card of the runs under PATHS."""
    import json

    result = _run_sweep(paths, by, mode, at, group_by, config_path)
    if fmt == "json":
        text = json.dumps({"decision": result.decision, "card": result.card}, indent=2) + "\n"
    elif fmt == "markdown":
        text = "\n".join(["| Decision card | |", "|---|---|"]
                         + [f"| **{k}** | {_card_cell(result.card[k])} |" for k in CARD_FIELDS]
                         + ["", "**Decision:** " + result.decision.replace("\n", "  \n")]) + "\n"
    else:
        w = max(map(len, CARD_FIELDS))
        text = "\n".join([f"{k.ljust(w)}  {result.card[k]}" for k in CARD_FIELDS]
                         + ["", result.decision]) + "\n"
    _emit(text, output, fmt)
    if result.errors:
        raise click.exceptions.Exit(EXIT_USAGE)


# ---------------------------------------------------------------------------------------
# demo: the chapter's sweep, recorded, checked and compared
# ---------------------------------------------------------------------------------------
def _floats(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(v <= 0 for v in vals):
        raise click.BadParameter("learning rates must be positive numbers")
    return vals


def seed_table(rows: Sequence[Any]) -> str:
    """The chapter's table with a seed column, per-lr means, and the best lr by mean val_loss."""
    import statistics

    lines = ["lr_sweep"]
    for r in rows:
        lines.append(f"lr={r.lr:g} seed={r.seed} train_loss={r.train_loss:.3f} "
                     f"val_loss={r.val_loss:.3f} val_acc={r.val_acc:.3f}")
    lines.append("mean ± std over seeds")
    means: dict[float, float] = {}
    for lr in dict.fromkeys(r.lr for r in rows):
        vl = [r.val_loss for r in rows if r.lr == lr]
        va = [r.val_acc for r in rows if r.lr == lr]
        means[lr] = statistics.fmean(vl)
        lines.append(f"lr={lr:g} seeds={len(vl)} val_loss={means[lr]:.3f}±{statistics.stdev(vl):.3f} "
                     f"val_acc={statistics.fmean(va):.3f}±{statistics.stdev(va):.3f}")
    lines.append(f"best_lr: {min(means, key=means.get)}")
    return "\n".join(lines)


def best_lr(rows: Sequence[Any]) -> float:
    """The chapter's choice: the lowest final validation loss (mean over seeds)."""
    by_lr: dict[float, list[float]] = {}
    for r in rows:
        by_lr.setdefault(r.lr, []).append(r.val_loss)
    return min(by_lr, key=lambda lr: sum(by_lr[lr]) / len(by_lr[lr]))


def budget_note(steps: int, best: float, ref_steps: int, ref_best: float) -> str:
    """Exercise 2: does the best learning rate depend on the training budget?"""
    verdict = ("changed with the budget: short budgets favour settings that start fast, so "
               "compare settings at the budget you will train with"
               if best != ref_best else "did not change with the budget")
    return (f"Budget: with {steps} steps the best lr is {best}; with {ref_steps} steps "
            f"it is {ref_best}. The best lr {verdict}.")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--lrs", default=None, metavar="LR,LR,...",
              help="Learning rates [default: the chapter's 0.001,0.01,0.1,1,10].")
@click.option("--steps", type=click.IntRange(1, 100_000), default=None,
              help="Full-batch training steps per run [default: 40].")
@click.option("--seeds", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Seeds per lr (123, 124, ...).")
def demo(directory, lrs, steps, seeds) -> None:
    """Train the chapter's lr sweep, print its table, the findings, the sweep and the card.

    Runs are recorded under DIRECTORY (default: a new temporary folder), so
    `diagnose check DIRECTORY` and `diagnose sweep DIRECTORY` work afterwards.
    """
    try:
        import torch
    except ImportError:
        fail("the demo trains with PyTorch: pip install 'diagnose[torch]'")
    lr_list = _floats(lrs) if lrs else list(chapter.CHAPTER_LRS)
    n_steps = steps or chapter.CHAPTER_STEPS
    seed_list = [chapter.MODEL_SEED + i for i in range(seeds)]
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="diagnose-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        fail(f"{directory}: not empty; the demo records new runs, choose an empty or new folder")
    # A tiny model: one thread is fastest and avoids oversubscribing shared machines.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = chapter.train_chapter_sweep(directory, lr_list, n_steps, seed_list)
        click.echo(chapter.chapter_table(rows) if seeds == 1 else seed_table(rows))
        if n_steps != chapter.CHAPTER_STEPS:
            with tempfile.TemporaryDirectory(prefix="diagnose-demo-ref-") as ref:
                ref_rows = chapter.train_chapter_sweep(ref, lr_list, chapter.CHAPTER_STEPS,
                                                       seed_list)
            click.echo("")
            click.echo(budget_note(n_steps, best_lr(rows), chapter.CHAPTER_STEPS,
                                   best_lr(ref_rows)))
    finally:
        torch.set_num_threads(threads)

    report = pipeline.check([directory])
    click.echo(f"\nRuns recorded under {directory}\n")
    click.echo("Findings")
    click.echo("========")
    click.echo(render(report, "text"))
    result = pipeline.sweep(report.runs, findings=report.findings, summaries=report.summaries)
    click.echo("Sweep")
    click.echo("=====")
    click.echo(render_sweep(result, "text"))
    click.echo(f"Next: diagnose sweep {directory}  (or --format markdown|csv|json)")
