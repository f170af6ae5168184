"""Python's own parser, one call at a time.

CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state: two
threads inside ``ast.parse`` at once can fail with "SystemError: AST constructor recursion
depth mismatch" (CPython gh-106905). Rule conditions are parsed whenever a Recorder with live
checks starts, and the autopilot starts its trials' Recorders in threads; the free-text reader
reads printed dicts with ``ast.literal_eval``. Both parse here, under one lock (the texts are
short: microseconds each).
"""

from __future__ import annotations

import ast
import threading
from typing import Any

__all__ = ["literal", "parse_eval"]

_PARSING = threading.Lock()


def parse_eval(text: str) -> ast.Expression:
    """``ast.parse(text, mode="eval")``, never in two threads at once."""
    with _PARSING:
        return ast.parse(text, mode="eval")


def literal(text: str) -> Any:
    """``ast.literal_eval(text)``, never in two threads at once."""
    with _PARSING:
        return ast.literal_eval(text)
