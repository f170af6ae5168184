"""`diagnose tune`: the chapter's tuning strategy as an autopilot, thin over :mod:`diagnose.tuner`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import _chapter as chapter
from .cli import fail
from .tuner import tune

#: The demo's search space: the chapter's toy task, its knobs in the chapter's order.
DEMO_SPACE = {"lr": (1e-3, 10.0), "batch_size": [180, 90, 45], "epochs": chapter.CHAPTER_STEPS,
              "weight_decay": [0.0, 1e-4, 1e-3]}
#: The chapter's model seed first, so the coarse sweep is the chapter's sweep.
DEMO_SEEDS = (chapter.MODEL_SEED, 1, 2)


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, required=True,
              help="Tune the chapter's toy task (the only task the command line can train; "
                   "for your own use diagnose.tune(train, space, budget)).")
@click.option("--budget", type=click.FloatRange(1, 10_000), default=15, show_default=True,
              help="Runs to spend (a run stopped early gives back the steps it did not use).")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Trials run in parallel in a process pool.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def tune_cmd(directory, demo, budget, jobs, fmt) -> None:
    """Tune by the chapter's strategy; write the experiment log and the decision card."""
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory}: not empty; tune records new runs, choose an empty or new folder")
    try:
        import torch
    except ImportError:
        fail("the demo trains with PyTorch: pip install 'diagnose[torch]'")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest on shared machines
    pool = None
    try:
        if jobs > 1:
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(jobs)
        res = tune(chapter.train_toy, DEMO_SPACE, budget, directory, pool, seeds=DEMO_SEEDS,
                   log=None if fmt == "json" else click.echo,
                   identity={"data_version": f"toy-2d-seed{chapter.DATA_SEED}-180/60"})
    finally:
        torch.set_num_threads(threads)
        if pool is not None:
            pool.shutdown()
    if fmt == "json":
        click.echo(json.dumps(res.to_dict(), indent=2))
    else:
        click.echo(f"\n{res.card_path.read_text(encoding='utf-8')}")
        click.echo(f"Check it: diagnose sweep {directory}")
