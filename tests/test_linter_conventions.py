"""What ruff users expect of `diagnose check`, and suppression where the run lives."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
FLAT = FIXTURES / "flat-loss"  # a real run where DG101 flat-loss and DG204 uniform-predictions fire


def invoke(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


@pytest.fixture()
def flat(tmp_path):
    dst = tmp_path / "flat"
    shutil.copytree(FLAT, dst)
    return dst


def test_output_format_is_the_main_name_and_format_still_works(flat):
    a = invoke("check", str(flat), "--output-format", "json")
    b = invoke("check", str(flat), "--format", "json")
    assert json.loads(a.output)["findings"] == json.loads(b.output)["findings"]
    assert "--output-format" in invoke("check", "--help").output


def test_statistics_counts_findings_per_rule():
    r = invoke("check", str(FIXTURES), "--statistics", "-q")
    full = json.loads(invoke("check", str(FIXTURES), "--output-format", "json", "-q").output)
    want: dict[str, int] = {}
    for f in full["findings"]:
        want[f["rule"]] = want.get(f["rule"], 0) + 1
    got = {line.split("\t")[1]: int(line.split("\t")[0]) for line in r.output.splitlines()}
    assert got == want and len(got) > 3
    counts = [int(line.split("\t")[0]) for line in r.output.splitlines()]
    assert counts == sorted(counts, reverse=True)
    rows = json.loads(invoke("check", str(FIXTURES), "--statistics", "--output-format", "json",
                             "-q").output)
    assert {row["code"]: row["count"] for row in rows} == want


def test_extend_select_and_extend_ignore(flat):
    only = invoke("check", str(flat), "--select", "DG101")
    assert "DG101" in only.output and "DG204" not in only.output
    more = invoke("check", str(flat), "--select", "DG101", "--extend-select", "uniform-predictions")
    assert "DG101" in more.output and "DG204" in more.output
    less = invoke("check", str(flat), "--extend-ignore", "DG204")
    assert "DG101" in less.output and "DG204" not in less.output


def test_exit_zero(flat):
    assert invoke("check", str(flat)).exit_code == 1
    r = invoke("check", str(flat), "--exit-zero")
    assert r.exit_code == 0 and "DG101" in r.output
    # unreadable input is still exit 2
    bad = flat.parent / "bad"
    bad.mkdir()
    (bad / "metrics.jsonl").write_text("{not json\n", encoding="utf-8")
    (bad / "run.json").write_text("{", encoding="utf-8")
    assert invoke("check", str(bad), "--exit-zero").exit_code == 2


def test_did_you_mean_for_options_config_keys_and_selectors(flat, tmp_path):
    r = invoke("check", str(flat), "--fail_on", "error")
    assert r.exit_code == 2 and "--fail-on" in r.output
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.diagnose]\nfail_on = "error"\n', encoding="utf-8")
    r = invoke("check", str(flat), "--config", str(cfg))
    assert r.exit_code == 2 and "did you mean 'fail-on'?" in r.output
    r = invoke("check", str(flat), "--select", "flat-los")
    assert r.exit_code == 2
    assert "--select: selector 'flat-los'" in r.output and "did you mean 'flat-loss'?" in r.output
    assert "defaults" not in r.output


def test_a_bad_cli_selector_is_not_blamed_on_the_config_file(flat, tmp_path):
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text('[tool.diagnose]\nignore = ["DG203"]\n', encoding="utf-8")
    r = invoke("check", str(flat), "--config", str(cfg), "--ignore", "DG999")
    assert r.exit_code == 2
    assert "--ignore: selector 'DG999'" in r.output and "pyproject" not in r.output


def test_diagnose_ignore_file_in_the_run_folder(flat):
    (flat / "diagnose-ignore.toml").write_text(
        'uniform-predictions = "random labels on purpose: this run is the control"\n', encoding="utf-8")
    r = invoke("check", str(flat))
    assert "DG101" in r.output and "DG204" not in r.output
    assert "random labels on purpose" not in r.output
    v = invoke("check", str(flat), "--verbose")
    assert "ignored here: uniform-predictions (random labels on purpose: this run is the control)" in v.output
    assert "diagnose-ignore.toml" in v.output


def test_diagnose_ignore_in_run_json_and_reasons_required(flat):
    meta = json.loads((flat / "run.json").read_text(encoding="utf-8"))
    meta["diagnose-ignore"] = {"DG101": "lr=1e-5 is the low end of the sweep, flat by design",
                               "DG204": ""}
    (flat / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    r = invoke("check", str(flat))
    assert "DG101" not in r.output.replace("DG101:", "")  # ignored
    assert "warning DG204" in r.output  # no reason: not honoured, and said so
    assert "not honoured: DG204 has no reason" in r.output


def test_every_command_honours_the_run_folder_ignore(tmp_path):
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(FIXTURES / "chapter-sweep", sweep_dir)
    before = _findings_column(invoke("sweep", str(sweep_dir), "--format", "csv").output)
    # the lowest lr barely moves the model: flat, and the same answers at every evaluation
    assert before["0.001"] == "DG101,DG208"
    (sweep_dir / "lr=0.001" / "diagnose-ignore.toml").write_text(
        'flat-loss = "the lowest lr is there to show the flat end"\n'
        'constant-predictions = "so its model never changes its answers"\n', encoding="utf-8")
    after = _findings_column(invoke("sweep", str(sweep_dir), "--format", "csv").output)
    assert after["0.001"] == "" and after["10.0"] == before["10.0"]
    r = invoke("check", str(sweep_dir), "--select", "DG101")
    assert r.exit_code == 0 and "DG101" not in r.output


def _findings_column(text: str) -> dict[str, str]:
    return {row["lr"]: row["findings"] for row in csv.DictReader(io.StringIO(text))}


def test_params_for_a_misspelt_rule_are_an_error_with_a_suggestion(flat, tmp_path):
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text("[tool.diagnose.params.flat-los]\nmax_drop = 0.1\n", encoding="utf-8")
    r = invoke("check", str(flat), "--config", str(cfg))
    assert r.exit_code == 2 and "did you mean 'flat-loss'?" in r.output
    cfg.write_text("[tool.diagnose.params.flat-loss]\nmax_dro = 0.1\n", encoding="utf-8")
    r = invoke("check", str(flat), "--config", str(cfg))
    assert r.exit_code == 2 and "did you mean 'max_drop'?" in r.output
