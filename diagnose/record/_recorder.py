"""The Recorder: write a training run as a native run log, cheaply and crash-safely.

Design, in the order it matters:

- ``log()`` is three appends to one list (step, wall time, the record's own keyword
  dict): values are kept as given (Python numbers, or detached 0-dim tensors on a
  device) and nothing is converted, so logging a CUDA loss never synchronises the
  device. Conversion happens at flush, one batched transfer per device. A CPU tensor
  has no device to wait for: its value is read in ``log()`` (cheaper than queueing it,
  and it is the value as of the call).
- A flush spells a whole block at once (values and steps in one C call each, wall
  times once per millisecond) and joins the pieces (``_format``), so no Python code
  runs per value; NaN/±inf and other rare cases take a value-by-value path that writes
  the same lines.
- Flushes happen every ``flush_every`` records or ``flush_secs`` seconds (checked on
  each ``log()``), at ``close()``, at context-manager exit and at interpreter exit.
  A flush appends whole lines and hands them to the OS, so a process killed even by
  SIGKILL leaves every flushed record on disk; at most the last ``flush_secs`` (or
  ``flush_every`` records) are lost. A torn last line is skipped by the reader.
- The Recorder never takes training down: bad values and I/O errors are dropped with
  one warning per kind (counted in ``run.json``), unless ``strict=True``.
- One writer per folder (a lock taken at construction, see ``_sink``); one writing
  process: a forked child's copy (DataLoader workers, multiprocessing) never writes the
  parent's buffer, log or ``run.json``, and values logged in it warn once.
"""

from __future__ import annotations

import atexit
import operator
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .._errors import StopTraining
from ..readers import native
from . import _env
from ._checks import NEVER as _NEVER
from ._checks import LiveCheckHooks
from ._format import RecordFormatter
from ._live import LiveChecker
from ._sink import RecordSink, sync_later, wait_for_disk
from ._tensors import global_grad_norm, host_only, tensor_type

__all__ = ["DEFAULT_FLUSH_EVERY", "DEFAULT_FLUSH_SECS", "Recorder"]

#: Records buffered before a flush. At ~0.25 µs per record to format and write, a flush
#: of 1000 records costs ~0.25 ms, and the per-flush fixed cost (a write call, one device
#: transfer) is amortised to nothing.
DEFAULT_FLUSH_EVERY = 1000
#: Seconds between flushes: bounds what a killed process can lose.
DEFAULT_FLUSH_SECS = 5.0

#: Optimizer hyperparameters recorded when they change (lr is recorded every step).
_HYPER = ("momentum", "weight_decay")

_OPEN: set["Recorder"] = set()
_time = time.time


class Recorder(LiveCheckHooks, RecordSink, RecordFormatter):
    """Record one training run to ``run_dir`` (``run.json`` + ``metrics.jsonl``).

    ::

        with Recorder("runs/lr=0.1", params={"lr": 0.1, "batch_size": 32}) as rec:
            rec.watch(optimizer)
            for step, (x, y) in enumerate(loader):
                ...
                rec.log(step, train_loss=loss)        # 0-dim tensor on any device: no sync
                if step % 50 == 0:
                    rec.log(step, val_loss=vl, val_acc=va)

    Metric names are canonicalised (``train_loss`` -> ``train/loss``). ``epoch=`` is
    stored in the reserved epoch column. An existing log in ``run_dir`` is an error
    unless ``resume=True`` (append) or ``overwrite=True`` (replace it); a folder another
    open Recorder is writing is refused (``FileExistsError`` naming its pid). Under
    torch.distributed only rank 0 writes unless ``rank_zero_only=False``; other ranks
    get a recorder whose methods do nothing. ``strict=True`` raises on bad values and
    I/O errors instead of warning (for tests).

    Live checks (``check_every=N``): at most every N steps the rules that make sense
    mid-run are applied to the run so far; findings go to ``findings.json`` in
    ``run_dir`` and to ``on_finding(finding)`` (once per new finding). A finding at or
    above ``stop_on`` (``"error"``; ``None`` never stops) raises
    :class:`diagnose.StopTraining` from ``log()``, or with ``raise_on_stop=False`` sets
    ``rec.should_stop``. ``rules``/``config`` choose the rules and their parameters
    (default: the shipped rules and ``[tool.diagnose]`` of the nearest pyproject.toml).
    ``check_budget`` caps the share of wall time the full rule evaluation may take;
    a cheap check for NaN/inf and a rising loss still runs every N steps, so a run
    that goes NaN/inf stops at the first check after it does (an all-finite blow-up
    must hold at two checks in a row).
    """

    #: No accelerator in this process (set with the first tensor logged): every tensor is
    #: on the CPU, and ``log()`` reads it at once without asking where it lives.
    _host_only = False

    def __init__(
        self,
        run_dir: str | os.PathLike,
        params: Mapping[str, Any] | None = None,
        identity: Mapping[str, Any] | None = None,
        num_classes: int | None = None,
        *,
        flush_every: int = DEFAULT_FLUSH_EVERY,
        flush_secs: float = DEFAULT_FLUSH_SECS,
        rank_zero_only: bool = True,
        strict: bool = False,
        resume: bool = False,
        overwrite: bool = False,
        check_every: int | None = None,
        stop_on: str | None = "error",
        on_finding: Callable[[Any], Any] | None = None,
        rules: Sequence[Any] | None = None,
        config: Any = None,
        raise_on_stop: bool = True,
        check_budget: float = 0.01,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.params: dict[str, Any] = dict(params or {})
        self.identity: dict[str, Any] = dict(identity or {})
        self.results: dict[str, Any] = {}
        self.env: dict[str, Any] = {}
        self.num_classes = num_classes
        self.flush_every = flush_every  # a property: it sets the buffer's limit
        self.flush_secs = float(flush_secs)
        self.strict = strict
        #: Set when a live check finds something at or above ``stop_on``.
        self.should_stop = False
        self.raise_on_stop = raise_on_stop
        self.check_every = int(check_every) if check_every else None
        #: The live checker (``check_every`` set, writing rank only), else None.
        self.live: Any = None
        self._next_check = _NEVER
        self.status = "running"
        #: Records written to disk so far (a crash keeps at least these).
        self.records_flushed = 0
        #: Records and values dropped because they could not be written or converted.
        self.records_dropped = 0
        self.values_dropped = 0
        self.enabled = not rank_zero_only or _env.process_rank() == 0

        # Pending records, three entries each: step, wall time, values (the keyword dict
        # of the call). One flat list: no tuple per record, one append call per entry.
        self._buf: list[Any] = []
        #: The step of the last record flushed or dropped (``_last_step`` when none is pending).
        self._step_out: int | None = None
        self._tensors: list[Any] = []
        self._versions: list[int] = []
        self._optimizers: list[Any] = []
        self._hyper_last: dict[str, float] = {}
        #: (optimizer, group) -> its hyperparameters as last compared, for a quick skip.
        self._group_last: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._grad_params: list[Any] = []
        self._grad_norm: Any = None
        self._grad_norm_queued = False
        self._hooks: list[Any] = []
        self._watching = False
        self._keys: dict[str, str] = {}
        #: Record shape (its names in order) -> ``%`` template, None if a name is dropped.
        self._templates: dict[tuple[Any, ...], bytes | None] = {}
        #: Record shape -> the UTF-8 text before each of its values, None if a name is dropped.
        self._pieces: dict[tuple[Any, ...], tuple[bytes, ...] | None] = {}
        #: Shapes holding val/loss or val/acc -> (position, key) of each.
        self._best_slots: dict[tuple[Any, ...], tuple[tuple[int, str], ...]] = {}
        self._warned: set[str] = set()
        self._devices: set[str] = set()
        self._best: tuple[str, float, int] | None = None
        self._file: Any = None
        self._tensor_cls: type | None = None
        self._closed = False
        self._t0 = time.perf_counter()
        self._deadline = time.time() + self.flush_secs
        self._error: str | None = None
        #: The process that writes; a forked child's copy writes nothing (``_forked``).
        self._pid = os.getpid()

        if not self.enabled:
            self._closed = True
            self.log = self._ignore  # type: ignore[method-assign]
            return
        if self.check_every:
            # before opening the log: a bad rule selection fails without leaving files
            self.live = LiveChecker(self.run_dir, every=self.check_every, stop_on=stop_on,
                                    on_finding=on_finding, rules=rules, config=config,
                                    budget=check_budget, started=self._t0)
            self._next_check = -_NEVER
            self.log = self._log_checked  # type: ignore[method-assign]
        self._open(resume, overwrite)
        if self.live is not None and resume:
            self._live_preload()
        self._capture_identity()
        self._write_meta()
        _OPEN.add(self)

    # -- the hot path ------------------------------------------------------------------
    def log(self, step: int, metrics: Mapping[str, Any] | None = None, /, **values: Any) -> None:
        """Record metric values at ``step``: Python numbers or 0-dim tensors (never synced here).

        Pass names as keywords (``train_loss=loss``) or a mapping (``{"val/acc": acc}``).
        """
        if metrics is not None:
            values = {**metrics, **values}
        if step.__class__ is not int:
            step = self._as_step(step)
        for k, v in values.items():
            c = v.__class__
            if c is float:
                continue
            if c is self._tensor_cls and self._host_only:
                # No accelerator: the tensor is on the CPU, with no device to wait for.
                # Read the value now (it is then the value as of this call, whatever
                # happens to the tensor later); what is not one float goes to _hold.
                try:
                    x = v.item()
                except Exception:  # noqa: BLE001 - not one value: _hold queues it
                    x = None
                if x.__class__ is float:
                    values[k] = x
                    continue
            self._hold(values)  # ints, tensors (read or queued), anything else
            break
        if self._watching and step != self._last_step:
            self._capture(values)
        now = _time()
        buf = self._buf
        buf.append(step)
        buf.append(now)
        buf.append(values)
        if len(buf) >= self._limit or now >= self._deadline:
            self.flush()

    def _log_checked(self, step: int, metrics: Mapping[str, Any] | None = None, /,
                     **values: Any) -> None:
        """``log`` of a recorder with live checks: record, then check when one is due."""
        if step.__class__ is not int:
            step = self._as_step(step)
        Recorder.log(self, step, metrics, **values)
        if step >= self._next_check:
            self._check(step)

    # -- watching ----------------------------------------------------------------------
    def watch(self, obj: Any) -> "Recorder":
        """Record an optimizer's hyperparameters, or a model's gradient norm, at each log step.

        Optimizer: ``lr`` every step; momentum, betas (``beta1``/``beta2``) and
        weight_decay whenever they change; param groups after the first as
        ``<name>/group_<i>``. Model: the global L2 gradient norm after each backward
        pass, computed on the device, recorded as ``grad_norm`` at the next ``log()``
        step. Returns the recorder, so ``rec.watch(opt).watch(model)`` works.
        """
        if not self.enabled:
            return self
        import torch

        if isinstance(obj, torch.optim.Optimizer):
            self._optimizers.append(obj)
            self._autofill_params(obj)
            self._write_meta()
        elif isinstance(obj, torch.nn.Module):
            self._watch_model(obj)
        else:
            raise TypeError(f"watch() takes a torch optimizer or module, not {type(obj).__name__}")
        self._watching = True
        return self

    def log_grad_norm(self, model: Any, step: int) -> None:
        """Record the global L2 gradient norm of ``model`` now, as ``grad_norm`` (no sync)."""
        if self._closed:
            return
        norm = global_grad_norm(p for p in model.parameters() if p.requires_grad)
        if norm is not None:
            self.log(step, grad_norm=norm)

    @property
    def flush_every(self) -> int:
        """Records buffered before a flush."""
        return self._limit // 3

    @flush_every.setter
    def flush_every(self, n: int) -> None:
        self._limit = 3 * max(1, int(n))

    @property
    def _last_step(self) -> int | None:
        """The step of the last record logged (None before the first)."""
        buf = self._buf
        return buf[-3] if buf else self._step_out

    # -- flushing and closing ----------------------------------------------------------
    def flush(self) -> None:
        """Write every pending record to ``metrics.jsonl`` and hand it to the OS."""
        self._deadline = _time() + self.flush_secs
        buf = self._buf
        if not buf:
            return
        if self._file is None and not self._reopen():
            self._drop_pending()
            return
        self._buf = []
        steps, walls, pending = buf[0::3], buf[1::3], buf[2::3]
        self._step_out = steps[-1]
        converted = self._convert() if self._tensors else None
        data = None
        if self.live is None:
            data = self._format_fast(steps, walls, pending, converted)
        if data is None:
            data = self._format_each(steps, walls, pending, converted)
        n = len(pending)
        if not self._write(data, n):
            return
        self.records_flushed += n
        if self._git is not None and self._git.done() and not self._closing:
            self._write_meta()  # the commit, in run.json before the run ends

    #: In ``close()``: its flush leaves ``run.json`` to the close.
    _closing = False

    def close(self, status: str = "finished", error: str | None = None) -> None:
        """Flush, then finish ``run.json`` (status, end time, train time, peak memory)."""
        if self._closed:
            return
        self._closing = True
        self.flush()
        if self.live is not None:
            self._final_check()
            if self.should_stop and status == "finished":
                status = "stopped"
        self._closed = True
        self.log = self._late  # type: ignore[method-assign]
        _OPEN.discard(self)
        for h in self._hooks:
            h.remove()
        self._hooks = []
        log_file, self._file = self._file, None
        self.status = status
        if error:
            self._error = error
        self.results.setdefault("train_time", round(time.perf_counter() - self._t0, 3))
        if self._best is not None:
            name, value, step = self._best
            self.results.setdefault("best_val_metric", value)
            self.results.setdefault("best_val_metric_name", name)
            self.results.setdefault("best_step", step)
        self.env["end_time"] = _env.now_iso()
        self.env.update(_env.peak_memory())
        if not self._devices and "torch" in sys.modules:
            torch = sys.modules["torch"]
            cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
            self._devices.add(f"cuda:{torch.cuda.current_device()}" if cuda else "cpu")
        if self._devices:
            self.env["device"] = ", ".join(sorted(self._devices))
            if any(d.startswith("cuda") for d in self._devices):
                torch = sys.modules["torch"]
                self.env["cuda_device_name"] = torch.cuda.get_device_name()
        meta_file = self._write_meta(durable=True)
        self._unlock()  # a resumer finds run.json finished
        # Last, once done with the disk (an fsync holds back the file system's other changes
        # while it commits), both files are fsynced and closed off this thread.
        for f in (log_file, meta_file):
            if f is not None:
                sync_later(f)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close("finished")
        elif isinstance(exc, StopTraining):
            self.close("stopped")
        else:
            self.close("failed", f"{exc_type.__name__}: {exc}")

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / native.METRICS_FILE

    def __repr__(self) -> str:
        return (
            f"Recorder({str(self.run_dir)!r}, status={self.status!r}, "
            f"flushed={self.records_flushed}, pending={len(self._buf) // 3})"
        )

    # -- internals ---------------------------------------------------------------------
    def _as_step(self, step: Any) -> int:
        try:
            return operator.index(step)
        except TypeError:
            raise TypeError(f"step must be an int, got {type(step).__name__} {step!r}") from None

    def _hold(self, values: dict[str, Any]) -> None:
        """Slow path of ``log()``: queue tensors (no conversion), coerce or drop the rest.

        Edits ``values`` in place (it is the recorder's own dict). Tensors are queued in
        key order, the order in which ``flush`` meets them, and leave None in the record
        (a None the user passed is not a number: dropped here, so every None left is a
        queued tensor); only values of existing keys change during the loop, the rest is
        fixed afterwards.
        """
        tensor = self._tensor_cls
        if tensor is None:
            tensor = self._tensor_cls = tensor_type()
            self._host_only = host_only()
        host = self._host_only
        others: list[str] = []
        for k, v in values.items():
            c = v.__class__
            if c is float or c is int:
                continue
            if c is tensor and (host or v.is_cpu):
                # On the CPU there is no device to wait for: read the value now (it is
                # then the value as of this call, whatever happens to the tensor later)
                try:
                    x = v.item()
                except Exception:  # noqa: BLE001 - not one value, or a meta tensor: queued
                    x = None
                c = x.__class__
                if c is float:
                    values[k] = x
                    continue
                if c is int or c is bool:
                    values[k] = float(x)
                    continue
            elif tensor is None or not isinstance(v, tensor):
                others.append(k)
                continue
            if v.requires_grad:
                v = v.detach()  # never keep the autograd graph alive
            self._tensors.append(v)
            self._versions.append(v._version)
            values[k] = None
        for k in others:
            self._coerce(values, k)

    def _coerce(self, values: dict[str, Any], k: str) -> None:
        """A value that is neither a float, an int nor a tensor: a float, or dropped."""
        v = values.pop(k)
        if isinstance(v, (str, bytes)) or not hasattr(v, "__float__"):
            self._problem("value", f"{k!r}: {type(v).__name__} is not a number", 1)
        else:
            try:
                values[k] = float(v)  # numpy scalars, bools, Decimals: no device involved
            except Exception as e:  # noqa: BLE001 - a user's __float__ may raise anything
                self._problem("value", f"{k!r}: cannot convert {v!r} to float ({e})", 1)

    def _capture(self, values: dict[str, Any]) -> None:
        """Add the watched optimizers' hyperparameters and the pending grad norm to a record.

        New keys go at the end of the record, after the values ``_hold`` kept, so the
        held tensors stay in the order ``flush`` meets them. Runs once per step, so the
        common case is short: a float ``lr`` of the first group, and the other
        hyperparameters skipped while they are the very objects last looked at.
        """
        if self._grad_norm is not None:
            self._put(values, "grad_norm", self._grad_norm)
            self._grad_norm = None
        last = self._group_last
        for opt_i, opt in enumerate(self._optimizers):
            for g_i, group in enumerate(opt.param_groups):
                first = opt_i == 0 and g_i == 0
                suffix = "" if first else f"/group_{g_i}" + (f"/opt_{opt_i}" if opt_i else "")
                lr = group.get("lr")
                if lr is not None:
                    if first and lr.__class__ is float and "lr" not in values:
                        values["lr"] = lr
                    else:
                        self._put(values, "lr" + suffix, lr, only_changed=not first)
                hyper = (*map(group.get, _HYPER), group.get("betas"))
                prev = last.get((opt_i, g_i))
                if prev is not None and all(map(operator.is_, prev, hyper)):
                    continue  # the same immutable values as last time: nothing to write
                # tensors may change in place: never skipped by identity
                last[opt_i, g_i] = hyper if all(map(_plain, hyper)) else None
                for name, v in zip(_HYPER, hyper):
                    if v is not None:
                        self._put(values, name + suffix, v, only_changed=True)
                betas = hyper[-1]
                if isinstance(betas, (tuple, list)) and len(betas) == 2:
                    self._put(values, "beta1" + suffix, betas[0], only_changed=True)
                    self._put(values, "beta2" + suffix, betas[1], only_changed=True)

    def _put(self, values: dict[str, Any], name: str, v: Any, only_changed: bool = False) -> None:
        """Add one watched value unless the user logged that name in this record."""
        if name in values:
            return
        c = v.__class__
        if c is float or c is int:
            if only_changed:
                if self._hyper_last.get(name) == v:
                    return
                self._hyper_last[name] = v
            values[name] = v
            return
        tensor = tensor_type()
        if tensor is not None and isinstance(v, tensor):
            # Schedulers update a tensor lr in place: copy it (on the device, no sync).
            v = v.detach().clone()
            values[name] = None
            self._tensors.append(v)
            self._versions.append(v._version)
            return
        try:
            values[name] = float(v)
        except (TypeError, ValueError):
            self._problem("value", f"watched {name!r} = {v!r} is not a number; dropped", 1)

    def _autofill_params(self, opt: Any) -> None:
        self.params.setdefault("optimizer", type(opt).__name__)
        group = opt.param_groups[0] if opt.param_groups else {}
        for name in ("lr", "weight_decay", "momentum"):
            v = group.get(name)
            if v is not None and (v.__class__ is float or v.__class__ is int):
                self.params.setdefault(name, v)

    def _watch_model(self, model: Any) -> None:
        import torch

        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            return
        self._grad_params.extend(params)
        self._devices.add(str(params[0].device))
        engine = torch.autograd.Variable._execution_engine

        def on_grad(_p: Any) -> None:
            # Once per backward pass: compute the norm when all grads have been accumulated.
            if not self._grad_norm_queued:
                self._grad_norm_queued = True
                engine.queue_callback(self._after_backward)

        for p in params:
            self._hooks.append(p.register_post_accumulate_grad_hook(on_grad))

    def _after_backward(self) -> None:
        self._grad_norm_queued = False
        try:
            self._grad_norm = global_grad_norm(self._grad_params)
        except RuntimeError as e:
            self._problem("grad_norm", f"grad norm failed: {e}")

    def _forked(self) -> None:
        """In a forked child: this copy writes nothing; the buffer, files, lock and status
        stay the parent's. Its open files are let go of (closing a copy of a locked
        descriptor keeps the parent's lock)."""
        self._buf = []
        self._tensors, self._versions = [], []
        self._closed = True
        self.enabled = False
        self._file = self._lock_file = None
        self._next_check = _NEVER
        self.log = self._in_child  # type: ignore[method-assign]

    def _in_child(self, step: Any, *args: Any, **kwargs: Any) -> None:
        self._problem("fork", f"log(step={step!r}) in a forked child process (pid {os.getpid()}): "
                              "values logged outside the process that created the Recorder are "
                              "not recorded; log them from that process")

    def _late(self, step: Any, *args: Any, **kwargs: Any) -> None:
        self._problem("closed", f"log(step={step!r}) after close(); ignored")

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        """``log`` of a recorder on a rank that does not write."""


def _plain(v: Any) -> bool:
    """A hyperparameter value that cannot change in place (no tensors): safe to skip by identity."""
    c = v.__class__
    if c is float or c is int or v is None:
        return True
    return (c is tuple or c is list) and all(x.__class__ is float or x.__class__ is int for x in v)


def _after_fork_in_child() -> None:
    """A forked child never writes its parent's recorders (nor closes them at exit)."""
    for rec in list(_OPEN):
        rec._forked()
    _OPEN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    """Finish recorders the script never closed; a pending uncaught exception marks them failed."""
    exc = getattr(sys, "last_value", None)
    for rec in list(_OPEN):
        try:
            if exc is not None:
                rec.close("failed", f"{type(exc).__name__}: {exc}")
            else:
                rec.close("finished")
        except Exception:  # noqa: BLE001 - nothing may fail at interpreter exit
            pass
    wait_for_disk()  # the last fsyncs of the log and run.json
