"""Live-check benchmark: what ``Recorder(check_every=200)`` adds to a small training loop.

The loop of ``bench/recorder.py`` (MLP 32->64->2, batch 64, SGD, one thread, the loss
tensor logged every step), in three variants:

- ``Recorder``: no live checks (the reference);
- ``Recorder + live``: ``check_every=200`` with the defaults (full rule evaluation
  within a 1 % time budget, the NaN/rising-loss sentinel at every check);
- ``Recorder + live, every check full``: ``check_budget=1.0``, so every check runs all
  live rules: what a check really costs, for comparison.

Each variant trains on its own (one after the other, rotating order, several rounds):
the check budget is a share of the wall time since the Recorder started.

    python bench/live.py            # prints the table, updates the "## Live" section
    python bench/live.py --quick    # fewer steps, no RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnose.record import Recorder  # noqa: E402
from diagnose.record._live import LIMIT  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
BLOCK = 1000
CHECK_EVERY = 200
VARIANTS: dict[str, dict[str, Any]] = {
    "Recorder": {},
    "Recorder + live": {"check_every": CHECK_EVERY},
    "Recorder + live, every check full": {"check_every": CHECK_EVERY, "check_budget": 1.0},
}


def _recorder_bench() -> Any:
    """``bench/recorder.py`` as a module: the same loop, model and data."""
    spec = importlib.util.spec_from_file_location("bench_recorder", ROOT / "bench" / "recorder.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def overhead(steps: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per variant: loop seconds (median block x blocks), seconds in log(), live counters.

    Each round trains every variant once, one after the other (rotating order): the
    check budget is a share of the wall time since the Recorder started, so variants
    interleaved block by block would each see the others' time as theirs. The best
    round per variant (least time in log()) is kept.
    """
    bench = _recorder_bench()
    best: dict[str, dict[str, float]] = {}
    names = list(VARIANTS)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            with tempfile.TemporaryDirectory() as tmp:
                lp = bench.Loop("loop alone", tmp)
                rec = Recorder(os.path.join(tmp, "run"), **VARIANTS[name])
                lp.log, lp.variant = rec.log, name
                times = [lp.run(BLOCK) for _ in range(max(1, steps // BLOCK))]
                t = time.perf_counter()
                rec.close()
                closing = time.perf_counter() - t
            live = rec.live
            row = {
                "loop": statistics.median(times) * len(times) + closing,
                "in_log": lp.in_log + closing,
                "checks": float(live.checks) if live else 0.0,
                "full": float(live.full_checks) if live else 0.0,
                "check_s": live.seconds if live else 0.0,
            }
            old = best.get(name)
            if old is None or row["in_log"] < old["in_log"]:
                best[name] = row
    return best


def report(res: dict[str, dict[str, float]], steps: int, rounds: int, host: str) -> str:
    base = res["Recorder"]
    lines = [
        "## Live",
        "",
        f"`python bench/live.py` on {dt.date.today().isoformat()}; {host}. CPU only.",
        (f"The loop of the Recorder benchmark (MLP 32->64->2, batch 64, SGD, {steps:,} steps, "
         "one thread, the loss tensor logged every step); each variant trains on its own, one "
         f"after the other, best of {rounds} rounds; loop time is the median time of a block of "
         f"{BLOCK} steps x blocks. \"in log()\" is the time inside "
         "the logging calls and the final close, measured around each call (it includes the "
         "flush at each check and the checks themselves); the overhead of live checks is "
         "the difference to the Recorder without checks, relative to that loop's time."),
        "",
        ("| variant | loop s | in log(), s | live overhead (in log) | live overhead (loop) "
         "| checks | full checks | s in checks |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in VARIANTS:
        r = res[name]
        if name == "Recorder":
            over_log = over_loop = ""
        else:
            over_log = f"{(r['in_log'] - base['in_log']) / base['loop']:+.2%}"
            over_loop = f"{(r['loop'] - base['loop']) / base['loop']:+.1%}"
        lines.append(f"| {name} | {r['loop']:.2f} | {r['in_log']:.3f} | {over_log} | {over_loop} "
                     f"| {int(r['checks'])} | {int(r['full'])} | {r['check_s']:.3f} |")
    full = res["Recorder + live, every check full"]
    per = full["check_s"] / max(1.0, full["checks"]) * 1e3
    lines += [
        "",
        (f"A full check on this run costs {per:.1f} ms on average (rules on up to "
         f"{steps:,} points, trend features on at most {LIMIT} per metric). With the default "
         "1 % budget the full evaluation runs only while it stays within 1 % of the wall "
         "time; the NaN/rising-loss sentinel runs at every check, so a diverging run still "
         "gets a full check at the first check after it diverges. \"live "
         "overhead (loop)\" moves by a few percent either way from run to run on this "
         "shared VM; the in-log column is the measurement to read."),
    ]
    return "\n".join(lines) + "\n"


def update_results(section: str) -> None:
    """Put ``section`` in bench/RESULTS.md in place of its ``## Live`` section (or at the end)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    parts = re.split(r"(?m)^(?=## )", text)
    at = next((i for i, s in enumerate(parts) if s.startswith("## Live\n")), None)
    if at is None:
        parts[-1] = parts[-1].rstrip("\n") + "\n\n"
        parts.append(section)
    else:
        parts[at] = section + ("\n" if at < len(parts) - 1 else "")
    RESULTS.write_text("".join(parts))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; do not write RESULTS.md")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 4_000, 1
    torch.set_num_threads(1)
    host = _recorder_bench().machine()
    section = report(overhead(args.steps, args.rounds), args.steps, args.rounds, host)
    print(section)
    if args.quick:
        return
    update_results(section)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
