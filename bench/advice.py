"""Does the advice work? Run the first next experiment of each finding; and the autopilot.

    python bench/advice.py efficacy --seeds 1 3 5        # the report set (odd seeds) only
    python bench/advice.py tuner --repeats 3 --budget 15

**Efficacy** (issue 19): the grid recipes of ``bench/fresh_runs.py`` (``bench/_fresh/grid.py``),
trained with report-set seeds (odd: the rules were never tuned on them), written with our
Recorder at every step and checked. For every warning or error finding whose first ``next``
entry is a ``rerun`` that changes a param this loop can set (``lr``; ``batch_size``;
``weight_decay`` through the optimizer; the step budget), the same recipe is trained again
with the same seed and data and only that change, and the final validation loss is compared
at the same budget (the diagnosed run's last evaluation step). Gain: the relative reduction
of that loss; a diagnosed run whose validation loss is NaN/inf counts as improved with gain
1.0 when the rerun's is finite. What the advice says besides the change (``also``: gradient
clipping, warmup) is *not* applied, so this measures the change alone. Findings whose advice
is not a rerun (``inspect``, ``keep_checkpoint``) or changes nothing this loop can set are
counted as "not a rerun".

**Tuner**: :func:`diagnose.tune` on the chapter's toy task and on a teacher-data MLP (K=4,
SGD, batch size and weight decay as later knobs), against random search with the same number
of runs (lr log-uniform over the same range, other knobs uniform over their lists, one seed
per run, the best by final validation loss, then that setting's three seeds counted as the
result, as the autopilot's is), a few repeats with different seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch

torch.set_num_threads(1)

from _fresh import grid as G
from _fresh.writers import write_recorder

import diagnose

_TRAIN = G.train


@contextlib.contextmanager
def overrides(change: dict[str, Any]):
    """Recipes call ``grid.train(...)``: apply ``change`` to the kwargs they pass."""
    def patched(data, model, **kw):
        if "lr" in change:
            kw["lr"] = float(change["lr"])
        if "batch_size" in change:
            kw["bs"] = int(change["batch_size"])
        if "steps" in change:
            kw["steps"] = int(change["steps"])
        if "weight_decay" in change:
            kw["opt_kw"] = {**(kw.get("opt_kw") or {}), "weight_decay": float(change["weight_decay"])}
        return _TRAIN(data, model, **kw)

    G.train = patched
    try:
        yield
    finally:
        G.train = _TRAIN


SETTABLE = {"lr", "batch_size", "weight_decay"}


def _val_at(curve, step: int) -> float:
    ev = [vl for s, vl, _, _ in curve.evals if s <= step]
    return ev[-1] if ev else math.nan


def efficacy(seeds: list[int], out: Path) -> dict[str, Any]:
    cases: dict[str, list[float]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    n_runs = n_diag = 0
    t0 = time.time()
    for seed in seeds:
        for spec in G.GRID:
            base = spec.fn(seed)
            d = write_recorder(base, out / f"seed-{seed}" / spec.name, 1)
            n_runs += 1
            rep = diagnose.check([d])
            worth = [f for f in rep.findings if f.severity in ("error", "warning") and f.run]
            if worth:
                n_diag += 1
            for f in worth:
                first = f.next_run[0] if f.next_run else None
                change = dict(first["change"]) if first else {}
                if first and first["kind"] == "rerun" and first.get("budget", {}).get("steps") \
                        not in (None, len(base.loss)):
                    change["steps"] = first["budget"]["steps"]
                if not first or first["kind"] != "rerun" or not (set(change) & (SETTABLE | {"steps"})) \
                        or set(change) - SETTABLE - {"steps"}:
                    skipped[f.rule] += 1
                    continue
                with overrides(change):
                    new = spec.fn(seed)
                last = max(s for s, *_ in base.evals) if base.evals else len(base.loss)
                b, n = _val_at(base, last), _val_at(new, last)
                if not math.isfinite(b):
                    gain = 1.0 if math.isfinite(n) else 0.0
                elif not math.isfinite(n):
                    gain = -1.0
                else:
                    gain = (b - n) / abs(b) if b else 0.0
                cases[f.rule].append(gain)
                print(f"  seed {seed} {spec.name} {f.rule} {change}: {b:.4g} -> {n:.4g} "
                      f"({gain:+.1%})", flush=True)
    return {"cases": cases, "skipped": skipped, "runs": n_runs, "diagnosed": n_diag,
            "wall": time.time() - t0}


# ---------------------------------------------------------------------------------------
# tuner
# ---------------------------------------------------------------------------------------
def teacher_task(params: dict, recorder) -> None:
    """An MLP on teacher data (K=4, 16 inputs), SGD; knobs lr, batch_size, weight_decay, epochs."""
    from _fresh.core import teacher_data
    from torch import nn

    data = teacher_data(2000, 500, 16, 4, 7, temp=0.2)
    seed = int(params["seed"])
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=float(params["lr"]),
                          weight_decay=float(params.get("weight_decay", 0.0)))
    recorder.watch(opt)
    bs, n = int(params["batch_size"]), len(data.xtr)
    g = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    steps = int(params["epochs"]) * 10
    perm, pos = torch.randperm(n, generator=g), 0
    for step in range(1, steps + 1):
        if pos + bs > n:
            perm, pos = torch.randperm(n, generator=g), 0
        idx = perm[pos:pos + bs]
        pos += bs
        loss = loss_fn(model(data.xtr[idx]), data.ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0:
            with torch.no_grad():
                out = model(data.xva)
                vl = loss_fn(out, data.yva)
                va = (out.argmax(-1) == data.yva).float().mean()
            recorder.log(step, train_loss=loss.detach(), val_loss=vl, val_acc=va)
        else:
            recorder.log(step, train_loss=loss.detach())


def _tasks():
    from diagnose._chapter import train_toy
    from diagnose._cli_tune import DEMO_SPACE

    return {
        "chapter toy (2-d, 40 full-batch steps)": (train_toy, DEMO_SPACE),
        "teacher MLP (K=4, SGD, 300 steps)": (teacher_task, {
            "lr": (1e-3, 10.0), "batch_size": [32, 64, 16], "weight_decay": [0.0, 1e-4, 1e-3],
            "epochs": 30}),
    }


def _final(path: Path) -> float:
    run = diagnose.load(path)
    _, v = run.arrays("val/loss")
    return float(v[-1]) if len(v) else math.nan


def random_search(train, space, budget: int, seeds: tuple, out: Path, rng: random.Random):
    """``budget - 2`` single-seed random settings, then the best one's two other seeds."""
    from diagnose.tuner import run_trial

    lo, hi = space["lr"]
    tried, diverged = [], 0
    for i in range(max(1, budget - (len(seeds) - 1))):
        p = {k: (rng.choice(v) if isinstance(v, list) else v) for k, v in space.items()}
        p["lr"] = 10 ** rng.uniform(math.log10(lo), math.log10(hi))
        p["seed"] = seeds[0]
        d = out / f"r{i}"
        r = run_trial(train, p, str(d), {}, 5)
        v = _final(d)
        if r["status"] != "finished" or not math.isfinite(v):
            diverged += 1
            v = math.inf
        tried.append((v, p))
    _, best = min(tried, key=lambda t: t[0])
    finals = []
    for s in seeds:
        d = out / f"best-seed{s}"
        run_trial(train, {**best, "seed": s}, str(d), {}, 5)
        finals.append(_final(d))
    return statistics.fmean(finals), diverged, best


def tuner(repeats: int, budget: int, out: Path) -> list[dict[str, Any]]:
    rows = []
    for name, (train, space) in _tasks().items():
        for rep in range(repeats):
            seeds = (100 + 3 * rep, 101 + 3 * rep, 102 + 3 * rep)
            t0 = time.time()
            res = diagnose.tune(train, space, budget, out / f"{name[:7]}-tune-{rep}", seeds=seeds)
            t_tune = time.time() - t0
            stopped = sum(1 for t in res.trials if t.status != "finished")
            t0 = time.time()
            rv, rdiv, rbest = random_search(train, space, budget, seeds,
                                            out / f"{name[:7]}-random-{rep}", random.Random(rep))
            t_rand = time.time() - t0
            rows.append({"task": name, "repeat": rep, "tune": res.score, "tune_lr": res.best.get("lr"),
                         "tune_runs": len(res.trials), "tune_used": res.used_runs,
                         "tune_stopped": stopped, "tune_s": t_tune, "random": rv,
                         "random_lr": rbest["lr"], "random_diverged": rdiv, "random_s": t_rand})
            print(rows[-1], flush=True)
    return rows


def _machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"torch {torch.__version__}, load average {load[0]:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("efficacy")
    e.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 5])
    t = sub.add_parser("tuner")
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--budget", type=int, default=15)
    for p in (e, t):
        p.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="bench-advice-"))
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "|", _machine())
    if a.what == "efficacy":
        if any(s % 2 == 0 for s in a.seeds):
            sys.exit("efficacy reports on the report set: odd seeds only")
        r = efficacy(a.seeds, out)
        print(f"\n{r['runs']} runs (seeds {a.seeds}), {r['diagnosed']} with a warning/error "
              f"finding; {r['wall']:.0f} s\n")
        print("| rule | reruns | improved | improved by >= 1% | median gain | not a rerun "
              "(or not settable here) |")
        print("|---|---:|---:|---:|---:|---:|")
        for rule in sorted(set(r["cases"]) | set(r["skipped"])):
            g = r["cases"].get(rule, [])
            imp = sum(1 for x in g if x > 0)
            med = f"{statistics.median(g):+.1%}" if g else "-"
            share = f"{imp}/{len(g)} ({imp / len(g):.0%})" if g else "-"
            big = sum(1 for x in g if x >= 0.01)
            share1 = f"{big}/{len(g)} ({big / len(g):.0%})" if g else "-"
            print(f"| {rule} | {len(g)} | {share} | {share1} | {med} | "
                  f"{r['skipped'].get(rule, 0)} |")
    else:
        rows = tuner(a.repeats, a.budget, out)
        print("\n| task | repeat | autopilot final val/loss (lr) | runs (stopped early) | s "
              "| random search final val/loss (lr) | diverged | s |")
        print("|---|---:|---|---|---:|---|---:|---:|")
        for r in rows:
            print(f"| {r['task']} | {r['repeat']} | {r['tune']:.4f} ({r['tune_lr']:g}) | "
                  f"{r['tune_runs']} ({r['tune_stopped']}), {r['tune_used']:.1f} budget | "
                  f"{r['tune_s']:.0f} | {r['random']:.4f} ({r['random_lr']:.3g}) | "
                  f"{r['random_diverged']} | {r['random_s']:.0f} |")


if __name__ == "__main__":
    main()
