"""GPU check of the Recorder (issue 18, item 5): synchronisations and overhead on a CUDA loop.

    python bench/gpu_recorder.py               # 10,000 steps; prints a table, exit 1 if the Recorder synced
    python bench/gpu_recorder.py --steps 2000  # a shorter smoke run

What it measures, in one process:

1. **Synchronisations.** A CUDA training loop (MLP 512->1024->10, batch 256, AdamW) logs the
   loss tensor every step through ``Recorder.log`` (live checks on, ``watch(optimizer)``)
   with ``torch.cuda.set_sync_debug_mode("warn")``. Every synchronising call then emits a
   warning carrying its stack; the warnings whose stack passes through ``diagnose/`` are the
   Recorder's (the loop itself does not synchronise: it never reads a value). The count is
   reported for the ``log()`` calls, for the periodic flushes, and for ``close()``.
2. **Overhead.** The same loop alone, with the Recorder and with ``SummaryWriter.add_scalar``
   (which reads the value: one synchronisation per step), median of interleaved blocks.

With no CUDA device it says so and exits 0: the machine this project's CI uses has none, so
this script is run by hand when a GPU is lent (see bench/RESULTS.md for when it was).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PKG = str(ROOT / "diagnose")


def _loop(steps: int, log, device: str) -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(256, 512, device=device)
    y = torch.randint(0, 10, (256,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for step in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log is not None:
            log(step, loss.detach())
    torch.cuda.synchronize()
    return time.perf_counter() - t


def _syncs_from_recorder(steps: int, out: Path) -> dict[str, int]:
    """Run the loop with the Recorder under sync debug mode; count warnings raised in our code."""
    import torch

    from diagnose.record import Recorder

    counts = {"log": 0, "flush": 0, "close": 0, "other (loop)": 0}
    phase = ["log"]

    def showwarning(message, category, filename, lineno, file=None, line=None):
        stack = "".join(traceback.format_stack())
        if PKG in stack:
            counts[phase[0]] += 1
        else:
            counts["other (loop)"] += 1

    rec = Recorder(out, params={"lr": 1e-3}, check_every=100)
    old = warnings.showwarning
    warnings.showwarning = showwarning
    warnings.simplefilter("always")
    torch.cuda.set_sync_debug_mode("warn")
    try:
        def log(step, loss):
            rec.log(step, train_loss=loss)
            if step % 1000 == 999:
                phase[0] = "flush"
                rec.flush()
                phase[0] = "log"

        _loop(steps, log, "cuda")
        phase[0] = "close"
        rec.close()
    finally:
        torch.cuda.set_sync_debug_mode("default")
        warnings.showwarning = old
    return counts


def _overhead(steps: int, tmp: Path, repeats: int = 3) -> dict[str, float]:
    from torch.utils.tensorboard import SummaryWriter

    from diagnose.record import Recorder

    times: dict[str, list[float]] = {"loop alone": [], "Recorder": [], "SummaryWriter": []}
    for r in range(repeats):
        times["loop alone"].append(_loop(steps, None, "cuda"))
        rec = Recorder(tmp / f"rec{r}")
        times["Recorder"].append(_loop(steps, lambda s, v, log=rec.log: log(s, train_loss=v), "cuda"))
        rec.close()
        sw = SummaryWriter(str(tmp / f"tb{r}"))
        times["SummaryWriter"].append(_loop(steps, lambda s, v, add=sw.add_scalar: add("loss", v, s), "cuda"))
        sw.close()
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10_000)
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: nothing measured (run this where a GPU is lent)")
        return 0
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _loop(200, None, "cuda")  # warm-up: kernels, allocator
        counts = _syncs_from_recorder(args.steps, tmp / "sync")
        print("\nsynchronisations under set_sync_debug_mode('warn'):")
        for k, v in counts.items():
            print(f"  {k:14s} {v}")
        t = _overhead(args.steps, tmp)
    base = t["loop alone"]
    print(f"\n{'variant':14s} {'loop s':>8s} {'us/step':>9s} {'overhead':>9s}")
    for k, v in t.items():
        over = "" if k == "loop alone" else f"{(v - base) / base:+.1%}"
        print(f"{k:14s} {v:8.3f} {v / args.steps * 1e6:9.1f} {over:>9s}")
    rec_over = t["Recorder"] - base
    sw_over = t["SummaryWriter"] - base
    if rec_over > 0:
        print(f"\nSummaryWriter's added time is {sw_over / rec_over:.1f}x the Recorder's")
    ours = counts["log"] + counts["flush"] + counts["close"]
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
