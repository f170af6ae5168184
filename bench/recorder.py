"""Recorder benchmark: what logging costs, against the loggers users would otherwise use.

One process, side by side, interleaved repeats (a busy machine hurts every tool alike):

1. Cost per logged scalar over a logger's whole life (construct, log 50,000 values,
   close), each logger with its defaults: ``diagnose.Recorder`` (with and without its
   orjson fast path), ``torch.utils.tensorboard.SummaryWriter.add_scalar``, Lightning's
   ``CSVLogger``; for Python floats and for 0-dim tensors; min / median / max over the
   repeats and the ratio to SummaryWriter within each repeat (issue 18: >= 40x for
   floats, >= 25x for tensors).
2. Overhead on a small training loop (MLP 32->64->2, batch 64, 20k steps, one thread):
   the loop alone, with the Recorder (with and without ``watch(optimizer)``), and with
   SummaryWriter, each logging the loss every step.

    python bench/recorder.py            # prints the tables, updates bench/RESULTS.md
    python bench/recorder.py --quick    # fewer steps, no RESULTS.md (a smoke run)
    python bench/recorder.py --against 469caa6   # also that commit's Recorder, side by side
"""

from __future__ import annotations

import argparse
import gc
import datetime as dt
import importlib
import io
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnose.record import Recorder, _format  # noqa: E402

from _figures import commit, mmm  # noqa: E402  (bench/ is on the path: run as a script)

RESULTS = ROOT / "bench" / "RESULTS.md"


# -- 1. cost per scalar -----------------------------------------------------------------


def _recorder(path: str, values: list[Any], cls: type = Recorder) -> None:
    rec = cls(path)
    log = rec.log
    for i, v in enumerate(values):
        log(i, train_loss=v)
    rec.close()


def recorder_at(rev: str, into: str) -> Callable[[str, list[Any]], None]:
    """The Recorder of commit ``rev`` (its ``diagnose/`` unpacked into ``into`` under another
    package name, so both versions run in this process, meeting the same load)."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    data = subprocess.run(["git", "archive", sha, "diagnose"], cwd=ROOT, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    name = f"diagnose_at_{sha}"
    os.rename(os.path.join(into, "diagnose"), os.path.join(into, name))
    sys.path.insert(0, into)
    cls = importlib.import_module(f"{name}.record").Recorder

    def run(path: str, values: list[Any]) -> None:
        _recorder(path, values, cls)

    run.__doc__ = sha
    return run


def _recorder_pure(path: str, values: list[Any]) -> None:
    """The Recorder without its optional orjson fast path (``repr`` spells the values)."""
    saved, _format._ORJSON = _format._ORJSON, False
    try:
        _recorder(path, values)
    finally:
        _format._ORJSON = saved


def _summary_writer(path: str, values: list[Any]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(path)
    add = w.add_scalar
    for i, v in enumerate(values):
        add("train/loss", v, i)
    w.close()


def _csv_logger(path: str, values: list[Any]) -> None:
    from lightning.pytorch.loggers import CSVLogger

    lg = CSVLogger(path, name="bench", version=0)
    log = lg.log_metrics
    for i, v in enumerate(values):
        log({"train/loss": v}, step=i)
    lg.finalize("success")


OURS = "diagnose Recorder"
PEER = "SummaryWriter.add_scalar"
#: Each logger used as its documentation shows, with its default flush settings; the
#: timed part is the whole life of the logger: construct, log every value, close.
LOGGERS: dict[str, Callable[[str, list[Any]], None]] = {
    OURS: _recorder,
    "diagnose Recorder, pure (no orjson)": _recorder_pure,
    PEER: _summary_writer,
    "Lightning CSVLogger": _csv_logger,
}
KINDS = ("float", "0-dim tensor")


def per_scalar(n: int, repeats: int) -> dict[tuple[str, str], list[float]]:
    """Microseconds per scalar for each (logger, input kind), one entry per repeat.

    Every repeat runs every logger once on the same values, in rotating order, so the
    ratio of one repeat compares loggers that met the same load. Also the CPU time, under
    (logger, "cpu " + kind): this process's threads and its waited-for children (the
    Recorder's ``git status``).
    """
    floats = [1.0 / (i + 3) for i in range(n)]
    tensors = [torch.tensor(v) for v in floats]
    out: dict[tuple[str, str], list[float]] = {}
    names = list(LOGGERS)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:  # warm up: imports and first-call costs are not per scalar
            LOGGERS[name](os.path.join(tmp, f"warm-{name}"), floats[:100])
        for r in range(repeats):
            for kind, values in (("float", floats), ("0-dim tensor", tensors)):
                order = names[r % len(names):] + names[: r % len(names)]
                for name in order:
                    gc.collect()
                    c, t = _cpu(), time.perf_counter()
                    LOGGERS[name](os.path.join(tmp, f"{r}-{kind}-{name}"), values)
                    us = (time.perf_counter() - t) / n * 1e6
                    out.setdefault((name, kind), []).append(us)
                    out.setdefault((name, "cpu " + kind), []).append((_cpu() - c) / n * 1e6)
    return out


PARTS = ("log()", "flushes", "construct", "close")


def parts(n: int, repeats: int) -> dict[tuple[str, str], list[float]]:
    """Where the Recorder's time goes: this thread's CPU time in its parts, per (part, kind).

    ``log()`` (µs per value, flushes excluded), the flushes it triggers (µs per value:
    formatting and writing), construct and close (ms per run). CPU time, so that other
    processes' load counts less than in the wall times above; background threads (git,
    fsync) are not in it.
    """
    clock = time.thread_time
    out: dict[tuple[str, str], list[float]] = {}
    values = {"float": [1.0 / (i + 3) for i in range(n)]}
    values["0-dim tensor"] = [torch.tensor(v) for v in values["float"]]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for kind, vals in values.items():
                gc.collect()
                t = clock()
                rec = Recorder(os.path.join(tmp, f"{r}-{kind}"))
                made = clock() - t
                flush, spent = rec.flush, [0.0]

                def timed_flush(flush: Callable[[], None] = flush, spent: list = spent) -> None:
                    t0 = clock()
                    flush()
                    spent[0] += clock() - t0

                rec.flush = timed_flush  # type: ignore[method-assign]
                log = rec.log
                t = clock()
                for i, v in enumerate(vals):
                    log(i, train_loss=v)
                logging = clock() - t
                flushing, spent[0] = spent[0], 0.0
                t = clock()
                rec.close()
                closing = clock() - t
                for part, x in zip(PARTS, ((logging - flushing) / n * 1e6, flushing / n * 1e6,
                                           made * 1e3, closing * 1e3)):
                    out.setdefault((part, kind), []).append(x)
    return out


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of the children it waited for."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def fixed_costs(repeats: int) -> dict[str, list[float]]:
    """Milliseconds of the Recorder's per-run fixed costs: construct, and close of an empty run."""
    out: dict[str, list[float]] = {"construct": [], "close": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            t = time.perf_counter()
            rec = Recorder(os.path.join(tmp, str(r)))
            t1 = time.perf_counter()
            rec.close()
            out["construct"].append((t1 - t) * 1e3)
            out["close"].append((time.perf_counter() - t1) * 1e3)
    return out


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

    return (f"{cpu}, nproc={os.cpu_count()}; "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"tensorboard {tensorboard.__version__}, lightning {lightning.__version__}")




def report(scalar: dict[tuple[str, str], list[float]], fixed: dict[str, list[float]],
           where: dict[tuple[str, str], list[float]],
           loop: dict[str, tuple[float, float]] | None, steps: int, n: int, repeats: int,
           host: str, loads: tuple[float, float]) -> str:
    lines = [
        "## Recorder",
        "",
        f"`python bench/recorder.py` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"commit {commit()}; {host}. **Shared machine**: 2 cores used by several other "
        f"agents' jobs at the same time; load average {loads[0]:.1f} at start, "
        f"{loads[1]:.1f} at the end. CPU only (no GPU was lent: `bench/gpu_recorder.py`, "
        "item 5, was not run).",
        "",
        f"**Cost per logged scalar**: the logger's whole life (construct, log {n:,} values "
        "as `train/loss` at steps 0.., close), each logger with its defaults, divided by "
        f"{n:,}; µs, min / median / max over {repeats} repeats. Every repeat runs every "
        "logger on the same values in rotating order, so a ratio below compares two "
        "loggers that met the same load; one warm-up run each before.",
        "",
        "| logger | float | 0-dim tensor |",
        "|---|---:|---:|",
    ]
    for name in LOGGERS:
        lines.append(f"| {name} | {mmm(scalar[name, 'float'])} "
                     f"| {mmm(scalar[name, '0-dim tensor'])} |")
    lines += ["", "SummaryWriter's cost over the Recorder's, each repeat's own ratio "
                  "(min / median / max):", ""]
    targets = {"float": 40, "0-dim tensor": 25}
    for name in LOGGERS:
        if name == PEER:
            continue
        parts = []
        for kind in KINDS:
            ratios = [p / o for p, o in zip(scalar[PEER, kind], scalar[name, kind])]
            target = f" (target {targets[kind]}x)" if name == OURS else ""
            parts.append(f"{kind} {mmm(ratios, '{:.1f}x')}{target}")
        lines.append(f"- {name}: " + "; ".join(parts))
    lines += ["", "The same ratios in CPU time (all threads of the process and the "
                  "children it waited for, i.e. the Recorder's `git status`), which the other jobs "
                  "on a shared machine disturb less than wall time:", ""]
    for name in LOGGERS:
        if name == PEER:
            continue
        parts = []
        for kind in KINDS:
            ratios = [p / o for p, o in zip(scalar[PEER, "cpu " + kind], scalar[name, "cpu " + kind])]
            parts.append(f"{kind} {mmm(ratios, '{:.1f}x')}")
        lines.append(f"- {name}: " + "; ".join(parts))
    lines += [
        "",
        f"Fixed costs inside those figures, per run, ms (min / median / max of {repeats}): "
        f"construct {mmm(fixed['construct'], '{:.1f}')}, close {mmm(fixed['close'], '{:.1f}')} "
        "(construct: the folder lock, `run.json`, and starting the `git status` thread; close: the "
        "last flush, `run.json` replaced; the `fsync`s of the log and of the final `run.json` "
        "happen on a background thread, which the interpreter waits for at exit; closing a run "
        "right after opening it, as here, waits for `git status`).",
        "",
        f"Where the Recorder's time goes, this thread's CPU time (min / median / max of "
        f"{len(where['log()', 'float'])} runs of {n:,} values; background threads not included): "
        + "; ".join(
            f"{kind}: `log()` {mmm(where['log()', kind], '{:.2f}')} µs per value, its flushes "
            f"(formatting and writing) {mmm(where['flushes', kind], '{:.2f}')} µs per value, "
            f"construct {mmm(where['construct', kind], '{:.1f}')} ms, close "
            f"{mmm(where['close', kind], '{:.1f}')} ms" for kind in KINDS) + ".",
    ]
    if loop is None:
        return "\n".join(lines) + "\n"
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
    ap.add_argument("--scalars", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-loop", action="store_true", help="skip the training-loop part")
    ap.add_argument("--against", metavar="COMMIT",
                    help="also time that commit's Recorder in the same process")
    args = ap.parse_args(argv)
    old = tempfile.TemporaryDirectory()
    if args.against:
        run = recorder_at(args.against, old.name)
        LOGGERS[f"diagnose Recorder at {run.__doc__} (before)"] = run
    if args.quick:
        args.steps, args.scalars, args.repeats = 2_000, 2_000, 1
    torch.set_num_threads(1)
    host = machine()
    load0 = os.getloadavg()[0]
    scalar = per_scalar(args.scalars, args.repeats)
    fixed = fixed_costs(max(3, args.repeats))
    where = parts(args.scalars, max(3, args.repeats))
    loop = None if args.no_loop else loop_overhead(args.steps)
    section = report(scalar, fixed, where, loop, args.steps, args.scalars, args.repeats, host,
                     (load0, os.getloadavg()[0]))
    print(section)
    if not args.quick:
        update_results(section)
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
