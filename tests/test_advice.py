"""The next experiment as data (issue 19): a rule's [next_run] filled in from the runs, the
sweep decision's next runs, and `diagnose next` printing commands that run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import diagnose
from diagnose._errors import RuleError
from diagnose.advice import KINDS, command
from diagnose.cli import main
from diagnose.grouping import SEED_KEYS, fmt, run_seed
from diagnose.rules import load_rules, parse_rule, parse_rule_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RERUN_KEYS = {"kind", "change", "keep", "seeds", "budget", "compare_by", "at", "success",
              "baseline"}


def test_every_shipped_rule_says_what_to_run_next():
    for r in load_rules():
        assert r.next_run, f"{r.code} has no [next_run]"
        assert all(a["kind"] in KINDS for a in r.next_run)


def _rule_data(code: str) -> dict:
    import tomllib

    path = next((ROOT / "rules").glob(f"{code}-*.toml"))
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("bad, match", [
    ({"kind": "reboot"}, "kind must be one of"),
    ({"change": {"lr": "no_such_value"}}, "not a declared value"),
    ({"change": {"lr": True}}, "must name a declared value"),
    ({"seeds": "nope"}, "not a declared value"),
    ({"colour": "red"}, "unknown key"),
])
def test_a_bad_next_run_fails_when_the_rule_loads(bad, match):
    data = _rule_data("DG102")
    data["next_run"] = bad
    with pytest.raises(RuleError, match=match):
        parse_rule(data, "DG102.toml")


@pytest.fixture(scope="module")
def report():
    return diagnose.check([FIXTURES / d for d in ("explosion", "flat-loss", "generalization-gap",
                                                  "seeds-high-variance", "late-overfitting",
                                                  "spikes-recover", "uniform-predictions")])


def test_findings_carry_their_rules_next_runs(report):
    rules = {r.code: r for r in load_rules()}
    runs = {r.id: r for r in report.runs}
    seen = set()
    for f in report.findings:
        spec = rules[f.rule].next_run
        d = f.to_dict()
        assert d["next"] == f.next_run
        for entry in f.next_run:
            assert entry["kind"] in KINDS and entry["at"] == "final"
            alt = next(a for a in spec if a["kind"] == entry["kind"]
                       and set(a["change"]) == set(entry["change"]))
            for k, name in alt["change"].items():  # the value is the rule's declared value
                assert entry["change"][k] == f.evidence[name]
                if k == "lr":  # and the words say the same number
                    assert fmt(entry["change"][k]) in f.next_experiment
            if entry["kind"] == "rerun":
                assert RERUN_KEYS <= set(entry)
                assert not set(entry["keep"]) & (set(entry["change"]) | set(SEED_KEYS))
                if f.run:
                    run = runs[f.run]
                    assert entry["seeds"] == ([run_seed(run)] if run_seed(run) is not None else [])
                    assert entry["keep"] == {k: v for k, v in run.params.items()
                                             if k not in SEED_KEYS and k not in entry["change"]}
                    assert entry["budget"]["steps"] in (run.step_range[1],
                                                        f.evidence.get("steps_x2"))
            seen.add(f.rule)
    assert {"DG102", "DG101"} <= seen  # the fixtures do exercise changes of lr


def test_json_report_and_sweep_json_carry_next(report, tmp_path):
    out = CliRunner().invoke(main, ["check", str(FIXTURES / "explosion"), "--format", "json"])
    doc = json.loads(out.output)
    assert doc["findings"] and all("next" in f for f in doc["findings"])


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("demo") / "sweep"
    res = CliRunner().invoke(main, ["demo", str(d)])
    assert res.exit_code == 0, res.output
    return d


def test_next_on_the_demo_sweep_prints_commands_that_run(demo_dir, tmp_path):
    js = CliRunner().invoke(main, ["next", str(demo_dir), "--format", "json"])
    assert js.exit_code == 0, js.output
    entries = json.loads(js.output)["next"]
    sweep = json.loads(CliRunner().invoke(main, ["sweep", str(demo_dir), "--format",
                                                 "json"]).output)
    assert sweep["next"] == entries  # one answer, in the sweep's JSON and from `next`
    first = entries[0]
    assert first["kind"] == "rerun" and "lr" in first["change"] and len(first["seeds"]) >= 3
    assert first["success"].startswith("val/loss below")
    best = min(s["mean"] for s in sweep["settings"] if s["mean"] is not None)
    assert first["baseline"] == pytest.approx(best)

    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\n"
        "from diagnose import Recorder\n"
        "from diagnose._chapter import train_toy\n"
        "p = argparse.ArgumentParser()\n"
        "for k in ('--lr', '--steps'): p.add_argument(k, type=float)\n"
        "p.add_argument('--seed', type=int); p.add_argument('--out')\n"
        "a = p.parse_args()\n"
        "params = {'lr': a.lr, 'seed': a.seed, 'epochs': int(a.steps), 'batch_size': 180}\n"
        "with Recorder(a.out, params=params) as rec:\n"
        "    train_toy(params, rec)\n", encoding="utf-8")
    runs = tmp_path / "runs"
    template = (f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} "
                f"--seed {{seed}} --steps {{steps}} --out {shlex.quote(str(runs))}/lr={{lr}}/seed={{seed}}")
    txt = CliRunner().invoke(main, ["next", str(demo_dir), "--cmd", template])
    assert txt.exit_code == 0, txt.output
    lines = txt.output.strip().splitlines()
    assert lines == [c for e in entries for c in command(template, e)]
    assert len(lines) == sum(len(e["seeds"]) for e in entries if e["kind"] == "rerun")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(shlex.split(lines[0]), check=True, env=env, timeout=120)
    run = diagnose.load(runs / f"lr={fmt(first['change']['lr'])}" / f"seed={first['seeds'][0]}")
    assert run.params["lr"] == first["change"]["lr"]
    assert run.step_range[1] == first["budget"]["steps"]


def test_next_cmd_names_a_missing_param(demo_dir):
    res = CliRunner().invoke(main, ["next", str(demo_dir), "--cmd", "train --colour {colour}"])
    assert res.exit_code == 2
    assert "colour" in res.output


def test_rule_file_without_next_run_still_loads(tmp_path):
    src = next((ROOT / "rules").glob("DG101-*.toml")).read_text(encoding="utf-8")
    cut = src[: src.index("[next_run]")]
    p = tmp_path / "DG101-flat-loss.toml"
    p.write_text(cut, encoding="utf-8")
    assert parse_rule_file(p).next_run == ()


def test_next_is_the_same_with_workers_that_drop_curves():
    paths = [FIXTURES / "seeds-high-variance", FIXTURES / "explosion"]
    serial = diagnose.check(paths)
    pooled = diagnose.check(paths, jobs=2)
    key = lambda f: (f.rule, f.run or "", f.group or "")
    assert [(key(f), f.next_run) for f in sorted(serial.findings, key=key)] == \
        [(key(f), f.next_run) for f in sorted(pooled.findings, key=key)]
    groups = [f for f in serial.findings if f.group and f.next_run]
    assert groups, "the seed-variance fixture should give a group finding with next runs"
    for f in groups:
        for e in f.next_run:
            if e["kind"] == "rerun":
                assert e["baseline"] is not None and e["budget"]["steps"]
