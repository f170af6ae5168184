"""Recorder benchmark: what logging costs, against the loggers users would otherwise use.

One process, side by side, interleaved repeats (best of R, so a busy machine hurts every
tool alike):

1. Amortised cost per logged scalar, log + flush to disk, each logger with its defaults:
   ``diagnose.Recorder.log`` + ``flush``, ``torch.utils.tensorboard.SummaryWriter.add_scalar``
   + ``flush``, Lightning's ``CSVLogger.log_metrics`` + ``save``; for Python floats and for
   0-dim tensors.
2. Overhead on a small training loop (MLP 32->64->2, batch 64, 20k steps, one thread):
   the loop alone, with the Recorder (with and without ``watch(optimizer)``), and with
   SummaryWriter, each logging the loss every step.

    python bench/recorder.py            # prints the tables, updates bench/RESULTS.md
    python bench/recorder.py --quick    # fewer steps, no RESULTS.md (a smoke run)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnose.record import Recorder  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"


# -- 1. cost per scalar -----------------------------------------------------------------


def _recorder(path: str, values: list[Any]) -> float:
    rec = Recorder(path)
    log = rec.log
    t = time.perf_counter()
    for i, v in enumerate(values):
        log(i, train_loss=v)
    rec.flush()
    seconds = time.perf_counter() - t
    rec.close()
    return seconds


def _summary_writer(path: str, values: list[Any]) -> float:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(path)
    add = w.add_scalar
    t = time.perf_counter()
    for i, v in enumerate(values):
        add("train/loss", v, i)
    w.flush()
    seconds = time.perf_counter() - t
    w.close()
    return seconds


def _csv_logger(path: str, values: list[Any]) -> float:
    from lightning.pytorch.loggers import CSVLogger

    lg = CSVLogger(path, name="bench", version=0)
    log = lg.log_metrics
    t = time.perf_counter()
    for i, v in enumerate(values):
        log({"train/loss": v}, step=i)
    lg.save()
    seconds = time.perf_counter() - t
    lg.finalize("success")
    return seconds


#: Each logger used as its documentation shows, with its default flush settings; the
#: timed part is the logging calls plus the final flush to disk (setup and close are not).
LOGGERS: dict[str, Callable[[str, list[Any]], float]] = {
    "diagnose Recorder": _recorder,
    "SummaryWriter.add_scalar": _summary_writer,
    "Lightning CSVLogger": _csv_logger,
}


def per_scalar(n: int, repeats: int) -> dict[tuple[str, str], float]:
    """Best-of-``repeats`` microseconds per scalar for each (logger, input kind)."""
    floats = [1.0 / (i + 3) for i in range(n)]
    tensors = [torch.tensor(v) for v in floats]
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for kind, values in (("float", floats), ("0-dim tensor", tensors)):
                for name, run in LOGGERS.items():
                    us = run(os.path.join(tmp, f"{r}-{kind}-{name}"), values) / n * 1e6
                    key = (name, kind)
                    best[key] = min(best.get(key, us), us)
    return best


# -- 2. training-loop overhead ------------------------------------------------------------

VARIANTS = ("loop alone", "Recorder", "Recorder + watch(optimizer)", "SummaryWriter")
BLOCK = 1000  # = the Recorder's flush_every, so every block holds one flush


class Loop:
    """One variant's training state: the MLP, its optimizer, its logger."""

    def __init__(self, variant: str, tmp: str) -> None:
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        self.batches = [(torch.randn(64, 32, generator=g), torch.randint(0, 2, (64,), generator=g))
                        for _ in range(32)]
        self.step = 0
        self.in_log = 0.0
        self.log: Callable[..., None] | None = None
        self.close: Callable[[], None] = _nothing
        if variant.startswith("Recorder"):
            rec = Recorder(os.path.join(tmp, variant.replace(" ", "_")))
            if "watch" in variant:
                rec.watch(self.opt)
            self.log, self.close = rec.log, rec.close
        elif variant == "SummaryWriter":
            from torch.utils.tensorboard import SummaryWriter

            w = SummaryWriter(os.path.join(tmp, "tb"))
            self.log, self.close = w.add_scalar, w.close
        self.variant = variant

    def run(self, n: int) -> float:
        """Seconds for the next ``n`` steps, the loss logged every step.

        Also adds the time spent inside the logging calls to ``self.in_log``: the added
        cost measured directly, free of the loop's own run-to-run noise.
        """
        model, opt, batches = self.model, self.opt, self.batches
        log, tb = self.log, self.variant == "SummaryWriter"
        clock = time.perf_counter
        in_log = 0.0
        t = clock()
        for step in range(self.step, self.step + n):
            x, y = batches[step % 32]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if log is not None:
                t0 = clock()
                if tb:
                    log("train/loss", loss, step)
                else:
                    log(step, train_loss=loss)
                in_log += clock() - t0
        self.step += n
        self.in_log += in_log
        return clock() - t


def _nothing() -> None:
    pass


def loop_overhead(steps: int) -> dict[str, tuple[float, float]]:
    """Per variant: (seconds for ``steps`` steps, seconds inside the logging calls).

    The variants run side by side in blocks of ``BLOCK`` steps, in rotating order, and
    each variant's time is the median block time times the number of blocks: load from
    other processes comes and goes, and this way it hits every variant alike. Closing
    the logger (its final flush) counts in both numbers.
    """
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        loops = [Loop(v, tmp) for v in VARIANTS]
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for b in range(max(1, steps // BLOCK)):
            order = loops[b % len(loops):] + loops[: b % len(loops)]
            for lp in order:
                times[lp.variant].append(lp.run(BLOCK))
        out = {}
        for lp in loops:
            t = time.perf_counter()
            lp.close()
            closing = time.perf_counter() - t
            total = statistics.median(times[lp.variant]) * len(times[lp.variant]) + closing
            out[lp.variant] = (total, lp.in_log + closing)
    return out


# -- report ----------------------------------------------------------------------------------


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"Model name:\s*(.+)", lscpu)
        cpu = model.group(1).strip() if model else platform.processor()
    except OSError:
        cpu = platform.processor() or "unknown CPU"
    import lightning
    import tensorboard

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, nproc={os.cpu_count()}, load average {load:.1f} at start; "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"tensorboard {tensorboard.__version__}, lightning {lightning.__version__}")


def report(scalar: dict[tuple[str, str], float], loop: dict[str, tuple[float, float]], steps: int,
           n: int, repeats: int, host: str) -> str:
    ours = "diagnose Recorder"
    lines = [
        "## Recorder",
        "",
        f"`python bench/recorder.py` on {dt.date.today().isoformat()}; {host}. CPU only "
        "(no GPU was lent to this session, so the CUDA sync check and a GPU run were not made).",
        f"Best of {repeats} interleaved repeats. On this shared 2-core VM the numbers move by "
        "up to ±30% from run to run, SummaryWriter's (a background writer thread) the most.",
        "",
        f"**Cost per logged scalar** (log + flush to disk, {n:,} scalars, defaults of each "
        "logger), microseconds:",
        "",
        "| logger | float | 0-dim tensor |",
        "|---|---:|---:|",
    ]
    for name in LOGGERS:
        f, t = scalar[name, "float"], scalar[name, "0-dim tensor"]
        lines.append(f"| {name} | {f:.2f} | {t:.2f} |")
    lines += ["", "Recorder is cheaper by:", ""]
    for name in LOGGERS:
        if name != ours:
            f = scalar[name, "float"] / scalar[ours, "float"]
            t = scalar[name, "0-dim tensor"] / scalar[ours, "0-dim tensor"]
            lines.append(f"- vs {name}: {f:.1f}x (float), {t:.1f}x (0-dim tensor)")
    base = loop["loop alone"][0]
    lines += [
        "",
        f"**Training-loop overhead** (MLP 32->64->2, batch 64, SGD, {steps:,} steps, "
        "torch.set_num_threads(1), the loss tensor logged every step). The variants run side "
        f"by side in blocks of {BLOCK} steps; loop time is the median block time x blocks. "
        "\"in logging\" is the time spent inside the logging calls (and the final close), "
        "measured around each call: the added cost without the loop's run-to-run noise.",
        "",
        "| variant | loop s | µs per step | overhead | in logging, µs per step | in logging, % |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        total, in_log = loop[v]
        over = "" if v == "loop alone" else f"{(total - base) / base:+.1%}"
        logged = "" if v == "loop alone" else f"{in_log / steps * 1e6:.1f}"
        share = "" if v == "loop alone" else f"{in_log / base:.2%}"
        lines.append(f"| {v} | {total:.2f} | {total / steps * 1e6:.1f} | {over} | {logged} "
                     f"| {share} |")
    rec, tb = loop["Recorder"][1], loop["SummaryWriter"][1]
    if rec > 0:
        lines += ["", f"Inside the logging calls SummaryWriter spends {tb / rec:.0f}x the "
                      "Recorder's time."]
    return "\n".join(lines) + "\n"


def update_results(section: str) -> None:
    """Replace (or add) the ``## Recorder`` section of bench/RESULTS.md, keeping the others."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"^## Recorder\n.*?(?=^## |\Z)", flags=re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else (
        text.rstrip("\n") + "\n\n" + section)
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; do not write RESULTS.md")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--scalars", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.scalars, args.repeats = 2_000, 2_000, 1
    torch.set_num_threads(1)
    host = machine()
    scalar = per_scalar(args.scalars, args.repeats)
    loop = loop_overhead(args.steps)
    section = report(scalar, loop, args.steps, args.scalars, args.repeats, host)
    print(section)
    if not args.quick:
        update_results(section)
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
