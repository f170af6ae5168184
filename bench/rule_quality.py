"""Precision and recall of the rules per pattern, on fixture batches the rules were not tuned on.

    python bench/rule_quality.py --offsets 1 2 3      # trains the held-out batches (about 30 s each)

Each batch comes from ``fixtures/make_fixtures.py --seed-offset K``: other seeds and dataset
variants of every recipe. The expected pattern of a run is given by its recipe's name (what the
recipe was built to show); healthy runs expect no warning or error. Group findings are scored
against the seed groups.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: recipe folder -> patterns it should raise (at warning or above unless noted)
EXPECTED = {
    "healthy-mlp-adam": set(),
    "healthy-digits-cnn": set(),
    "healthy-regression": set(),
    "healthy-sgd-cosine": set(),
    "flat-loss": {"flat_loss"},
    "explosion": {"explosion"},
    "spikes-recover": {"loss_spikes"},
    "generalization-gap": {"generalization_gap"},
    "late-overfitting": {"late_overfitting"},
    "uniform-predictions": {"uniform_predictions"},
    "val-better-than-train": {"val_better_than_train"},  # an info-level rule
    "lr=0.001": {"flat_loss"},
    "lr=0.01": {"slow_convergence"},
    "lr=0.1": {"still_improving"},  # info
    "lr=1": set(),
    "lr=10": {"explosion"},
}
#: patterns that may accompany another without counting as false positives
COMPATIBLE = {"flat_loss": {"uniform_predictions"}, "uniform_predictions": {"flat_loss"},
              "generalization_gap": {"late_overfitting"}, "late_overfitting": {"generalization_gap"}}
INFO_PATTERNS = {"still_improving", "val_better_than_train"}


def expected_for(path: str) -> set[str] | None:
    parts = Path(path).parts
    for key in (parts[-1], parts[-2] if len(parts) > 1 else ""):
        if key in EXPECTED:
            return EXPECTED[key]
    return None


def score(batches: list[Path]) -> dict[str, dict[str, int]]:
    sys.path.insert(0, str(ROOT))
    import diagnose

    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    healthy_clean = [0, 0]
    for batch in batches:
        report = diagnose.check([batch])
        for run in report.runs:
            exp = expected_for(run.path or "")
            if exp is None:
                continue
            got = {pat for f in report.for_run(run.id) for pat in (f.pattern, *f.also)
                   if f.severity in ("error", "warning") or pat in INFO_PATTERNS}
            if not exp:
                healthy_clean[0] += not any(f.severity != "info" for f in report.for_run(run.id))
                healthy_clean[1] += 1
            allowed = set(exp)
            for p in exp:
                allowed |= COMPATIBLE.get(p, set())
            for p in exp:
                stats[p]["tp" if p in got else "fn"] += 1
            for p in got - allowed:
                stats[p]["fp"] += 1
        # seed groups
        for g in report.groups:
            if g.kind != "seeds":
                continue
            high = any("seeds-high-variance" in r for r in g.runs)
            low = any("seeds-low-variance" in r for r in g.runs)
            flagged = any(f.group == g.id and f.pattern == "seed_variance" for f in report.findings)
            if high:
                stats["seed_variance"]["tp" if flagged else "fn"] += 1
            elif low and flagged:
                stats["seed_variance"]["fp"] += 1
    stats["(healthy runs clean)"] = {"tp": healthy_clean[0], "fp": 0, "fn": healthy_clean[1] - healthy_clean[0]}
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offsets", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--keep", type=Path, help="write the batches here instead of a temp dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="diagnose-heldout-"))
    batches = []
    for k in args.offsets:
        out = base / f"offset-{k}"
        if not out.exists():
            subprocess.run([sys.executable, str(ROOT / "fixtures" / "make_fixtures.py"), "--out", str(out),
                            "--seed-offset", str(k)], check=True, stdout=subprocess.DEVNULL)
        batches.append(out)
    stats = score(batches)
    print(f"held-out batches: seed offsets {args.offsets} ({base})")
    print(f"{'pattern':26s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'precision':>10s} {'recall':>8s}")
    for p in sorted(stats):
        s = stats[p]
        prec = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else float("nan")
        rec = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else float("nan")
        print(f"{p:26s} {s['tp']:4d} {s['fp']:4d} {s['fn']:4d} {prec:10.2f} {rec:8.2f}")


if __name__ == "__main__":
    main()
