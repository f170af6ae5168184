"""Exceptions users catch. Each names the file and the place in it."""

from __future__ import annotations

__all__ = ["ConfigError", "DiagnoseError", "ReadError", "RuleError", "StopTraining"]


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


class StopTraining(DiagnoseError):
    """A live check found a problem at or above ``stop_on``: training should stop now.

    Raised by :meth:`diagnose.Recorder.log`; ``findings`` are the findings that asked
    for the stop (most severe first), ``step`` the step of the check and ``path`` the
    ``findings.json`` they were written to.
    """

    def __init__(self, findings: list, step: int, path: object = None) -> None:
        self.findings = list(findings)
        self.step = step
        self.path = None if path is None else str(path)
        head = "; ".join(f"{f.rule} {f.name}: {f.message}" for f in self.findings[:3])
        more = f" (+{len(self.findings) - 3} more)" if len(self.findings) > 3 else ""
        where = f" (details in {self.path})" if self.path else ""
        super().__init__(f"stopped training at step {step}: {head}{more}{where}")

    def __reduce__(self) -> tuple:  # picklable despite the extra constructor arguments
        return (type(self), (self.findings, self.step, self.path))
