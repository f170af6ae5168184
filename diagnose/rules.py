"""Rule files: loading and validation.

A rule is data (``rules/<CODE>-<slug>.toml``). Everything in it is checked when
it is loaded, so a bad rule fails loudly with the file and the piece named,
never silently at check time. Its condition and messages are written in the
language of :mod:`diagnose.expressions`.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ._errors import ReadError, RuleError
from .advice import parse_spec
from .expressions import (  # noqa: F401  (the limits stay importable from here)
    MAX_EXPR_CHARS,
    MAX_EXPR_DEPTH,
    MAX_EXPR_NODES,
    MAX_FORMAT_NUMBER,
    MAX_INT_DIGITS,
    Expression,
    Template,
)
from .features import DEFAULTS_LOADER, FEATURES, PARAM_DEFAULTS, feature_params
from .findings import SEVERITIES
from .readers._safe_open import open_regular

__all__ = [
    "Expression",
    "Param",
    "Rule",
    "Template",
    "code_prefix",
    "default_rules_dir",
    "load_rules",
]

#: Rule files come from untrusted repositories too: bounded size, bounded message formats.
MAX_RULE_FILE_BYTES = 256 << 10
#: Terms are evaluated as values, each once per run (not pasted into ``when``, where a term
#: read twice by the next, and so on, would grow the condition exponentially); a bounded
#: number of them, each within the expression limits, bounds a rule's cost.
MAX_TERMS = 64


# ---------------------------------------------------------------------------------------
# rule files
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: float | int
    min: float | None
    max: float | None
    doc: str

    def check(self, value: Any, where: str) -> float | int:
        """Validate a configured value against type and bounds."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleError(f"{where}: param {self.name!r} must be a number, got {value!r}")
        if self.type == "int" and not float(value).is_integer():
            raise RuleError(f"{where}: param {self.name!r} must be an integer, got {value!r}")
        if not math.isfinite(value) and not (self.max is None and value > 0):
            raise RuleError(f"{where}: param {self.name!r} must be finite")
        if self.min is not None and value < self.min:
            raise RuleError(f"{where}: param {self.name!r}={value} is below its minimum {self.min}")
        if self.max is not None and value > self.max:
            raise RuleError(f"{where}: param {self.name!r}={value} is above its maximum {self.max}")
        return int(value) if self.type == "int" else float(value)


DOC_HEADINGS = {"what": "What it detects", "why": "Why it matters", "example": "Example",
                "options": "Options"}


#: the keys of an alternative cause (``[[causes]]``): the first two are required
_CAUSE_KEYS = {"when", "cause", "next", "next_run"}


@dataclass(frozen=True)
class Cause:
    """One alternative cause of a rule: printed when ``when`` holds, with its own next
    experiment (words and data) when it names one."""

    when: Expression
    cause: Template
    next: Template | None = None
    next_run: tuple[dict[str, Any], ...] = ()


#: the keys of a consequence (``[[also]]``): all three are required
_ALSO_KEYS = {"pattern", "message", "when"}


@dataclass(frozen=True)
class Also:
    """A second pattern a finding tells as a consequence of its own (``[[also]]``), in its
    message, with no cause or next experiment of its own: a run that blew up and then sat still
    answers every input alike, and the blow-up is still the one thing to fix (issue 14, case 11:
    on a diverged run no other finding is reported on its own). It holds when ``when`` holds
    on the rule's values.
    """

    pattern: str
    message: Template
    when: Expression


@dataclass
class Rule:
    code: str
    name: str
    pattern: str
    severity: str
    tags: tuple[str, ...]
    when: Expression
    message: Template
    cause: Template
    next: Template
    params: dict[str, Param]
    docs: dict[str, str]
    cases: list[dict[str, Any]]
    scope: str = "run"
    groups: tuple[str, ...] = ()
    live: bool = True
    requires: tuple[str, ...] = ()
    #: features the rule cannot judge a run without (``num_classes``: no chance level without
    #: K): a run on which one has no value was not checked by this rule, and the report says so
    needs: tuple[str, ...] = ()
    steps: tuple[str, str] | None = None
    #: codes of rules that, when they fire on the same run, make this finding noise
    suppressed_by: tuple[str, ...] = ()
    path: str = ""
    #: every name the rule reads: condition, templates, step range, next runs
    names: frozenset[str] = field(default_factory=frozenset)
    #: alternative causes, the first whose condition holds replaces ``cause`` (and, where the
    #: alternative names its own, ``next`` and ``next_run``: the advice must fit the cause)
    causes: tuple[Cause, ...] = ()
    #: the ``[next_run]`` alternatives, checked (see :mod:`diagnose.advice`)
    next_run: tuple[dict[str, Any], ...] = ()
    #: named parts of the condition (``[terms]``), in file order: each may read the ones
    #: before it; ``when`` and the causes' conditions read them by name
    terms: tuple[tuple[str, Expression], ...] = ()
    #: consequences the finding tells with its own pattern (see :class:`Also`)
    also: tuple[Also, ...] = ()

    def with_terms(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` (features and params) with the value of every term added, in order."""
        env = dict(values)
        for name, expr in self.terms:
            env[name] = expr.evaluate(env)
        return env

    def defaults(self) -> dict[str, float | int]:
        return {k: p.default for k, p in self.params.items()}

    def advice_for(self, env: Mapping[str, Any]
                   ) -> tuple[Template, Template, tuple[dict[str, Any], ...]]:
        """The cause that fits the evidence (the first alternative whose condition holds, else
        the rule's) and the next experiment that follows it, in words and as data (the
        alternative's own where it has one, else the rule's)."""
        alt = next((c for c in self.causes if c.when.holds(env)), None)
        if alt is None:
            return self.cause, self.next, self.next_run
        return alt.cause, alt.next or self.next, alt.next_run or self.next_run

    def explain(self) -> str:
        """The rule's documentation, as `diagnose explain` prints it."""
        lines = [f"{self.code} ({self.name})", "",
                 f"pattern: {self.pattern}   severity: {self.severity}   scope: {self.scope}"
                 + ("" if self.live else "   (end of training only)"),
                 f"tags: {', '.join(self.tags)}", ""]
        for key, heading in DOC_HEADINGS.items():
            body = self.docs.get(key, "").strip()
            if key == "options" and self.params:
                body = (body + "\n\n" if body else "") + "\n".join(
                    f"- `{p.name}` ({p.type}, default {p.default}"
                    + (f", min {p.min}" if p.min is not None else "")
                    + (f", max {p.max}" if p.max is not None else "")
                    + f"): {p.doc}"
                    for p in self.params.values()
                )
            lines += [f"## {heading}", body or "(none)", ""]
        lines += ["## Condition", self.when.text]
        if self.terms:
            lines += ["", "where"] + [f"- {n} = {e.text}" for n, e in self.terms]
        if self.causes:
            lines += ["", "## Causes (the first whose condition holds, else the one above)"]
            for c in self.causes:
                lines.append(f"- when {c.when.text}: {c.cause.text}")
                if c.next:
                    lines.append(f"  next: {c.next.text}")
            lines += [f"- otherwise: {self.cause.text}"]
        if self.also:
            lines += ["", "## Also told (a second pattern, in this finding's message)"]
            for a in self.also:
                lines.append(f"- {a.pattern}, when {a.when.text}: {a.message.text}")
        return "\n".join(lines).rstrip() + "\n"


_TOP_KEYS = {"code", "name", "pattern", "severity", "tags", "scope", "groups", "live", "requires",
             "when", "steps", "message", "cause", "next", "params", "docs", "cases", "suppressed_by", "needs",
             "causes", "evidence", "next_run", "terms", "also"}
_REQUIRED = ("code", "name", "pattern", "severity", "when", "message", "cause", "next", "docs")
_PARAM_KEYS = {"type", "default", "min", "max", "doc"}
_CASE_KEYS = {"name", "expect", "series", "steps", "params", "config", "runs", "num_classes", "by",
              "also"}
#: A code is a prefix (one to four capital letters and digits) and three digits: DG102, XY101.
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{0,3}\d{3}$")
#: The prefix of the shipped rules; a project's own rules choose another.
SHIPPED_PREFIX = "DG"
_SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PATTERN_RE = re.compile(r"^[a-z][a-z0-9_]*$")
GROUP_KINDS = ("seeds", "sweep", "mixed", "pattern")


def default_rules_dir() -> Path:
    """The shipped rules: inside the wheel (``diagnose/_rules``) or the source tree's ``rules/``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_rules"
    return packaged if packaged.is_dir() else here.parent / "rules"


def load_rules(paths: Iterable[str | Path] | None = None,
               extend: Iterable[str | Path] = ()) -> list[Rule]:
    """Load and validate rule files (default: the shipped set), sorted by code.

    ``extend``: a project's own rule files or folders, added to that set; their codes
    use the project's own prefix (``DG`` is the shipped rules'). Raises
    :class:`RuleError` naming the file and the offending piece.
    """
    base = _rule_files([default_rules_dir()] if paths is None else paths)
    own = _rule_files(extend)
    rules = [parse_rule_file(f) for f in base]
    n_base = len(rules)
    rules += [parse_rule_file(f) for f in own]
    for r in rules[n_base:]:
        if code_prefix(r.code).startswith(SHIPPED_PREFIX):
            raise RuleError(f"{r.path}: code {r.code}: the prefix {SHIPPED_PREFIX} is reserved for "
                            "the shipped rules; give your rules your own prefix (e.g. XY101)")
    _check_prefixes(rules)
    _register_feature_params(rules)
    seen: dict[str, str] = {}
    codes = {r.code for r in rules}
    for r in rules:
        unknown = set(r.suppressed_by) - codes
        if unknown and paths is None:
            raise RuleError(f"{r.path}: suppressed_by names unknown rule(s) {sorted(unknown)}")
        for key in (r.code, r.name):
            if key in seen:
                raise RuleError(f"{r.path}: {key!r} already used by {seen[key]}")
            seen[key] = r.path
    return sorted(rules, key=lambda r: r.code)


def _rule_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        elif p.is_file():
            files.append(p)
        else:
            raise RuleError(f"{p}: no such rule file or directory")
    return files


def code_prefix(code: str) -> str:
    """``XY`` for ``XY101``: what a code selector must at least name."""
    return code[:-3]


def _check_prefixes(rules: list[Rule]) -> None:
    """No prefix may begin another (``X`` and ``XY``): a selector would pick both sets."""
    first: dict[str, str] = {}
    for r in rules:
        first.setdefault(code_prefix(r.code), r.path)
    for a in first:
        for b in first:
            if a != b and b.startswith(a):
                raise RuleError(f"{first[b]}: code prefix {b!r} clashes with {a!r} ({first[a]}): "
                                f"selecting {a} would select both; choose another prefix")


def _register_feature_params(rules: Iterable[Rule]) -> None:
    """Give the features the defaults of the thresholds they read (declared in rule files).

    Each such parameter is declared by one rule file; a second declaration is an error.
    """
    wanted = feature_params()
    owner: dict[str, str] = {}
    for r in rules:
        for name, p in r.params.items():
            if name not in wanted:
                continue
            if name in owner and owner[name] != r.path:
                raise RuleError(f"{r.path}: params.{name} is read by a feature and already "
                                f"declared by {owner[name]}; declare it once")
            owner[name] = r.path
            PARAM_DEFAULTS[name] = p.default


def _load_feature_defaults() -> None:
    """Fill the features' parameter defaults from the shipped rule files."""
    load_rules()


def read_toml(path: Path, limit: int, error: type[Exception], too_big: str) -> dict[str, Any]:
    """Read an untrusted TOML file of at most ``limit`` bytes; every failure becomes ``error``.

    Shared by rule files and ``[tool.diagnose]`` so both refuse the same hostile input.
    """
    return _loads_toml(path, _read_limited(path, limit, error, too_big), error)


def _read_limited(path: Path, limit: int, error: type[Exception], too_big: str) -> bytes:
    try:
        # a FIFO would block, a device never ends; the size bound is ``limit``, not the log
        # cap (DIAGNOSE_MAX_FILE_BYTES), which is the user's setting for their logs
        with open_regular(path, sys.maxsize) as f:
            raw = f.read(limit + 1)
    except OSError as e:
        raise error(f"{path}: cannot read: {e}") from None
    except ReadError as e:
        raise error(str(e)) from None
    if len(raw) > limit:
        raise error(f"{path}: {too_big}")
    return raw


def _loads_toml(path: Path, raw: bytes, error: type[Exception]) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: cannot read: {e}") from None
    except (ValueError, RecursionError) as e:  # an integer too long to convert, deep nesting
        raise error(f"{path}: invalid TOML: {type(e).__name__}: {e}") from None


#: parsed rules by (path, content digest): every live-checked Recorder and every ``check``
#: call loads the rules, and parsing (TOML, then every condition and template) is most of
#: that cost. Keyed by the bytes, so an edited file is parsed again; rules are never mutated
#: after parsing, so sharing one object is safe.
_PARSED: dict[tuple[str, bytes], Rule] = {}
_MAX_PARSED = 1024


def parse_rule_file(path: Path) -> Rule:
    path = Path(path)
    raw = _read_limited(path, MAX_RULE_FILE_BYTES, RuleError,
                        f"larger than {MAX_RULE_FILE_BYTES >> 10} KiB; not a rule file")
    key = (str(path), hashlib.blake2b(raw, digest_size=16).digest())
    rule = _PARSED.get(key)
    if rule is None:
        rule = parse_rule(_loads_toml(path, raw, RuleError), str(path))
        if len(_PARSED) >= _MAX_PARSED:  # a long-lived process editing rules: start over
            _PARSED.clear()
        _PARSED[key] = rule
    return rule


def parse_rule(data: Mapping[str, Any], where: str) -> Rule:
    """Validate one rule's data (already parsed from TOML)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    for k in _REQUIRED:
        if k not in data:
            raise RuleError(f"{where}: missing required key {k!r}")
    code, name, pattern = data["code"], data["name"], data["pattern"]
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise RuleError(f"{where}: code must be a prefix of one to four capital letters or digits "
                        f"and three digits (DG123, XY101), got {code!r}")
    if not isinstance(name, str) or not _SLUG_RE.match(name):
        raise RuleError(f"{where}: name must be a lower-case slug, got {name!r}")
    if not isinstance(pattern, str) or not _PATTERN_RE.match(pattern):
        raise RuleError(f"{where}: pattern must be snake_case, got {pattern!r}")
    severity = data["severity"]
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    scope = data.get("scope", "run")
    if scope not in ("run", "group"):
        raise RuleError(f"{where}: scope must be 'run' or 'group', got {scope!r}")
    groups = tuple(_str_list(data.get("groups", []), f"{where}: groups"))
    if scope == "group" and not groups:
        raise RuleError(f"{where}: a group rule must list the group kinds it applies to (groups = [...])")
    bad_kinds = set(groups) - set(GROUP_KINDS)
    if bad_kinds:
        raise RuleError(f"{where}: unknown group kind(s) {sorted(bad_kinds)}; use {GROUP_KINDS}")
    live = data.get("live", True)
    if not isinstance(live, bool):
        raise RuleError(f"{where}: live must be true or false")

    params: dict[str, Param] = {}
    for pname, spec, pw in _named_entries(data.get("params", {}), where, "params", "param"):
        if pname in FEATURES:
            raise RuleError(f"{pw}: shadows the feature of the same name")
        if not isinstance(spec, dict):
            raise RuleError(f"{pw}: must be a table with type, default, min, max, doc")
        extra = set(spec) - _PARAM_KEYS
        if extra:
            raise RuleError(f"{pw}: unknown key(s): {', '.join(sorted(extra))}")
        ptype = spec.get("type", "float")
        if ptype not in ("float", "int"):
            raise RuleError(f"{pw}: type must be 'float' or 'int'")
        if "default" not in spec or "doc" not in spec:
            raise RuleError(f"{pw}: needs a default and a doc")
        p = Param(pname, ptype, spec["default"], spec.get("min"), spec.get("max"), str(spec["doc"]))
        for bound in ("min", "max"):
            b = spec.get(bound)
            if b is not None and (isinstance(b, bool) or not isinstance(b, (int, float))):
                raise RuleError(f"{pw}: {bound} must be a number")
        p.check(p.default, pw)
        params[pname] = p

    scope_names = {k for k, s in FEATURES.items() if s.scope == scope}
    if scope == "group":
        scope_names |= {"run_count"}
    declared = scope_names | set(params)
    terms = _parse_terms(data.get("terms", {}), declared, where)
    term_names = {n for n, _ in terms}
    when = Expression.parse(data["when"], declared | term_names, f"{where}: when")
    templates = {k: Template(data[k], declared, f"{where}: {k}") for k in ("message", "cause", "next")}
    steps = data.get("steps")
    if steps is not None:
        steps_l = _str_list(steps, f"{where}: steps")
        if len(steps_l) != 2 or not set(steps_l) <= declared:
            raise RuleError(f"{where}: steps must name two declared values [first, last]")
        steps = (steps_l[0], steps_l[1])
    requires = tuple(_str_list(data.get("requires", []), f"{where}: requires"))
    needs = tuple(_str_list(data.get("needs", []), f"{where}: needs"))
    if not set(needs) <= set(FEATURES):
        raise RuleError(f"{where}: needs must name features, got {sorted(set(needs) - set(FEATURES))}")
    suppressed_by = tuple(_str_list(data.get("suppressed_by", []), f"{where}: suppressed_by"))
    for c in suppressed_by:
        if not _CODE_RE.match(c) or c == code:
            raise RuleError(f"{where}: suppressed_by must list other rules' codes, got {c!r}")

    docs = data["docs"]
    if not isinstance(docs, dict):
        raise RuleError(f"{where}: docs must be a table with {', '.join(DOC_HEADINGS)}")
    for key in ("what", "why", "example"):
        if not isinstance(docs.get(key), str) or not docs[key].strip():
            raise RuleError(f"{where}: docs.{key} ({DOC_HEADINGS[key]}) is required")
    extra = set(docs) - set(DOC_HEADINGS)
    if extra:
        raise RuleError(f"{where}: unknown docs key(s): {', '.join(sorted(extra))}")

    cases = data.get("cases", [])
    if not isinstance(cases, list):
        raise RuleError(f"{where}: cases must be an array of tables ([[cases]])")
    for i, c in enumerate(cases):
        cw = f"{where}: cases[{i}]"
        if not isinstance(c, dict):
            raise RuleError(f"{cw}: must be a table")
        extra = set(c) - _CASE_KEYS
        if extra:
            raise RuleError(f"{cw}: unknown key(s): {', '.join(sorted(extra))}")
        if c.get("expect") not in ("pass", "fail"):
            raise RuleError(f"{cw}: expect must be 'pass' or 'fail'")
        if scope == "run" and not isinstance(c.get("series"), dict):
            raise RuleError(f"{cw}: a run rule's case needs series = {{metric = [values]}}")
        if scope == "group" and not isinstance(c.get("runs"), list):
            raise RuleError(f"{cw}: a group rule's case needs [[cases.runs]] entries")
        for k, v in (c.get("config") or {}).items():
            if k not in params:
                raise RuleError(f"{cw}: config names unknown param {k!r}")
            params[k].check(v, cw)

    causes = []
    raw_causes = data.get("causes", [])
    if not isinstance(raw_causes, list):
        raise RuleError(f"{where}: causes must be an array of tables ([[causes]])")
    alt_names: set[str] = set()
    for i, c in enumerate(raw_causes):
        cw = f"{where}: causes[{i}]"
        if not isinstance(c, dict) or not {"when", "cause"} <= set(c) <= _CAUSE_KEYS:
            raise RuleError(f"{cw}: must be a table with `when` and `cause`, and optionally `next` "
                            "and `next_run`")
        alt_next = Template(c["next"], declared, f"{cw}.next") if "next" in c else None
        alt_run, run_names = (parse_spec(c["next_run"], declared, cw) if "next_run" in c
                              else ((), set()))
        alt_names |= run_names | (alt_next.names if alt_next else set())
        causes.append(Cause(Expression.parse(c["when"], declared | term_names, f"{cw}.when"),
                            Template(c["cause"], declared, f"{cw}.cause"), alt_next, alt_run))

    names = set(when.names) - term_names
    for _, t_expr in terms:
        names |= t_expr.names - term_names
    for t in templates.values():
        names |= t.names
    for c in causes:
        names |= (c.when.names - term_names) | c.cause.names
    names |= alt_names
    also = _parse_also(data.get("also", []), declared | term_names, pattern, where)
    for a in also:
        names |= a.message.names | (a.when.names - term_names)
    extra_evidence = _str_list(data.get("evidence", []), f"{where}: evidence")
    unknown_evidence = sorted(set(extra_evidence) - declared)
    if unknown_evidence:
        raise RuleError(f"{where}: evidence names undeclared value(s): {', '.join(unknown_evidence)}")
    names |= set(extra_evidence)
    if steps:
        names |= set(steps)
    names |= set(needs)
    next_run, next_names = parse_spec(data.get("next_run"), declared, where)
    names |= next_names
    return Rule(
        code=code, name=name, pattern=pattern, severity=severity,
        tags=tuple(_str_list(data.get("tags", []), f"{where}: tags")),
        when=when, message=templates["message"], cause=templates["cause"],
        next=templates["next"], params=params, docs={k: str(v) for k, v in docs.items()},
        cases=list(cases), scope=scope, groups=groups, live=live, requires=requires,
        needs=needs, steps=steps, suppressed_by=suppressed_by, path=where, names=frozenset(names),
        causes=tuple(causes),
        next_run=next_run, terms=terms, also=also,
    )


def _parse_also(raw: Any, declared: set[str], own: str, where: str) -> tuple[Also, ...]:
    """The ``[[also]]`` array: consequences a finding tells with a pattern of their own."""
    if not isinstance(raw, list):
        raise RuleError(f"{where}: also must be an array of tables ([[also]])")
    out = []
    for i, a in enumerate(raw):
        aw = f"{where}: also[{i}]"
        if not isinstance(a, dict) or set(a) != _ALSO_KEYS:
            raise RuleError(f"{aw}: must be a table with `pattern`, `when` and `message`")
        pat = a["pattern"]
        if not isinstance(pat, str) or not _PATTERN_RE.match(pat) or pat == own:
            raise RuleError(f"{aw}: pattern must be a pattern name other than the rule's own")
        out.append(Also(pat, Template(a["message"], declared, f"{aw}.message"),
                        Expression.parse(a["when"], declared, f"{aw}.when")))
    return tuple(out)


def _parse_terms(raw: Any, declared: set[str], where: str) -> tuple[tuple[str, Expression], ...]:
    """The ``[terms]`` table: named parts of the condition, each parsed (and bounded) on its
    own, so a condition with many branches stays readable and within the expression limits.
    A term may read features, params and the terms above it (no cycles by construction)."""
    out: list[tuple[str, Expression]] = []
    known = set(declared)
    if isinstance(raw, dict) and len(raw) > MAX_TERMS:
        raise RuleError(f"{where}: terms: more than {MAX_TERMS} terms")
    for tname, text, tw in _named_entries(raw, where, "terms", "term"):
        if tname in known:
            raise RuleError(f"{tw}: shadows a feature, param or term of the same name")
        out.append((tname, Expression.parse(text, known, tw)))
        known.add(tname)
    return tuple(out)


def _named_entries(raw: Any, where: str, table: str, what: str) -> Iterator[tuple[str, Any, str]]:
    """The entries of a ``[params]`` or ``[terms]`` table: (name, value, where it is), with
    the table's type and each name's form checked."""
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: {table} must be a table")
    for name, value in raw.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", name):
            raise RuleError(f"{where}: {table}.{name}: {what} names are snake_case")
        yield name, value, f"{where}: {table}.{name}"


def _str_list(v: Any, where: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RuleError(f"{where}: must be a list of strings")
    return list(v)


def _hook() -> None:
    if not DEFAULTS_LOADER:
        DEFAULTS_LOADER.append(_load_feature_defaults)


_hook()
