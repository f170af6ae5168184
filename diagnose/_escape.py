"""Making untrusted text safe to show: run ids, paths, metric names and notes come from logs.

A run id with ``ESC [2J`` clears the terminal it is printed to, an OSC sequence sets its
title, a CR overwrites the line before it; a lone surrogate (``"\\ud800"``, which JSON
and Python file names can hold) cannot be encoded as UTF-8 at all, so writing it
crashes. Every human-facing output goes through here:

- :func:`escape` makes one value printable: C0 and C1 control characters (ESC, BEL, CR,
  ... and DEL), Unicode bidirectional overrides and lone surrogates become visible
  ``\\x1b`` / ``\\u202e`` / ``\\ud800`` escapes; newlines too unless ``newlines=True``;
- :func:`escape_output` does the same to a whole rendered report, keeping its line breaks,
  tabs and, when colour is on, the report's own colour codes;
- :func:`encodable` replaces only lone surrogates (for machine formats: JSON, SARIF, XML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["encodable", "escape", "escape_output"]

# C0 controls but TAB and LF, DEL, C1 controls, bidi embeddings/overrides/isolates, surrogates
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_BAD = re.compile(f"[{_UNSAFE}]")
_BAD_OR_NL = re.compile(f"[{_UNSAFE}\n\t]")
_SURROGATE = re.compile("[\ud800-\udfff]")


_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _code(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    c = ord(ch)
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape(text: object, *, newlines: bool = False) -> str:
    """``text`` as a string with every terminal control character made a visible escape.

    A newline or tab is escaped too (a value shown on one line stays on it), unless
    ``newlines`` (a multi-line note).
    """
    s = text if isinstance(text, str) else str(text)
    return (_BAD if newlines else _BAD_OR_NL).sub(_code, s)


def escape_output(text: str, keep: Iterable[str] = ()) -> str:
    """A whole rendered report made safe: lines and tabs kept, and the ``keep`` sequences
    (the formatter's own colour codes) left as they are."""
    keep = tuple(k for k in keep if k)
    if not keep:
        return _BAD.sub(_code, text)
    pattern = re.compile("|".join(map(re.escape, sorted(keep, key=len, reverse=True)))
                         + f"|[{_UNSAFE}]")
    return pattern.sub(lambda m: m.group() if m.group() in keep else _code(m), text)


def encodable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` (everything else unchanged), so
    that it encodes as UTF-8; for machine-read formats where control characters are
    already escaped by the format itself."""
    return _SURROGATE.sub(_code, text)


def markdown_inline(text: str) -> str:
    """Text that cannot become a link, an image or HTML in Markdown (run names reach PR
    comments and job summaries): ``[``, ``]`` backslash-escaped, ``<``, ``>``, ``&`` as
    entities, control characters as visible escapes. Backslashes are doubled first."""
    s = escape(text, newlines=True).replace("\\", "\\\\")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("[", "\\[").replace("]", "\\]")


#: A spreadsheet reads a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will not run: text starting like a formula gets a
    leading ``'`` (OWASP's advice); numbers, and text that is one, are left alone."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value
