"""Exceptions users catch. Each names the file and the place in it."""

from __future__ import annotations

__all__ = ["DiagnoseError", "ReadError", "RuleError", "ConfigError"]


class DiagnoseError(Exception):
    """Base class for every error diagnose raises on purpose."""


class ReadError(DiagnoseError):
    """A log could not be read. ``path`` and ``where`` (line, byte offset, ...) say where."""

    def __init__(self, path: object, reason: str, where: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.where = where
        loc = f"{self.path}:{where}" if where else self.path
        super().__init__(f"{loc}: {reason}")


class RuleError(DiagnoseError):
    """A rule file is invalid (schema, expression, template). Raised at load time."""


class ConfigError(DiagnoseError):
    """Bad configuration: unknown key, out-of-bounds parameter, bad selector."""
