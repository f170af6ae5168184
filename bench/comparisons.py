"""Issue 15 acceptance: does `diagnose sweep` select the chapter's setting, and do the seed rules
(DG301/DG302) fire exactly on seed groups whose accuracy disagrees?

    PYTHONPATH=. python bench/comparisons.py [OUT_DIR]       # ~3-6 min on 2 shared cores

Trains tiny full-batch MLPs on teacher-network data (bench/_fresh/core.py), CPU only:

- 30 lr sweeps (5 log-spaced learning rates, one seed each; the highest often diverges);
- 60 seed groups (4 seeds of one setting; some settings are stable, some are not: a high
  lr, a tiny training set, or a bad initialisation scale).

Each task has a number; the split into a tuning set (even numbers) and a report set (odd)
is fixed here, before any threshold was looked at, and written to OUT_DIR/split.txt. The
rule thresholds are the defaults in rules/DG30*.toml, chosen before this bench ran; the
tuning set is reported too, so any later tuning shows.

Ground truth, computed from the written curves by this script, not by diagnose:

- sweep: the chapter's rule, the lowest final validation loss among settings whose run did
  not diverge (a non-finite loss, or a final training loss above the first one);
- seed group: "unstable" when the seeds' final validation accuracies span >= 5 points.

The seed rules are scored twice: with val_acc logged (the rule judges accuracy points) and
with val_acc removed from the files (the rule judges the loss spread against the
improvement training achieved) — the second is the test that is not the label itself.
"""

from __future__ import annotations

import csv
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._fresh.core import accuracy, ce_loss, make_opt, mlp, teacher_data  # noqa: E402

N_SWEEPS = 30
N_GROUPS = 60
SEEDS = 4
STEPS = 40
EVERY = 5
UNSTABLE_POINTS = 5.0


def train(task: int, lr: float, seed: int, *, n_train: int, init_scale: float, optim: str,
          k: int = 4, n_val: int = 200) -> list[dict[str, float]]:
    """One full-batch run; returns rows step, train_loss, val_loss, val_acc."""
    data = teacher_data(n_train, n_val, 8, k, seed=1000 + task, temp=0.4)
    torch.manual_seed(seed)
    model = mlp(8, 16, k, depth=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(init_scale)
    opt = make_opt(optim, model.parameters(), lr)
    rows = []
    for step in range(STEPS + 1):
        if step % EVERY == 0:
            with torch.no_grad():
                tr = float(ce_loss(model(data.xtr), data.ytr))
                out = model(data.xva)
                rows.append({"step": step, "train_loss": tr, "val_loss": float(ce_loss(out, data.yva)),
                             "val_acc": accuracy(out, data.yva)})
        if step == STEPS:
            break
        opt.zero_grad()
        loss = ce_loss(model(data.xtr), data.ytr)
        if not torch.isfinite(loss):
            rows.append({"step": step + 1, "train_loss": math.nan, "val_loss": math.nan,
                         "val_acc": 1.0 / k})
            break
        loss.backward()
        opt.step()
    return rows


def write(folder: Path, rows: list[dict[str, float]], acc: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["step", "train_loss", "val_loss"] + (["val_acc"] if acc else [])
    with open(folder / "history.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def run_diverged(rows: list[dict[str, float]]) -> bool:
    vals = [r[k] for r in rows for k in ("train_loss", "val_loss")]
    return (not all(math.isfinite(v) for v in vals)) or rows[-1]["train_loss"] > rows[0]["train_loss"]


def make_sweep(args: tuple[Path, int]) -> tuple[int, tuple[float | None, float | None, bool]]:
    """One sweep; returns (the chapter's pick, the best-over-steps pick of the old code, whether
    a setting diverged)."""
    out, t = args
    torch.set_num_threads(1)
    rng = np.random.default_rng(1500 + t)
    base = float(10 ** rng.uniform(-2.5, -1.5))
    optim = ["sgd", "adam", "sgdm"][t % 3]
    if optim == "sgd":
        base *= 30
    finals, bests = {}, {}
    for i in range(5):
        lr = float(f"{base * 10 ** (i * 0.75):.3g}")
        rows = train(t, lr, 1, n_train=300, init_scale=1.0, optim=optim)
        write(out / "sweeps" / f"task{t:02d}" / f"lr={lr},seed=1", rows)
        finals[lr] = None if run_diverged(rows) else rows[-1]["val_loss"]
        vals = [r["val_loss"] for r in rows if math.isfinite(r["val_loss"])]
        bests[lr] = min(vals) if vals else math.inf
    ok = {lr: v for lr, v in finals.items() if v is not None and math.isfinite(v)}
    return t, (min(ok, key=ok.get) if ok else None, min(bests, key=bests.get),
               any(v is None for v in finals.values()))


def make_group(args: tuple[Path, int]) -> tuple[int, bool]:
    out, t = args
    torch.set_num_threads(1)
    rng = np.random.default_rng(2500 + t)
    # kinds cycle in pairs so the even (tuning) and odd (report) groups hold every kind
    kind = (t // 2) % 4  # 0 stable, 1 high lr, 2 tiny training set, 3 large init
    base = {0: 0.05, 1: 0.6, 2: 0.05, 3: 0.05}[kind]
    lr = float(f"{base * rng.uniform(0.7, 1.4):.3g}")
    n_train = 24 if kind == 2 else 300
    scale = 3.0 if kind == 3 else 1.0
    accs = []
    for seed in range(1, SEEDS + 1):
        # 1000 validation examples: an accuracy spread of 5 points is not sampling noise
        rows = train(100 + t, lr, seed, n_train=n_train, init_scale=scale, optim="adam",
                     n_val=1000)
        name = f"lr={lr},seed={seed}"
        write(out / "seeds" / f"group{t:02d}" / name, rows)
        write(out / "seeds_loss_only" / f"group{t:02d}" / name, rows, acc=False)
        accs.append(rows[-1]["val_acc"])
    return t, (max(accs) - min(accs)) * 100 >= UNSTABLE_POINTS


def make(out: Path, jobs: int = 2) -> dict:
    from multiprocessing import Pool

    with Pool(jobs) as pool:
        sweeps = dict(pool.map(make_sweep, [(out, t) for t in range(N_SWEEPS)]))
        groups = dict(pool.map(make_group, [(out, t) for t in range(N_GROUPS)]))
    return {"sweeps": {t: v[0] for t, v in sweeps.items()},
            "old_pick": {t: v[1] for t, v in sweeps.items()},
            "diverged": {t: v[2] for t, v in sweeps.items()}, "groups": groups}


def score(out: Path, truth: dict) -> dict:
    from diagnose.pipeline import sweep

    split = {"tuning": lambda t: t % 2 == 0, "report": lambda t: t % 2 == 1}
    res: dict = {}
    for name, keep in split.items():
        agree = total = 0
        misses = []
        for t, want in truth["sweeps"].items():
            if not keep(t):
                continue
            r = sweep([out / "sweeps" / f"task{t:02d}"], at="final")
            got = r.best["params"].get("lr") if r.best else None
            total += 1
            same = (got is None and want is None) or (got is not None and want is not None
                                                      and math.isclose(got, want, rel_tol=1e-9))
            agree += same
            if not same:
                misses.append((t, want, got))
        res[f"sweeps_{name}"] = (agree, total, misses)
        for folder in ("seeds", "seeds_loss_only"):
            tp = fp = fn = tn = 0
            for t, unstable in truth["groups"].items():
                if not keep(t):
                    continue
                r = sweep([out / folder / f"group{t:02d}"])
                fired = any(f.rule in ("DG301", "DG302") for f in r.findings)
                tp += fired and unstable
                fp += fired and not unstable
                fn += (not fired) and unstable
                tn += (not fired) and not unstable
            prec = tp / (tp + fp) if tp + fp else float("nan")
            rec = tp / (tp + fn) if tp + fn else float("nan")
            res[f"{folder}_{name}"] = dict(tp=tp, fp=fp, fn=fn, tn=tn, precision=prec, recall=rec)
    return res


def main() -> None:
    torch.set_num_threads(1)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="comparisons-"))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "split.txt").write_text(
        "tuning: tasks and groups with an even number; report: odd numbers. Fixed before "
        "any run was trained or scored; thresholds are the rule defaults.\n")
    t0 = time.time()
    truth = make(out)
    t1 = time.time()
    res = score(out, truth)
    t2 = time.time()
    n_unstable = sum(truth["groups"].values())
    print(f"generated {N_SWEEPS} sweeps x 5 lrs and {N_GROUPS} groups x {SEEDS} seeds in "
          f"{t1 - t0:.0f}s; scored in {t2 - t1:.0f}s; {n_unstable}/{N_GROUPS} groups unstable "
          f"by the label; runs under {out}")
    for name in ("tuning", "report"):
        a, n, misses = res[f"sweeps_{name}"]
        mine = [t for t in truth["sweeps"] if (t % 2 == 1) == (name == "report")]
        old = sum(truth["old_pick"][t] == truth["sweeps"][t] for t in mine)
        div = sum(truth["diverged"][t] for t in mine)
        print(f"[{name}] sweeps: selected == chapter's rule in {a}/{n} ({100 * a / n:.1f}%)"
              + (f"; misses (task, want, got): {misses}" if misses else "")
              + f"; {div} of them have a diverged setting; the best-over-steps pick among all "
                f"settings (the old selection) agrees in {old}/{n}")
        for folder in ("seeds", "seeds_loss_only"):
            m = res[f"{folder}_{name}"]
            print(f"[{name}] {folder}: precision {m['precision']:.3f} recall {m['recall']:.3f} "
                  f"(tp {m['tp']} fp {m['fp']} fn {m['fn']} tn {m['tn']})")


if __name__ == "__main__":
    main()
