"""A project's own rules: extend-rules, its own code prefix, `rules test`, `features`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import main
from diagnose.rules import load_rules

HERE = Path(__file__).parent
PROJECT = HERE / "projects" / "own-rules"
FIXTURES = HERE.parent / "fixtures"
OWN_RULE = PROJECT / "ci" / "rules" / "XY101-val-loss-above-target.toml"


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A copy of the example project, as the working directory."""
    dst = tmp_path / "project"
    shutil.copytree(PROJECT, dst)
    monkeypatch.chdir(dst)
    return dst


def test_check_applies_shipped_and_own_rules(project):
    r = invoke("check", str(FIXTURES / "flat-loss"), str(FIXTURES / "healthy-mlp-adam"))
    # the project's rule is an error and the project fails on errors
    assert r.exit_code == 1, r.output
    assert "XY101 val-loss-above-target" in r.output and "DG101 flat-loss" in r.output
    assert "healthy-mlp-adam: ok" in r.output


def test_own_rules_are_selected_by_their_prefix(project):
    r = invoke("check", str(FIXTURES / "flat-loss"), "--select", "XY")
    assert "XY101" in r.output and "DG101" not in r.output
    r = invoke("check", str(FIXTURES / "flat-loss"), "--ignore", "XY101")
    assert "XY101" not in r.output and "DG101" in r.output


def test_extend_rules_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no pyproject here: only the flag adds the rule
    plain = invoke("check", str(FIXTURES / "flat-loss"))
    assert "XY101" not in plain.output
    r = invoke("check", str(FIXTURES / "flat-loss"), "--extend-rules", str(OWN_RULE.parent))
    assert "XY101 val-loss-above-target" in r.output and "DG101" in r.output
    assert "XY101" in invoke("rules", "--extend-rules", str(OWN_RULE.parent)).output
    assert "target the project set" in invoke("explain", "XY101", "--extend-rules",
                                             str(OWN_RULE)).output


def test_rules_test_passes_then_fails_on_a_broken_case(project):
    r = invoke("rules", "test")
    assert r.exit_code == 0, r.output
    assert "PASS  XY101 val-loss-above-target  case 'reaches-the-target'" in r.output
    assert "PASS  DG102" in r.output  # the shipped rules' cases run too
    assert " 0 failed" in r.output
    # a case that now expects the rule to fire where it does not
    rule = project / "ci" / "rules" / OWN_RULE.name
    text = rule.read_text(encoding="utf-8")
    broken = text.replace('name = "reaches-the-target"\nexpect = "pass"',
                          'name = "reaches-the-target"\nexpect = "fail"')
    assert broken != text
    rule.write_text(broken, encoding="utf-8")
    r = invoke("rules", "test", "ci/rules")
    assert r.exit_code == 1
    assert "FAIL  XY101 val-loss-above-target  case 'reaches-the-target'" in r.output
    assert "expected a finding, got none" in r.output
    assert "PASS  XY101 val-loss-above-target  case 'misses-the-target'" in r.output
    assert "DG102" not in r.output  # a folder given: only its rules
    assert "2 passed, 1 failed" in r.output


def _own_rule(tmp_path: Path, code: str, name: str = "mine") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    text = OWN_RULE.read_text(encoding="utf-8").replace('code = "XY101"', f'code = "{code}"')
    text = text.replace('name = "val-loss-above-target"', f'name = "{name}"')
    (folder / f"{code}-{name}.toml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("codes,complaint", [
    (["DG901"], "reserved for the shipped rules"),
    (["DGX101"], "reserved for the shipped rules"),
    (["XY101", "X102"], "clashes with"),
    (["xy101"], "three digits"),
    (["XYZAB101"], "three digits"),
])
def test_own_codes_are_checked(tmp_path, codes, complaint):
    for i, code in enumerate(codes):
        folder = _own_rule(tmp_path, code, f"mine-{i}")
    r = invoke("check", str(FIXTURES / "flat-loss"), "--extend-rules", str(folder))
    assert r.exit_code == 2
    assert complaint in r.output


def test_a_four_character_prefix_is_accepted(tmp_path):
    folder = _own_rule(tmp_path, "AB12101")
    rules = load_rules(extend=[folder])
    assert "AB12101" in {r.code for r in rules}


def test_features_json_lists_every_name_a_shipped_rule_uses():
    r = invoke("features", "--format", "json")
    rows = json.loads(r.output)
    listed = {row["name"]: row for row in rows}
    used = set().union(*(rule.names - set(rule.params) for rule in load_rules()))
    assert used, "the shipped rules use no feature?"
    missing = used - set(listed)
    assert not missing, f"used by rules but not listed: {sorted(missing)}"
    for name in used:
        row = listed[name]
        assert row["unit"] and row["doc"] and row["scope"] in ("run", "group"), row


def test_features_text_shows_unit_scope_and_doc():
    r = invoke("features", "--scope", "group")
    line = next(x for x in r.output.splitlines() if x.startswith("spread_vs_gap "))
    assert "ratio" in line and "group" in line and "reseeding" in line
    assert not any(x.split()[2] == "run" for x in r.output.splitlines())


def test_readme_worked_example_is_the_tested_project():
    readme = (HERE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing a rule", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```toml\n")[1:]
    rule_block = blocks[0].split("```", 1)[0]
    assert rule_block == OWN_RULE.read_text(encoding="utf-8")
    config_block = blocks[1].split("```", 1)[0]
    assert 'extend-rules = ["ci/rules"]' in config_block
    assert 'extend-rules = ["ci/rules"]' in (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
