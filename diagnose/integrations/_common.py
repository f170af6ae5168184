"""What both framework callbacks share: reporting findings, numbers, agreeing to stop."""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..record import Recorder

__all__ = ["LiveCallback", "agree_to_stop", "finite", "is_number", "numbers", "report_finding"]

log = logging.getLogger("diagnose")


def report_finding(finding: Any) -> None:
    """The callbacks' default ``on_finding``: one warning line on the ``diagnose`` logger."""
    where = f" at steps {finding.steps[0]}-{finding.steps[1]}" if finding.steps else ""
    log.warning("diagnose %s %s (%s)%s: %s. Next: %s", finding.rule, finding.name,
                finding.severity, where, finding.message, finding.next_experiment)


def is_number(v: Any) -> bool:
    """A loggable scalar: int/float (not bool) or a one-element tensor/numpy value."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return getattr(v, "ndim", None) == 0 or getattr(v, "shape", None) == (1,)


def finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def numbers(values: Mapping[str, Any], skip: Any = ()) -> dict[str, Any]:
    return {k: v for k, v in values.items() if is_number(v) and k not in skip}


def agree_to_stop(stop: bool) -> bool:
    """Under torch.distributed, rank 0's decision for every rank (a collective: call on all)."""
    dist = getattr(sys.modules.get("torch"), "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return stop
    if dist.get_world_size() < 2:
        return stop
    box = [stop]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])


class LiveCallback:
    """What both callbacks hold: the live-check settings, the Recorder while training.

    Only the main process records (the caller decides which that is); the Recorder
    sets a flag instead of raising, and the callback stops the framework its own way.
    """

    def __init__(self, run_dir: str | os.PathLike | None, check_every: int,
                 stop_on: str | None, on_finding: Callable[[Any], Any] | None,
                 rules: Sequence[Any] | None, params: Mapping[str, Any] | None,
                 recorder_kwargs: Mapping[str, Any]) -> None:
        self.run_dir = run_dir
        self.check_every = int(check_every)
        self.stop_on = stop_on
        self.on_finding = on_finding
        self.rules = rules
        self.params = dict(params or {})
        self.recorder_kwargs = dict(recorder_kwargs)
        #: The Recorder while training (None on the other processes).
        self.recorder: Any = None
        #: Where the last training run was recorded (set when it ends).
        self.last_run_dir: Path | None = None

    def _start(self, run_dir: str | os.PathLike, params: Mapping[str, Any], **opts: Any) -> None:
        num_classes = params.get("num_classes", params.get("num_labels"))
        self.recorder = Recorder(
            run_dir, params={**params, **self.params},
            num_classes=int(num_classes) if isinstance(num_classes, int) else None,
            check_every=self.check_every, stop_on=self.stop_on, on_finding=self.on_finding,
            rules=self.rules, raise_on_stop=False, rank_zero_only=False,
            **{**opts, **self.recorder_kwargs})

    def _finish(self, status: str = "finished", error: str | None = None) -> None:
        rec, self.recorder = self.recorder, None
        if rec is not None:
            rec.close(status, error)
            self.last_run_dir = rec.run_dir
