"""Benchmark: reading TensorBoard scalars with diagnose vs tbparse vs EventAccumulator.

Writes ``--n`` scalars (default one million) over four tags with
``torch.utils.tensorboard.SummaryWriter``, then times, in this one process, reading
every scalar back with

- ``diagnose.load`` (our reader: CRC32C of every length and every record checked,
  result is a full Run with a tidy pandas frame);
- ``tbparse.SummaryReader(logdir).scalars``;
- tensorboard's ``EventAccumulator(logdir, size_guidance={"scalars": 0})`` (0 keeps
  every scalar; the default keeps 10,000 per tag).

and asserts that all three return identical steps and values, in every round. Prints
the ``## Readers`` section of bench/RESULTS.md: min / median / max seconds over the
rounds, each round's own ratio, and the peak memory of our reader against the file size,
twice: tracemalloc in this process (every numpy array and Python object), and the peak
RSS of a fresh process above its RSS once imports are done (everything, page cache of
the file's reads excluded as it is not the process's memory).
Needs the ``peers`` extra and torch.

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


def timed(fn: Callable[[Path], dict], logdir: Path) -> tuple[float, dict]:
    gc.collect()
    t0 = time.perf_counter()
    result = fn(logdir)
    return time.perf_counter() - t0, result


def peak_bytes(fn: Callable[[Path], dict], logdir: Path) -> int:
    """Peak bytes allocated while ``fn`` reads (tracemalloc: Python objects and numpy arrays)."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        fn(logdir)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_rss_bytes(logdir: Path) -> int:
    """Peak resident memory a fresh process adds while ``ours`` reads (Linux: the peak is
    reset through /proc/self/clear_refs once the imports are done, then read as VmHWM)."""
    import subprocess

    code = ("import sys\n"
            "from pathlib import Path\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "import readers, diagnose, diagnose.readers.tensorboard, pandas\n"
            "def kb(key):\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith(key):\n"
            "            return int(line.split()[1])\n"
            "open('/proc/self/clear_refs', 'w').write('5')\n"
            "base = kb('VmRSS')\n"
            "readers.ours(Path(sys.argv[2]))\n"
            "print(kb('VmHWM') - base)\n")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(logdir)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) * 1024


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
    ap.add_argument("--repeat", type=int, default=3, help="rounds (each times all three readers)")
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

    import os
    import statistics

    from _figures import commit, mmm  # bench/ is on the path: run as a script

    readers = {"diagnose.load (CRC32C of every length and record checked; a full Run)": ours,
               "tbparse.SummaryReader(logdir).scalars": tbparse_reader,
               "EventAccumulator(logdir, size_guidance={'scalars': 0})": event_accumulator}
    names = list(readers)
    times: dict[str, list[float]] = {k: [] for k in names}
    loads = []
    first: dict | None = None
    for r in range(args.repeat):  # each round reads with all three, in rotating order
        loads.append(os.getloadavg()[0])
        for name in names[r % 3:] + names[: r % 3]:
            t, got = timed(readers[name], logdir)
            times[name].append(t)
            if first is None:
                first = got
            else:
                same(first, got, name)
            del got
    n = sum(len(s) for s, _ in first.values())
    peak = peak_bytes(ours, logdir)
    rss = peak_rss_bytes(logdir)
    ratios = [min(a, b) / o for o, a, b in zip(*(times[k] for k in names))]
    crc = "the C `crc32c` package" if _crc_c() else "the numpy CRC32C (no C package installed)"
    print(f"## Readers\n\n`python bench/readers.py --repeat {args.repeat}` on "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit {commit()}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, CRC by {crc}. "
          f"**Shared machine**: 2 cores used by other agents' jobs too; load average "
          f"{mmm(loads, '{:.1f}')} (min / median / max at the start of each round).\n")
    print(f"{n:,} scalars over {len(TAGS)} tags written by `SummaryWriter.add_scalar`, one "
          f"{size / 1e6:.1f} MB event file; steps and values identical across the three "
          f"readers in every round. Seconds, min / median / max over {args.repeat} rounds "
          "(each round runs all three, in rotating order):\n")
    print("| reader | seconds | scalars/s (median) |")
    print("|---|---:|---:|")
    for name in names:
        print(f"| {name} | {mmm(times[name])} | {n / statistics.median(times[name]):,.0f} |")
    print(f"\nThe faster of tbparse and EventAccumulator over diagnose, each round's own ratio: "
          f"{mmm(ratios, '{:.1f}x')} (target >= 15x). Peak memory of diagnose.load "
          f"(tracemalloc: Python objects and numpy arrays): {peak / 1e6:.0f} MB = "
          f"{peak / size:.2f}x the file; peak RSS a fresh process adds while reading (above "
          f"its RSS after the imports): {rss / 1e6:.0f} MB = {rss / size:.2f}x the file "
          "(target <= 2x).")
    if tmp is not None:
        tmp.cleanup()
    return 0


def _crc_c() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) is not None for m in ("crc32c", "google_crc32c"))


if __name__ == "__main__":
    sys.exit(main())
