"""Rule files: loading, validation, the condition language and message templates.

A rule is data (``rules/<CODE>-<slug>.toml``). Everything in it is checked when
it is loaded, so a bad rule fails loudly with the file and the piece named,
never silently at check time.

The condition language is a tiny subset of Python expressions, parsed with
``ast.parse(mode="eval")`` and interpreted here (as nested closures). Only boolean operators,
comparisons, ``+ - * /``, unary minus/not, numeric constants, declared names
and a few allowlisted functions exist. There is no attribute access, no
subscript, no string, no call of anything else: nothing to escape through.
Missing values (``None``) propagate like SQL NULL; a condition that comes out
unknown does not fire.
"""

from __future__ import annotations

import ast
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ._errors import RuleError
from .findings import SEVERITIES

__all__ = [
    "Expression",
    "Param",
    "Rule",
    "Template",
    "default_rules_dir",
    "load_rules",
]

MAX_EXPR_CHARS = 2000
MAX_EXPR_NODES = 200
MAX_EXPR_DEPTH = 32
MAX_INT_DIGITS = 30
#: Rule files come from untrusted repositories too: bounded size, bounded message formats.
MAX_RULE_FILE_BYTES = 256 << 10
MAX_FORMAT_NUMBER = 100  # widths and precisions in ``{name:spec}``

_FUNCS: dict[str, tuple[Callable[..., Any], int, int]] = {
    # name: (function, min args, max args)
    "abs": (abs, 1, 1),
    "min": (min, 2, 8),
    "max": (max, 2, 8),
    "isnan": (lambda x: x != x, 1, 1),
    "isfinite": (lambda x: math.isfinite(x), 1, 1),
    "log": (lambda x: math.log(x) if x > 0 else None, 1, 1),
    "log10": (lambda x: math.log10(x) if x > 0 else None, 1, 1),
    "sqrt": (lambda x: math.sqrt(x) if x >= 0 else None, 1, 1),
}

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b if b else None}
_CMPOPS = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
           ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
           ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.UAdd, ast.BinOp, ast.Compare, ast.Constant, ast.Name, ast.Load, ast.Call,
            *_BINOPS, *_CMPOPS)


class Expression:
    """A validated ``when`` condition. Build with :meth:`parse`; call :meth:`evaluate`."""

    def __init__(self, text: str, tree: ast.Expression, names: frozenset[str]) -> None:
        self.text = text
        self.tree = tree
        self.names = names
        #: The tree turned into nested closures once, so evaluating a condition does
        #: not dispatch on node types again for every run.
        self._fn = _compile(tree.body)

    @classmethod
    def parse(cls, text: str, declared: Iterable[str] | None, where: str) -> "Expression":
        """Parse and check ``text``; ``declared=None`` accepts any plain name (for tests)."""
        if not isinstance(text, str):
            raise RuleError(f"{where}: condition must be a string, got {type(text).__name__}")
        if len(text) > MAX_EXPR_CHARS:
            raise RuleError(f"{where}: condition longer than {MAX_EXPR_CHARS} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as e:
            raise RuleError(f"{where}: not a valid condition: {e.msg} in {text!r}") from None
        names: set[str] = set()
        count = 0
        declared_set = None if declared is None else set(declared)

        def visit(node: ast.AST, depth: int) -> None:
            nonlocal count
            count += 1
            if count > MAX_EXPR_NODES:
                raise RuleError(f"{where}: condition has more than {MAX_EXPR_NODES} parts")
            if depth > MAX_EXPR_DEPTH:
                raise RuleError(f"{where}: condition nested deeper than {MAX_EXPR_DEPTH}")
            if not isinstance(node, _ALLOWED):
                piece = _piece(text, node)
                raise RuleError(
                    f"{where}: {type(node).__name__} is not allowed in a condition ({piece!r}); "
                    "use comparisons, and/or/not, + - * /, numbers and declared names"
                )
            if isinstance(node, ast.Constant):
                v = node.value
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise RuleError(f"{where}: only numbers may appear as constants, got {v!r}")
                if isinstance(v, int) and len(str(abs(v))) > MAX_INT_DIGITS:
                    raise RuleError(f"{where}: number literal too large")
                if isinstance(v, float) and not math.isfinite(v):
                    raise RuleError(f"{where}: number literal out of range")
            elif isinstance(node, ast.Name):
                if node.id.startswith("_"):
                    raise RuleError(f"{where}: name {node.id!r} is not allowed")
                if declared_set is not None and node.id not in declared_set:
                    raise RuleError(
                        f"{where}: unknown name {node.id!r} in condition; declare it as a param "
                        "or use a feature name (`diagnose features` lists them)"
                    )
                names.add(node.id)
            elif isinstance(node, ast.Call):
                fn = node.func
                if not isinstance(fn, ast.Name) or fn.id not in _FUNCS:
                    raise RuleError(
                        f"{where}: call of {_piece(text, fn)!r} not allowed; functions: "
                        + ", ".join(sorted(_FUNCS))
                    )
                if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                    raise RuleError(f"{where}: keyword or star arguments are not allowed")
                lo, hi = _FUNCS[fn.id][1:]
                if not lo <= len(node.args) <= hi:
                    raise RuleError(f"{where}: {fn.id}() takes {lo}..{hi} arguments")
                for a in node.args:
                    visit(a, depth + 1)
                return
            for child in ast.iter_child_nodes(node):
                visit(child, depth + 1)

        visit(tree, 0)
        return cls(text, tree, frozenset(names))

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Value of the condition; ``None`` when a needed value is missing."""
        return self._fn(env)

    def holds(self, env: Mapping[str, Any]) -> bool:
        """True only when the condition is definitely true."""
        return self.evaluate(env) is True

    def __getstate__(self) -> dict[str, Any]:
        # closures do not pickle (rules travel to worker processes): rebuilt on arrival
        return {k: v for k, v in self.__dict__.items() if k != "_fn"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fn = _compile(self.tree.body)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _piece(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text.strip(), node)
    return seg if seg is not None else type(node).__name__


def _compile(node: ast.AST) -> Callable[[Mapping[str, Any]], Any]:
    """``node`` as a function of the environment (the interpreter of the condition language).

    Built from a tree :meth:`Expression.parse` accepted, so only its node types occur;
    no Python code is generated or evaluated. Missing values (None, NaN truth values)
    propagate like SQL NULL; ``and``/``or`` stop at the first operand that decides them,
    which gives the same three-valued result (no operand has effects).
    """
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda env: value
    if isinstance(node, ast.Name):
        name = node.id

        def lookup(env: Mapping[str, Any]) -> Any:
            v = env.get(name)
            return None if isinstance(v, str) else v
        return lookup
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        decisive = isinstance(node.op, ast.Or)  # True decides "or", False decides "and"

        def boolop(env: Mapping[str, Any]) -> Any:
            unknown = False
            for f in parts:
                t = _truth(f(env))
                if t is None:
                    unknown = True
                elif t is decisive:
                    return decisive
            return None if unknown else not decisive
        return boolop
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            def not_(env: Mapping[str, Any]) -> Any:
                v = operand(env)
                return None if v is None else not _truth(v)
            return not_
        sign = -1 if isinstance(node.op, ast.USub) else 1

        def unary(env: Mapping[str, Any]) -> Any:
            v = operand(env)
            return None if v is None else (-v if sign < 0 else +v)
        return unary
    if isinstance(node, ast.BinOp):
        left, right, op = _compile(node.left), _compile(node.right), _BINOPS[type(node.op)]

        def binop(env: Mapping[str, Any]) -> Any:
            a, b = left(env), right(env)
            if a is None or b is None:
                return None
            try:
                return op(a, b)
            except (OverflowError, ZeroDivisionError):
                return None
        return binop
    if isinstance(node, ast.Compare):
        first = _compile(node.left)
        rest = [(_CMPOPS[type(op)], _compile(r)) for op, r in zip(node.ops, node.comparators)]

        def compare(env: Mapping[str, Any]) -> Any:
            left = first(env)
            result: Any = True
            for op, right_fn in rest:
                right = right_fn(env)
                if left is None or right is None:
                    result = None
                elif not op(left, right):
                    return False
                left = right
            return result
        return compare
    if isinstance(node, ast.Call):
        fn = _FUNCS[node.func.id][0]  # type: ignore[attr-defined]
        args = [_compile(a) for a in node.args]

        def call(env: Mapping[str, Any]) -> Any:
            vals = [a(env) for a in args]
            if None in vals:
                return None
            try:
                return fn(*vals)
            except (ValueError, OverflowError):
                return None
        return call
    raise RuleError(f"unexpected node {type(node).__name__}")  # unreachable after parse()


def _truth(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    return bool(v)


# ---------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------
_FIELD = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)(?::([^{}|]*))?(?:\|([^{}]*))?\}")


class Template:
    """``{name}``, ``{name:.3g}``, ``{name|fallback}``; ``{{``/``}}`` are literal braces."""

    def __init__(self, text: str, declared: Iterable[str] | None, where: str) -> None:
        if not isinstance(text, str):
            raise RuleError(f"{where}: must be a string")
        self.text = text
        names = []
        stripped = text.replace("{{", "").replace("}}", "")
        for m in _FIELD.finditer(stripped):
            names.append(m.group(1))
            spec = m.group(2)
            if spec:
                if any(int(n) > MAX_FORMAT_NUMBER for n in re.findall(r"\d+", spec)):
                    raise RuleError(f"{where}: width or precision above {MAX_FORMAT_NUMBER} in "
                                    f"{m.group(0)!r}")
                try:
                    format(1.5, spec)
                except ValueError:
                    raise RuleError(f"{where}: bad format spec {spec!r} in {m.group(0)!r}") from None
        rest = _FIELD.sub("", stripped)
        if "{" in rest or "}" in rest:
            raise RuleError(f"{where}: malformed placeholder in {text!r} (use {{name}} or {{name:.3g}})")
        if declared is not None:
            unknown = sorted(set(names) - set(declared))
            if unknown:
                raise RuleError(f"{where}: template names undeclared value(s): {', '.join(unknown)}")
        self.names = frozenset(names)

    def render(self, env: Mapping[str, Any]) -> str:
        def sub(m: re.Match[str]) -> str:
            name, spec, fallback = m.group(1), m.group(2), m.group(3)
            v = env.get(name)
            if v is None or (isinstance(v, float) and v != v and fallback is not None):
                return fallback if fallback is not None else "n/a"
            return format_value(v, spec)

        parts = self.text.split("{{")
        out = []
        for p in parts:
            out.append("}".join(_FIELD.sub(sub, q) for q in p.split("}}")))
        return "{".join(out)


def format_value(v: Any, spec: str | None) -> str:
    """Format a value for a message; never raises (a wrong spec falls back to ``g``)."""
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("inf" if v > 0 else "-inf")
    if spec:
        if spec.endswith("d"):
            v = int(round(v))
        try:
            return format(v, spec)
        except (ValueError, TypeError):
            pass
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


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
    steps: tuple[str, str] | None = None
    #: codes of rules that, when they fire on the same run, make this finding noise
    suppressed_by: tuple[str, ...] = ()
    path: str = ""
    #: every name the rule reads: condition, templates, step range
    names: frozenset[str] = field(default_factory=frozenset)
    #: alternative causes, the first whose condition holds replaces ``cause``
    causes: tuple[tuple[Expression, Template], ...] = ()

    def defaults(self) -> dict[str, float | int]:
        return {k: p.default for k, p in self.params.items()}

    def cause_for(self, env: Mapping[str, Any]) -> Template:
        """The cause that fits the evidence: the first alternative whose condition holds."""
        for when, text in self.causes:
            if when.holds(env):
                return text
        return self.cause

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
        if self.causes:
            lines += ["", "## Causes (the first whose condition holds, else the one above)"]
            lines += [f"- when {w.text}: {c.text}" for w, c in self.causes]
            lines += [f"- otherwise: {self.cause.text}"]
        return "\n".join(lines).rstrip() + "\n"


_TOP_KEYS = {"code", "name", "pattern", "severity", "tags", "scope", "groups", "live", "requires",
             "when", "steps", "message", "cause", "next", "params", "docs", "cases", "suppressed_by",
             "causes", "evidence"}
_REQUIRED = ("code", "name", "pattern", "severity", "when", "message", "cause", "next", "docs")
_PARAM_KEYS = {"type", "default", "min", "max", "doc"}
_CASE_KEYS = {"name", "expect", "series", "steps", "params", "config", "runs", "num_classes", "by"}
_CODE_RE = re.compile(r"^DG\d{3}$")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PATTERN_RE = re.compile(r"^[a-z][a-z0-9_]*$")
GROUP_KINDS = ("seeds", "sweep", "mixed", "pattern")


def default_rules_dir() -> Path:
    """The shipped rules: inside the wheel (``diagnose/_rules``) or the source tree's ``rules/``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_rules"
    return packaged if packaged.is_dir() else here.parent / "rules"


def load_rules(paths: Iterable[str | Path] | None = None) -> list[Rule]:
    """Load and validate rule files (default: the shipped set), sorted by code.

    Raises :class:`RuleError` naming the file and the offending piece.
    """
    files: list[Path] = []
    for p in [default_rules_dir()] if paths is None else paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        elif p.is_file():
            files.append(p)
        else:
            raise RuleError(f"{p}: no such rule file or directory")
    rules = [parse_rule_file(f) for f in files]
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


def _register_feature_params(rules: Iterable[Rule]) -> None:
    """Give the features the defaults of the thresholds they read (declared in rule files).

    Each such parameter is declared by one rule file; a second declaration is an error.
    """
    from .features import PARAM_DEFAULTS, feature_params

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
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise error(f"{path}: {too_big}")
        return tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: invalid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot read: {e}") from None
    except (ValueError, RecursionError) as e:  # an integer too long to convert, deep nesting
        raise error(f"{path}: invalid TOML: {type(e).__name__}: {e}") from None


def parse_rule_file(path: Path) -> Rule:
    path = Path(path)
    data = read_toml(path, MAX_RULE_FILE_BYTES, RuleError,
                     f"larger than {MAX_RULE_FILE_BYTES >> 10} KiB; not a rule file")
    return parse_rule(data, str(path))


def parse_rule(data: Mapping[str, Any], where: str) -> Rule:
    """Validate one rule's data (already parsed from TOML)."""
    from . import experiments  # noqa: F401  (registers the group features)
    from .features import FEATURES

    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    for k in _REQUIRED:
        if k not in data:
            raise RuleError(f"{where}: missing required key {k!r}")
    code, name, pattern = data["code"], data["name"], data["pattern"]
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise RuleError(f"{where}: code must look like DG123, got {code!r}")
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
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise RuleError(f"{where}: params must be a table")
    for pname, spec in raw_params.items():
        pw = f"{where}: params.{pname}"
        if not re.match(r"^[a-z][a-z0-9_]*$", pname):
            raise RuleError(f"{pw}: param names are snake_case")
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
    when = Expression.parse(data["when"], declared, f"{where}: when")
    templates = {k: Template(data[k], declared, f"{where}: {k}") for k in ("message", "cause", "next")}
    steps = data.get("steps")
    if steps is not None:
        steps_l = _str_list(steps, f"{where}: steps")
        if len(steps_l) != 2 or not set(steps_l) <= declared:
            raise RuleError(f"{where}: steps must name two declared values [first, last]")
        steps = (steps_l[0], steps_l[1])
    requires = tuple(_str_list(data.get("requires", []), f"{where}: requires"))
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
    for i, c in enumerate(raw_causes):
        cw = f"{where}: causes[{i}]"
        if not isinstance(c, dict) or set(c) != {"when", "cause"}:
            raise RuleError(f"{cw}: must be a table with exactly `when` and `cause`")
        causes.append((Expression.parse(c["when"], declared, f"{cw}.when"),
                       Template(c["cause"], declared, f"{cw}.cause")))

    names = set(when.names)
    for t in templates.values():
        names |= t.names
    for cw_, ct in causes:
        names |= cw_.names | ct.names
    extra_evidence = _str_list(data.get("evidence", []), f"{where}: evidence")
    unknown_evidence = sorted(set(extra_evidence) - declared)
    if unknown_evidence:
        raise RuleError(f"{where}: evidence names undeclared value(s): {', '.join(unknown_evidence)}")
    names |= set(extra_evidence)
    if steps:
        names |= set(steps)
    return Rule(
        code=code, name=name, pattern=pattern, severity=severity,
        tags=tuple(_str_list(data.get("tags", []), f"{where}: tags")),
        when=when, message=templates["message"], cause=templates["cause"],
        next=templates["next"], params=params, docs={k: str(v) for k, v in docs.items()},
        cases=list(cases), scope=scope, groups=groups, live=live, requires=requires,
        steps=steps, suppressed_by=suppressed_by, path=where, names=frozenset(names),
        causes=tuple(causes),
    )


def _str_list(v: Any, where: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RuleError(f"{where}: must be a list of strings")
    return list(v)


def _hook() -> None:
    from .features import DEFAULTS_LOADER

    if not DEFAULTS_LOADER:
        DEFAULTS_LOADER.append(_load_feature_defaults)


_hook()
