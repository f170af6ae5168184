"""A safe YAML reader for the small metadata files training tools write.

``hparams.yaml`` (Lightning), ``meta.yaml`` (MLflow), ``.hydra/*.yaml`` and W&B's
``config.yaml`` are all we read. PyYAML is not a dependency: when it is importable we
use its *safe* loader; otherwise a small parser for the block subset those files use.
Either way, Python-specific tags (``!!python/object:...``, which Lightning writes for
non-serialisable hparams) never build objects: they come back as the tag text.
The fallback does not keep blank lines inside multi-line quoted scalars (YAML folds
them to newlines; it joins with spaces); none of the values we read has one.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["YAMLError", "load"]


class YAMLError(ValueError):
    """The text is not YAML this module can read. ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


#: Bounds on a loaded document, counted as if every alias were a copy: an untrusted
#: file with nested aliases ("billion laughs") is tiny on disk but expands to billions
#: of values for whoever walks it, and a self-referencing alias never ends.
MAX_NODES = 100_000
MAX_DEPTH = 64


def load(text: str) -> Any:
    """Parse YAML text safely; unknown or Python tags become the tag's text.

    Raises :class:`YAMLError` for a document over :data:`MAX_NODES` values (aliases
    expanded) or :data:`MAX_DEPTH` levels, and for one that contains itself.
    """
    try:
        import yaml  # optional: only ever its safe loader
    except ImportError:
        return _bounded(_parse(text))
    try:
        return _bounded(yaml.load(text, Loader=_safe_loader(yaml)))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise YAMLError(str(getattr(e, "problem", None) or e), mark.line + 1 if mark else None)


def _bounded(doc: Any) -> Any:
    left = MAX_NODES

    def walk(obj: Any, depth: int) -> None:
        nonlocal left
        left -= 1
        if left < 0:
            raise YAMLError(f"more than {MAX_NODES} values once aliases are expanded")
        if depth > MAX_DEPTH:
            raise YAMLError(f"nested deeper than {MAX_DEPTH} levels (or refers to itself)")
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(k, depth + 1)
                walk(v, depth + 1)
        elif isinstance(obj, (list, tuple, set)):
            for v in obj:
                walk(v, depth + 1)

    walk(doc, 0)
    return doc


_LOADER: Any = None


def _safe_loader(yaml: Any) -> Any:
    """A SafeLoader that turns any tag it does not know into its text instead of failing."""
    global _LOADER
    if _LOADER is None:

        class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when built
            pass

        def _tagged(loader: Any, suffix: str, node: Any) -> str:
            return str(node.tag).replace("tag:yaml.org,2002:", "!!")

        _Loader.add_multi_constructor("", _tagged)
        _LOADER = _Loader
    return _LOADER


# -- the fallback parser -----------------------------------------------------------------

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL = {
    "~": None, "null": None, "Null": None, "NULL": None, "": None,
    "true": True, "True": True, "TRUE": True, "yes": True, "Yes": True, "on": True, "On": True,
    "false": False, "False": False, "FALSE": False, "no": False, "No": False, "off": False,
    "Off": False,
    ".inf": math.inf, ".Inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf,
    "-.Inf": -math.inf, ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}


def _scalar(raw: str, line: int) -> Any:
    s = raw.strip()
    if s.startswith("!!python/") or (s.startswith("!") and " " not in s):
        return s
    if s.startswith("!"):  # a tag followed by a value: keep the value
        s = s.split(None, 1)[1]
    if s[:1] in "\"'":
        return _quoted(s, line)
    if s in _SPECIAL:
        return _SPECIAL[s]
    if _INT.match(s):
        return int(s.replace("_", ""))
    if _FLOAT.match(s) and any(c.isdigit() for c in s) and ("." in s or "e" in s.lower()):
        return float(s.replace("_", ""))
    if s.startswith(("[", "{")):
        return _flow(s, line)
    return s


def _quoted(s: str, line: int) -> str:
    q = s[0]
    end = s.rfind(q)
    if end <= 0:
        raise YAMLError("unterminated quoted string", line)
    body = s[1:end]
    if q == "'":
        return body.replace("''", "'")
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return body


def _flow(s: str, line: int) -> Any:
    """``[a, b]`` and ``{k: v}`` with scalar items (nesting one level deep is enough here)."""
    close = {"[": "]", "{": "}"}[s[0]]
    if not s.endswith(close):
        raise YAMLError(f"unterminated flow collection {s!r}", line)
    inner = s[1:-1].strip()
    items = [p.strip() for p in _split_flow(inner, line)] if inner else []
    if close == "]":
        return [_scalar(p, line) for p in items]
    out: dict[Any, Any] = {}
    for p in items:
        k, sep, v = p.partition(":")
        if not sep:
            raise YAMLError(f"expected 'key: value' in {s!r}", line)
        out[_scalar(k, line)] = _scalar(v, line)
    return out


def _closed(s: str) -> bool:
    """Whether a quoted scalar that starts ``s`` also ends in it."""
    q, i = s[0], 1
    while i < len(s):
        if q == '"' and s[i] == "\\":
            i += 2
            continue
        if s[i] == q:
            if q == "'" and s[i + 1 : i + 2] == "'":
                i += 2
                continue
            return True
        i += 1
    return False


def _split_flow(s: str, line: int) -> list[str]:
    parts, depth, cur, quote = [], 0, [], ""
    for c in s:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    if quote or depth:
        raise YAMLError(f"unbalanced flow collection {s!r}", line)
    parts.append("".join(cur))
    return parts


def _strip_comment(s: str) -> str:
    quote = ""
    for i, c in enumerate(s):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'" and (i == 0 or s[i - 1] in " :[{,-"):
            quote = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s.rstrip()


def _parse(text: str) -> Any:
    lines: list[tuple[int, int, str]] = []  # (line number, indent, content)
    for n, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() in ("---", "...") or raw.lstrip().startswith("%"):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YAMLError("tab in indentation", n)
        body = _strip_comment(raw)
        if body.strip():
            lines.append((n, len(body) - len(body.lstrip()), body.strip()))
    if not lines:
        return None
    value, i = _block(lines, 0, lines[0][1])
    if i != len(lines):
        raise YAMLError("unexpected content", lines[i][0])
    return value


_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#'"][^:#]*?|)\s*:(?:\s+|$)(.*)$""")


def _block(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    n, _, content = lines[i]
    if content.startswith("- ") or content == "-":
        return _sequence(lines, i, indent)
    if _KEY.match(content):
        return _mapping(lines, i, indent)
    if i + 1 < len(lines) and lines[i + 1][1] >= indent and not _KEY.match(lines[i + 1][2]):
        # a plain multi-line scalar: fold the lines
        j, parts = i, []
        while j < len(lines) and lines[j][1] >= indent:
            parts.append(lines[j][2])
            j += 1
        return _scalar(" ".join(parts), n), j
    return _scalar(content, n), i + 1


def _child(lines: list[tuple[int, int, str]], i: int, parent_indent: int, rest: str, n: int
           ) -> tuple[Any, int]:
    """The value after ``key:`` or ``-``: inline, a literal block, or a nested block."""
    tag = ""
    if rest.startswith("!"):
        tag, _, rest = rest.partition(" ")
        rest = rest.strip()
    if rest in ("|", "|-", "|+", ">", ">-", ">+"):
        j, parts = i, []
        while j < len(lines) and lines[j][1] > parent_indent:
            parts.append(lines[j][2])
            j += 1
        joined = ("\n" if rest[0] == "|" else " ").join(parts)
        return joined + ("" if rest.endswith("-") else "\n"), j
    if rest and rest[0] in "\"'" and not _closed(rest):
        while i < len(lines) and lines[i][1] > parent_indent and not _closed(rest):
            rest += " " + lines[i][2]  # a quoted scalar folded over several lines
            i += 1
    if rest:
        return (tag if tag and _is_python_tag(tag) else _scalar(rest, n)), i
    nested = i < len(lines) and (
        lines[i][1] > parent_indent
        or (lines[i][1] == parent_indent and lines[i][2].startswith("-"))
    )
    if not nested:
        return (tag or None), i
    value, j = _block(lines, i, lines[i][1])
    return (tag if tag and _is_python_tag(tag) else value), j


def _is_python_tag(tag: str) -> bool:
    return tag.startswith("!!python/") or (tag.startswith("!") and not tag.startswith("!!"))


def _mapping(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[dict, int]:
    out: dict[Any, Any] = {}
    while i < len(lines):
        n, ind, content = lines[i]
        if ind < indent:
            break
        if ind > indent:
            raise YAMLError("bad indentation", n)
        m = _KEY.match(content)
        if not m:
            if content.startswith("-"):
                break
            raise YAMLError(f"expected 'key: value', got {content!r}", n)
        key = _scalar(m.group(1), n) if m.group(1) else None
        out[key], i = _child(lines, i + 1, indent, m.group(2).strip(), n)
    return out, i


def _sequence(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[list, int]:
    out: list[Any] = []
    while i < len(lines):
        n, ind, content = lines[i]
        if ind != indent or not (content.startswith("- ") or content == "-"):
            if ind > indent:
                raise YAMLError("bad indentation", n)
            break
        rest = content[1:].strip()
        if rest.startswith("- ") or rest == "-" or (_KEY.match(rest) and not rest[:1] in "[{"):
            # compact nested block: re-read the item as if it started on its own line
            inner = indent + 2 + (len(content[1:]) - len(content[1:].lstrip()) - 1)
            sub = [(n, inner, rest)]
            j = i + 1
            while j < len(lines) and lines[j][1] > indent:
                sub.append(lines[j])
                j += 1
            value, k = _block(sub, 0, inner)
            if k != len(sub):
                raise YAMLError("bad indentation", sub[k][0])
            out.append(value)
            i = j
        else:
            value, i = _child(lines, i + 1, indent, rest, n)
            out.append(value)
    return out, i
