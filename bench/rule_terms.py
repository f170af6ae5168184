"""Benchmark: rules written with ``[terms]`` against the same rules at an older commit.

``[terms]`` name the parts of a long condition; the engine evaluates every term of a rule
before its ``when`` (no short-circuit across terms). This measures what that costs, in one
process, on the same runs, with interleaved rounds:

- the conditions alone: every feature already computed, only the rules judged;
- the whole per-run evaluation (features and rules), as ``diagnose check`` does it.

It also checks that both rule sets find the same findings on every run it times.

    python bench/rule_terms.py [--old 220e332] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import diagnose  # noqa: E402
from diagnose.engine import _fires, evaluate_run  # noqa: E402
from diagnose.features import RunContext  # noqa: E402
from diagnose.rules import load_rules  # noqa: E402


def rules_at(rev: str, into: Path) -> list:
    """The shipped rule files as they were at git revision ``rev``."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "rules/"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        if name.endswith(".toml"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"],
                                  check=True, capture_output=True, text=True).stdout
            (into / Path(name).name).write_text(text, encoding="utf-8")
    return load_rules([into])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default="220e332", help="commit whose rules have no terms")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = rules_at(args.old, Path(tmp))
    new = load_rules()
    print(f"rules with terms now: {', '.join(r.code for r in new if r.terms) or 'none'}")
    runs = [r for p in sorted((ROOT / "fixtures").glob("*/")) for r in diagnose.load_all(p)]
    ctxs = [(r, RunContext(r)) for r in runs]
    same = sum(_key(evaluate_run(r, old, ctx=c)) == _key(evaluate_run(r, new, ctx=c)) for r, c in ctxs)
    print(f"same findings on {same} of {len(ctxs)} fixture runs")

    values = []
    for r, c in ctxs:
        v: dict = {}
        for rule in [*old, *new]:
            if rule.scope == "run":
                _fires(rule, v, c, None)
        values.append((v, c))

    def judge(rules: list) -> float:
        t = time.perf_counter()
        for v, c in values:
            for _ in range(50):
                for rule in rules:
                    if rule.scope == "run":
                        _fires(rule, v, c, None)
        return time.perf_counter() - t

    def whole(rules: list) -> float:
        t = time.perf_counter()
        for r, _ in ctxs:
            evaluate_run(r, rules)
        return time.perf_counter() - t

    for what, fn, unit in (("conditions alone (features cached), x50", judge, "ms"),
                           ("whole evaluation per run (features + rules)", whole, "ms")):
        times: dict[str, list[float]] = {"inline": [], "terms": []}
        for k in range(args.rounds):
            order = (("inline", old), ("terms", new)) if k % 2 else (("terms", new), ("inline", old))
            for name, rules in order:
                times[name].append(fn(rules))
        a, b = statistics.median(times["inline"]), statistics.median(times["terms"])
        print(f"{what}, {len(ctxs)} runs: inline ({args.old}) {a * 1000:.1f} {unit}, "
              f"terms {b * 1000:.1f} {unit}, ratio {b / a:.3f}")


def _key(findings: list) -> list:
    return [(f.rule, f.message, f.cause, f.next_experiment) for f in findings]


if __name__ == "__main__":
    main()
