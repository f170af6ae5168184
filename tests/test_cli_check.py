"""`diagnose check` as a linter: exit codes, selection, configuration, formats."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import main
from diagnose.readers.native import METRICS_FILE, RUN_FILE, dumps_record, write_json_atomic


def write_run(path: Path, series: dict[str, list[float]], params: dict | None = None) -> Path:
    """A native run dir written with the same functions the Recorder uses."""
    path.mkdir(parents=True)
    n = max(len(v) for v in series.values())
    with open(path / METRICS_FILE, "w") as f:
        for step in range(n):
            vals = {k: v[step] for k, v in series.items() if step < len(v)}
            f.write(dumps_record(step, vals))
    write_json_atomic(path / RUN_FILE, {"format": "diagnose-run", "version": 1, "id": path.name,
                                        "params": params or {}, "status": "finished"})
    return path


HEALTHY = {"train/loss": [2.3 * math.exp(-k / 8) + 0.2 for k in range(60)],
           "val/loss": [2.3 * math.exp(-k / 8) + 0.25 for k in range(60)]}
DIVERGED = {"train/loss": [2.3, 2.2, 3.0, 9.0, 50.0, 400.0, math.inf, math.nan, math.nan, math.nan]}
# a loss that converges (not one cut short: DG219) with two spikes
SPIKY = {"train/loss": [0.5 + 1.5 * math.exp(-k / 8) + (2.5 if k in (12, 30) else 0.0) for k in range(40)]}


@pytest.fixture()
def runs(tmp_path):
    write_run(tmp_path / "healthy", HEALTHY, {"lr": 0.01})
    write_run(tmp_path / "diverged", DIVERGED, {"lr": 10.0})
    write_run(tmp_path / "spiky", SPIKY, {"lr": 0.1})
    return tmp_path


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_exit_codes_follow_fail_on(runs):
    assert invoke("check", str(runs / "healthy")).exit_code == 0
    r = invoke("check", str(runs))
    assert r.exit_code == 1
    assert "DG102" in r.output and "diverged" in r.output
    # the divergence is an error; with fail-on error the spikes (warning) alone would not fail
    assert invoke("check", str(runs / "spiky"), "--fail-on", "error").exit_code == 0
    assert invoke("check", str(runs), "--fail-on", "never").exit_code == 0


def test_unreadable_input_exits_2_and_names_the_file(runs):
    bad = runs / "broken"
    bad.mkdir()
    (bad / RUN_FILE).write_text("{not json")
    (bad / METRICS_FILE).write_text("")
    r = invoke("check", str(runs))
    assert r.exit_code == 2
    assert "run.json" in r.output  # stderr is mixed into output by CliRunner
    assert invoke("check", str(runs), "--skip-unreadable").exit_code == 1


def test_missing_path_is_usage_error(tmp_path):
    r = invoke("check", str(tmp_path / "nope"))
    assert r.exit_code == 2


def test_selection_more_specific_wins_and_ignore_wins_ties(runs):
    out = invoke("check", str(runs / "diverged"), "--select", "DG1", "--format", "json").output
    codes = {f["rule"] for f in json.loads(out)["findings"]}
    assert codes and all(c.startswith("DG1") for c in codes)
    # ignore the prefix but select the exact code: the code is more specific
    out = invoke("check", str(runs / "diverged"), "--ignore", "DG1", "--select", "DG102",
                 "--format", "json").output
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"DG102"}
    # same selector in both: ignore wins the tie
    out = invoke("check", str(runs / "diverged"), "--select", "loss-explosion", "--ignore",
                 "loss-explosion", "--format", "json").output
    assert "DG102" not in {f["rule"] for f in json.loads(out)["findings"]}
    # by tag
    out = invoke("check", str(runs / "spiky"), "--select", "stability", "--format", "json").output
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "DG202" in rules


def test_unknown_selector_is_an_error(runs):
    r = invoke("check", str(runs), "--select", "DG9x")
    assert r.exit_code == 2 and "DG9x" in r.output


def test_pyproject_config_params_and_errors(runs, tmp_path):
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.diagnose]\nignore = ["DG102", "DG201"]\n')
    assert invoke("check", str(runs / "diverged"), "--config", str(cfg)).exit_code == 0
    cfg.write_text('[tool.diagnose.params.loss-spikes]\nmin_ratio = 1000.0\n')
    assert invoke("check", str(runs / "spiky"), "--config", str(cfg)).exit_code == 0
    cfg.write_text('[tool.diagnose.params.loss-spikes]\nmin_ratio = 1e9\n')
    r = invoke("check", str(runs / "spiky"), "--config", str(cfg))
    assert r.exit_code == 2 and "maximum" in r.output
    cfg.write_text('[tool.diagnose]\nselekt = ["ALL"]\n')
    r = invoke("check", str(runs), "--config", str(cfg))
    assert r.exit_code == 2 and "selekt" in r.output


def test_per_run_ignores(runs, tmp_path):
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.diagnose.per-run-ignores]\n"*spiky*" = ["loss-spikes"]\n')
    out = invoke("check", str(runs / "spiky"), "--config", str(cfg), "--format", "json").output
    assert "DG202" not in {f["rule"] for f in json.loads(out)["findings"]}


def test_json_paths_follow_the_argument_as_given(runs, monkeypatch):
    monkeypatch.chdir(runs)
    out = json.loads(invoke("check", "healthy", "--format", "json").output)
    assert out["version"] == 1
    assert out["runs"][0]["path"] == "healthy"


def test_github_format_annotations_and_step_summary(runs, tmp_path):
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = invoke("check", str(runs / "diverged"), "--format", "github", env=env)
    assert r.exit_code == 1
    assert "::error" in r.output
    assert summary.exists() and "DG102" in summary.read_text()


def test_rules_and_explain():
    r = invoke("rules")
    assert r.exit_code == 0 and "DG101" in r.output and "flat-loss" in r.output
    r = invoke("explain", "DG102")
    for heading in ("What it detects", "Why it matters", "Example", "Options"):
        assert heading in r.output
    assert invoke("explain", "DG999").exit_code == 2


def test_check_never_imports_torch_nor_pandas_for_native_runs(runs):
    # the walk asks every format's detector about the folder above the runs: none of
    # them may pull in pandas (half a second per process) just to say no
    code = ("import sys; from diagnose.cli import main; "
            "sys.argv=['diagnose','check',%r,'--fail-on','never'];\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print('TORCH', 'torch' in sys.modules, 'PANDAS', 'pandas' in sys.modules)") % str(runs)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "TORCH False PANDAS False" in out.stdout, out.stdout + out.stderr
