"""The condition language and message templates of rule files.

A condition is a tiny subset of Python expressions, parsed with
``ast.parse(mode="eval")`` and interpreted here (as nested closures). Only boolean operators,
comparisons, ``+ - * /``, unary minus/not, numeric constants, declared names
and a few allowlisted functions exist. There is no attribute access, no
subscript, no string, no call of anything else: nothing to escape through.
Missing values (``None``) propagate like SQL NULL; a condition that comes out
unknown does not fire. A template fills ``{name:spec|fallback}`` fields with declared values only.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any, Callable, Iterable, Mapping

from ._errors import RuleError
from ._pyparse import parse_eval

__all__ = ["Expression", "Template", "format_value"]

MAX_EXPR_CHARS = 2000
MAX_EXPR_NODES = 256
MAX_EXPR_DEPTH = 32
MAX_INT_DIGITS = 30
#: Rule files come from untrusted repositories too: bounded message formats.
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
            tree = parse_eval(text.strip())
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
