"""One idea, one home: ideas that used to have two implementations now give one answer."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest

import diagnose
from diagnose.config import Config
from diagnose.grouping import Layout
from diagnose.readers._params import path_params
from diagnose.run import Run

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spelling, key, check", [
    ("lr=nan", "lr", lambda v: isinstance(v, float) and math.isnan(v)),
    ("wd=none", "wd", lambda v: v is None),
    ("opt=adam_lr=3", "opt", lambda v: v == "adam_lr=3"),  # the first "=" splits, as in Hydra
])
def test_a_param_spelled_in_a_path_reads_the_same_everywhere(tmp_path, spelling, key, check):
    # the readers (folder names at read time) and grouping (runs without params) agree
    (run_dir := tmp_path / "sweep" / spelling).mkdir(parents=True)
    (run_dir / "metrics.csv").write_text("step,train/loss\n0,1.0\n1,0.5\n")
    read = diagnose.load(run_dir).params
    bare = Run(id="r", path=str(run_dir))
    Layout.of([bare])  # fills params found in the path
    assert check(read[key]) and check(path_params(run_dir)[key]) and check(bare.params[key])


def _best_by(run_dir: Path, metric: str) -> float:
    """Best (largest) finite value of ``metric``, read straight from metrics.jsonl."""
    values = [float(rec[metric]) for rec in map(json.loads, (run_dir / "metrics.jsonl")
                                                  .read_text().splitlines()) if metric in rec]
    return max(v for v in values if math.isfinite(v))


def test_sweep_by_a_maximised_metric_agrees_with_its_own_findings(tmp_path):
    torch = pytest.importorskip("torch")
    from diagnose._chapter import train_chapter_sweep

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_chapter_sweep(tmp_path, lrs=(0.001, 0.01, 0.1))
    finally:
        torch.set_num_threads(before)
    # the chapter logs accuracy as val/acc; call it val/bleu, a metric higher is better for
    cfg = Config(metrics={"val/acc": "val/bleu"})
    res = diagnose.sweep([tmp_path], by="val/bleu", config=cfg)
    dirs = sorted(p.parent for p in tmp_path.rglob("metrics.jsonl"))
    best_dir = max(dirs, key=lambda d: _best_by(d, "val/acc"))
    assert res.mode == "max"
    assert res.best is not None and res.best["setting"] == best_dir.name  # folders: lr=<lr>
    assert res.card["Best setting"].startswith(best_dir.name)
    group = {f.rule: f for f in res.findings if f.group}
    assert group["DG305"].evidence["best_setting"] == best_dir.name
    if "DG307" in group:
        assert f"lr={group['DG307'].evidence['best_value']:g}" == best_dir.name


_MACHINE_PATH = re.compile(r"(^|[\s\"'=:])/(work|home|root|Users|mnt|tmp/pytest-of)/")


def test_no_absolute_path_of_one_machine_in_code_tests_bench_or_fixtures():
    # paths of the shared folder are relative to the checkout (../shared) or come from an
    # environment variable; nothing names where one particular machine keeps things
    bad = []
    # other people's logs and configs, copied as committed (an OpenMMLab run keeps its config
    # as a .py file that names the author's data folder)
    data = (ROOT / "tests" / "data", ROOT / "bench" / "real-runs")
    for folder in ("diagnose", "tests", "bench", "fixtures"):
        for py in sorted((ROOT / folder).rglob("*.py")):
            if any(py.is_relative_to(d) for d in data):
                continue
            tree = ast.parse(py.read_text(encoding="utf-8"), str(py))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and _MACHINE_PATH.search(node.value):
                    bad.append(f"{py.relative_to(ROOT)}:{node.lineno}: {node.value[:80]!r}")
    assert not bad, "\n".join(bad)


def test_the_path_scan_sees_a_machine_path():
    assert _MACHINE_PATH.search("/" + "work/shared/real-logs")  # split: this file is scanned too
    assert not _MACHINE_PATH.search("../shared/real-logs")


@pytest.mark.parametrize("name,mode", [
    ("val/acc", "max"), ("val/top1_acc", "max"), ("val/mAP50-95", "max"), ("val/bleu", "max"),
    ("val/loss", "min"), ("val/mape", "min"), ("val/smape", "min"), ("val/acc_loss", "min"),
    ("val/perplexity", "min"),
])
def test_one_direction_for_a_metric_name(name, mode):
    from diagnose.run import infer_mode

    assert infer_mode(name) == mode
