"""The condition language: what it computes, and everything it must refuse."""

from __future__ import annotations

import math

import pytest

from diagnose import RuleError
from diagnose.rules import Expression, Template, parse_rule

DECLARED = {"a", "b", "c", "ratio", "limit"}

ESCAPES = [
    "__import__('os').system('echo pwned')",
    "a.__class__.__mro__[1].__subclasses__()",
    "().__class__.__bases__[0]",
    "a.real",
    "a[0]",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    "{x for x in (1, 2)}",
    "f'{a}'",
    "a ** 1000000",
    "(b := 3)",
    "'a string' == a",
    "max(a, key=b)",
    "max(*a)",
    "a; b",
    "import os",
    "exec('1')",
    "open('/etc/passwd')",
    "9" * 400,
    "getattr(a, 'x')",
    "a if b else c",
    "globals()",
    "_private > 1",
    "b'bytes' == a",
    "a @ b",
    "a % b",
    "a // b",
    "~a",
    "a in (1, 2)",
    "a is None",
    "not_declared > 1",
    "1e999 > a",
    " + ".join(["a"] * 300),
    "-" * 40 + "a",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escape_attempts_are_rejected_at_load(text):
    with pytest.raises(RuleError) as e:
        Expression.parse(text, DECLARED, "rules/DG999-test.toml: when")
    assert "rules/DG999-test.toml" in str(e.value)


def test_at_least_fifteen_escapes_tried():
    assert len(ESCAPES) >= 15


@pytest.mark.parametrize(
    "text,env,expected",
    [
        ("a > 1 and b < 2", {"a": 2, "b": 1}, True),
        ("a > 1 and b < 2", {"a": 2, "b": 3}, False),
        ("a + b * 2 == 7", {"a": 1, "b": 3}, True),
        ("-a < 0", {"a": 1}, True),
        ("abs(a - b) >= 1.5", {"a": 1, "b": 3}, True),
        ("min(a, b, c) == 1 and max(a, b) == 3", {"a": 1, "b": 3, "c": 2}, True),
        ("isnan(a)", {"a": math.nan}, True),
        ("1 < a < 3", {"a": 2}, True),
        ("1 < a < 3", {"a": 5}, False),
        ("not a > 1", {"a": 0}, True),
        ("a / b > 1", {"a": 1, "b": 0}, None),  # division by zero is unknown, not an error
        ("a > 1", {}, None),  # missing value: unknown
        ("a > 1 or b > 1", {"b": 2}, True),  # unknown or true = true
        ("a > 1 and b > 1", {"b": 0}, False),  # unknown and false = false
        ("a > 1 and b > 1", {"b": 2}, None),
        ("a > 1 or b > 1", {"b": 0}, None),  # unknown or false = unknown
        ("a > 1 or b > 1 or c > 1", {"a": 0, "c": 2}, True),
        ("b > 1 and a > 1", {"b": 2, "a": math.nan}, False),  # NaN compares false
        ("isnan(a) and a > 1", {"a": math.nan}, False),
        ("max(a, b) > 1", {"a": 2}, None),  # a missing argument: unknown
        ("log(a) > 0", {"a": -1.0}, None),  # outside the domain: unknown
        ("1 < a < b", {"a": 2}, None),
        ("3 < a < b", {"a": 2}, False),
    ],
)
def test_evaluation(text, env, expected):
    expr = Expression.parse(text, DECLARED, "t")
    assert expr.evaluate(env) is expected if expected is None else expr.evaluate(env) == expected
    assert expr.holds(env) is (expected is True)


def test_template_rejects_undeclared_and_bad_specs():
    with pytest.raises(RuleError, match="undeclared"):
        Template("value {secret}", DECLARED, "t")
    with pytest.raises(RuleError, match="format spec"):
        Template("value {a:zz}", DECLARED, "t")
    with pytest.raises(RuleError, match="placeholder"):
        Template("value {a.__class__}", DECLARED, "t")


def test_template_renders_values_fallbacks_and_braces():
    t = Template("lr {a:g} -> {b:g|a third} {{literal}} {ratio:.0%} {c}", DECLARED, "t")
    assert t.render({"a": 10.0, "ratio": 0.25}) == "lr 10 -> a third {literal} 25% n/a"
    assert t.render({"a": 10.0, "b": 3.0, "ratio": 0.25, "c": math.inf}) == "lr 10 -> 3 {literal} 25% inf"


def _rule(**over):
    data = {
        "code": "DG999", "name": "test-rule", "pattern": "test", "severity": "warning",
        "when": "peak_ratio > limit", "message": "peak {peak_ratio:.1f}", "cause": "c", "next": "n",
        "params": {"limit": {"type": "float", "default": 3.0, "min": 1.0, "max": 10.0, "doc": "d"}},
        "docs": {"what": "w", "why": "y", "example": "e"},
        "cases": [],
    }
    data.update(over)
    return data


def test_rule_schema_errors_name_the_file_and_piece():
    parse_rule(_rule(), "rules/DG999-test-rule.toml")  # valid
    bad = [
        (_rule(severity="fatal"), "severity"),
        (_rule(extra_key=1), "unknown key"),
        (_rule(when="peak_ratio > nope"), "unknown name 'nope'"),
        (_rule(message="{nope}"), "undeclared"),
        (_rule(params={"limit": {"type": "float", "default": 30.0, "min": 1.0, "max": 10.0, "doc": "d"}}), "above its maximum"),
        (_rule(code="X1"), "code"),
        (_rule(docs={"what": "w"}), "docs.why"),
        (_rule(cases=[{"name": "x", "expect": "maybe", "series": {}}]), "expect"),
        (_rule(scope="group"), "group kinds"),
    ]
    for data, needle in bad:
        with pytest.raises(RuleError) as e:
            parse_rule(data, "rules/DG999-test-rule.toml")
        assert "rules/DG999-test-rule.toml" in str(e.value)
        assert needle in str(e.value), str(e.value)


def test_conditions_parse_in_many_threads_at_once():
    """The autopilot starts its trials' Recorders (each loading the rules) in threads; on
    CPython 3.11 two ``ast.parse`` calls at once can fail with "AST constructor recursion
    depth mismatch", which once failed a trial before it trained."""
    from concurrent.futures import ThreadPoolExecutor

    from diagnose.rules import load_rules

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: len(load_rules()), range(64)))
    assert got == [got[0]] * 64 and got[0] > 0
