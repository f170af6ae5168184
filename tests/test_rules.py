"""Every rule file: schema and docs (meta-test), and its inline pass/fail cases."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from diagnose import RuleError
from diagnose import expressions
from diagnose.expressions import Expression
from diagnose.features import FEATURES
from diagnose.rule_cases import run_case
from diagnose.rules import DOC_HEADINGS, default_rules_dir, load_rules

RULES = load_rules()
RULE_FILES = sorted(default_rules_dir().glob("*.toml"))


def test_rules_are_found():
    assert RULE_FILES, "no rule files shipped"
    assert len(RULES) == len(RULE_FILES)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_meta(path: Path):
    data = tomllib.loads(path.read_text())
    rule = next(r for r in RULES if r.code == data["code"])
    # file name carries code and slug
    assert path.name == f"{rule.code}-{rule.name}.toml"
    # at least one pass and one fail case
    expects = [c["expect"] for c in rule.cases]
    assert "pass" in expects and "fail" in expects
    # docs headings present and non-empty
    for key in ("what", "why", "example"):
        assert rule.docs.get(key, "").strip()
    text = rule.explain()
    for heading in DOC_HEADINGS.values():
        assert f"## {heading}" in text
    # every template/condition name is a declared feature or param
    declared = set(FEATURES) | set(rule.params) | {"run_count"}
    assert rule.names <= declared
    # message fields appear in the raw template text too (no hidden names)
    for field in re.findall(r"\{([A-Za-z][A-Za-z0-9_]*)", data["message"]):
        assert field in declared


def test_codes_and_names_unique():
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)


def test_chapter_patterns_are_covered():
    patterns = {r.pattern for r in RULES}
    for p in ("flat_loss", "explosion", "generalization_gap", "late_overfitting"):
        assert p in patterns


def _cases():
    for rule in RULES:
        for case in rule.cases:
            yield pytest.param(rule, case, id=f"{rule.code}-{case['name']}")


@pytest.mark.parametrize("rule,case", list(_cases()))
def test_inline_case(rule, case):
    result = run_case(rule, case)
    assert result.ok, f"{rule.code} case {case['name']!r}: {result.reason}"
    if case["expect"] == "fail":
        assert result.findings[0].rule == rule.code
    else:
        assert not result.findings


def test_parsed_rules_are_reused_until_a_file_changes(tmp_path: Path):
    """Every live-checked Recorder loads the rules: an unchanged file is parsed once, and an
    edited one (same name, new bytes) is parsed again, never served stale."""
    src = default_rules_dir() / "DG101-flat-loss.toml"
    own = tmp_path / "DG101-flat-loss.toml"
    own.write_bytes(src.read_bytes())
    first, = load_rules([own])
    again, = load_rules([own])
    assert again is first
    text = src.read_text(encoding="utf-8")
    assert 'severity = "warning"' in text
    own.write_text(text.replace('severity = "warning"', 'severity = "error"', 1), encoding="utf-8")
    edited, = load_rules([own])
    assert edited is not first
    assert (first.severity, edited.severity) == ("warning", "error")


def test_the_log_size_cap_does_not_apply_to_rule_files(monkeypatch: pytest.MonkeyPatch):
    """DIAGNOSE_MAX_FILE_BYTES bounds the user's logs; the shipped rules (DG102 is over 25 KiB)
    must still load under a small cap, bounded by their own limit instead."""
    biggest = max(p.stat().st_size for p in default_rules_dir().glob("*.toml"))
    monkeypatch.setenv("DIAGNOSE_MAX_FILE_BYTES", str(biggest // 4))
    assert len(load_rules()) == len(list(default_rules_dir().glob("*.toml")))


# -- [terms]: named parts of a condition ---------------------------------------------------------
_TERMS_RULE = '''
code = "XT101"
name = "terms-demo"
pattern = "demo"
severity = "warning"
requires = ["train/loss"]
when = "{when}"
message = "train loss ended at {{train_end:.3g}}"
cause = "demo"
next = "demo"

[terms]
{terms}

[params.top]
type = "float"
default = 1.0
doc = "demo"

[docs]
what = "demo"
why = "demo"
example = "demo"

[[cases]]
name = "high"
expect = "fail"
series = {{ "train/loss" = [3.0, 2.9, 2.8, 2.9, 2.8, 2.7] }}

[[cases]]
name = "low"
expect = "pass"
series = {{ "train/loss" = [0.5, 0.4, 0.3, 0.3, 0.2, 0.2] }}
'''


def _terms_rule(tmp_path: Path, when: str, terms: str):
    path = tmp_path / "XT101-terms-demo.toml"
    path.write_text(_TERMS_RULE.format(when=when, terms=terms), encoding="utf-8")
    return load_rules(extend=[path])[-1]


def test_terms_are_named_parts_of_the_condition(tmp_path: Path):
    """A term may read features, params and the terms above it; ``when`` reads terms by name,
    the engine computes every feature the terms need, and `explain` shows what each means."""
    rule = _terms_rule(tmp_path, "high and long", 'high = "train_end > top"\n'
                       'long = "train_points > top and high"')
    assert [n for n, _ in rule.terms] == ["high", "long"]
    assert {"train_end", "train_points", "top"} <= rule.names and "high" not in rule.names
    for case in rule.cases:
        assert run_case(rule, case).ok, case["name"]
    assert "- high = train_end > top" in rule.explain()


@pytest.mark.parametrize("terms, complaint", [
    ('long = "train_points > 1 and high"\nhigh = "train_end > top"', "unknown name 'high'"),
    ('train_end = "train_points > 1"\nhigh = "train_end > top"', "shadows"),
    ('top = "train_points > 1"\nhigh = "train_end > top"', "shadows"),
    ('High = "train_end > top"', "snake_case"),
    ('high = "train_end > "', "not a valid condition"),
    ("\n".join(f't{i} = "train_end > top"' for i in range(65)) + '\nhigh = "t0"', "more than 64 terms"),
])
def test_a_broken_term_names_the_file_and_the_term(tmp_path: Path, terms: str, complaint: str):
    with pytest.raises(RuleError) as e:
        _terms_rule(tmp_path, "high", terms)
    assert "XT101-terms-demo.toml" in str(e.value) and complaint in str(e.value)


def test_shipped_rules_with_terms_fire_as_their_inline_conditions_did(monkeypatch):
    """The longest conditions (DG102, DG104, DG206) are written with terms. Put each term's text
    back in place of its name and the one long expression must decide every inline case of the
    rule as the terms do (the engine evaluates terms as values: nothing is lost on the way).
    Pasted back, DG102 is longer than a rule file's condition may be (the reason for terms), so
    the parser's size bounds are lifted for this comparison only."""
    monkeypatch.setattr(expressions, "MAX_EXPR_NODES", 100_000)
    monkeypatch.setattr(expressions, "MAX_EXPR_CHARS", 1_000_000)
    with_terms = [r for r in RULES if r.terms]
    assert {r.code for r in with_terms} >= {"DG102", "DG104", "DG206"}
    for rule in with_terms:
        text = rule.when.text
        for name, expr in reversed(rule.terms):  # a later term may read an earlier one
            text = re.sub(rf"\b{name}\b", lambda _, e=expr: f"({e.text})", text)
        inline = dataclasses.replace(rule, terms=(), when=Expression.parse(text, None, rule.code))
        assert not inline.when.names & {n for n, _ in rule.terms}
        for case in rule.cases:
            got = [f.rule for f in run_case(rule, case).findings]
            assert got == [f.rule for f in run_case(inline, case).findings], (rule.code, case["name"])


def test_a_term_may_be_a_number(tmp_path: Path):
    rule = _terms_rule(tmp_path, "ratio > top", 'ratio = "train_end / (top / 2)"')
    for case in rule.cases:  # 2.7 / 0.5 > 1 fires; 0.2 / 0.5 does not
        assert run_case(rule, case).ok, case["name"]
