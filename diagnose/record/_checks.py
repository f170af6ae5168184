"""The Recorder's live checks: when one is due, what it does, and the last one at close.

A mixin: the state (``live``, ``_next_check``, ``_last_step``, ...) belongs to the
Recorder, which also provides ``flush``, ``_problem`` and ``_write_meta``.
"""

from __future__ import annotations

import sys
from typing import Any

from .._errors import ReadError, StopTraining
from ..readers import native

__all__ = ["NEVER", "LiveCheckHooks"]

#: ``_next_check`` when live checks are off: no step reaches it.
NEVER = sys.maxsize


class LiveCheckHooks:
    """Live checks of a Recorder (see :class:`diagnose.record.Recorder`, ``check_every``)."""

    live: Any
    _next_check: int

    def _check(self, step: int) -> None:
        """A live check is due at ``step``: flush (one tensor transfer), check, maybe stop."""
        if self._next_check == NEVER:
            return  # checks are off: only a step of sys.maxsize or more gets here
        live = self.live
        first = self._next_check < 0
        self._next_check = step + live.every
        if first or self._closed:
            return  # the first logged step only starts the schedule
        self.flush()
        try:
            stop = live.check(step, self)
        except Exception as e:  # noqa: BLE001 - a failed check must not end training
            self._next_check = NEVER
            self._problem("live", f"live check at step {step} failed ({type(e).__name__}: {e}); "
                                  "live checks are off for the rest of this run")
            return
        live.notify()  # the user's callback: its exceptions are the user's
        if stop:
            self.should_stop = True
            self.results["stopped_at_step"] = step
            self.results["stopped_by"] = [f.rule for f in stop]
            self._write_meta()
            if self.raise_on_stop:
                raise StopTraining(stop, step, live.path)

    def _live_preload(self) -> None:
        """On resume, the live checks start from the run so far (one read of the log)."""
        if not (self.metrics_path.exists() and self.metrics_path.stat().st_size):
            return
        try:
            self.live.preload(native.read(self.run_dir)[0])
        except (ReadError, OSError, ValueError) as e:
            self._problem("live", f"live checks start without the earlier log: {e}")

    def _final_check(self) -> None:
        """At close: check what arrived since the last check; write ``findings.json``."""
        live = self.live
        step = self._last_step if self._last_step is not None else 0
        try:
            ran = live.full_checks
            live.check(step, self, final=True)
            if live.full_checks == ran:  # nothing new since the last check: still say so
                live.write(self, step, final=True)
            live.notify()
        except Exception as e:  # noqa: BLE001 - closing must finish whatever happens
            self._problem("live", f"final live check failed ({type(e).__name__}: {e})")
