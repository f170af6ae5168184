"""Lightning: record what the LightningModule logs, check it live, stop the Trainer on an error.

::

    from diagnose.integrations.lightning import DiagnoseCallback

    trainer = L.Trainer(callbacks=[DiagnoseCallback(check_every=200)])

Works beside any logger: it reads ``trainer.callback_metrics`` (everything
``self.log`` sent, whatever the loggers), never replaces them. Train values are
recorded after each optimizer step at step ``global_step - 1`` (the number of updates
behind the weights that produced them), validation values after each validation run
at ``global_step``, metrics logged per epoch at the epoch's last step. A metric logged
both per step and per epoch is recorded per step (its epoch mean adds nothing). The lr
of every optimizer is recorded each step; ``log_grad_norm=True`` adds the global
gradient norm (computed before each optimizer step, after AMP unscaling).

The run goes to ``run_dir``, by default the first logger's folder for TensorBoard and
CSV loggers (``lightning_logs/version_N``: the native log then stands for the run when
``diagnose check`` walks it) and ``<default_root_dir>/diagnose_logs/version_N``
otherwise. On a finding at or above ``stop_on`` it sets ``trainer.should_stop``
(Lightning's own mechanism; all ranks agree) and ``findings.json`` says why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

try:
    import lightning.pytorch as pl
except ImportError:  # the older package name
    import pytorch_lightning as pl  # type: ignore[no-redef]

from ..record._tensors import global_grad_norm
from ._common import LiveCallback, is_number, report_finding

__all__ = ["DiagnoseCallback"]


class DiagnoseCallback(LiveCallback, pl.Callback):
    """Record a Lightning run with live checks; stop the Trainer when a rule says so.

    ``on_finding`` (default: a warning on the ``diagnose`` logger) sees each new
    finding once. ``rules``, ``config``, ``check_budget`` and other keyword arguments
    go to :class:`diagnose.Recorder`. ``recorder`` is the Recorder while fitting
    (None on ranks other than 0), ``last_run_dir`` where the last fit went.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike | None = None,
        check_every: int = 200,
        stop_on: str | None = "error",
        log_grad_norm: bool = False,
        *,
        on_finding: Callable[[Any], Any] | None = report_finding,
        rules: Sequence[Any] | None = None,
        params: dict[str, Any] | None = None,
        **recorder_kwargs: Any,
    ) -> None:
        pl.Callback.__init__(self)
        LiveCallback.__init__(self, run_dir, check_every, stop_on, on_finding, rules, params,
                              recorder_kwargs)
        self.log_grad_norm = log_grad_norm
        self._stepped: set[str] = set()
        self._epoch_keys: set[str] = set()
        self._boundary: dict[str, Any] = {}
        self._last_global = -1
        self._grad_norm: Any = None
        self._synced = -1

    # -- setup and teardown ------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if stage != "fit" or self.recorder is not None:
            return
        run_dir = self._run_dir(trainer)  # a collective (log_dir broadcasts): every rank
        if not trainer.is_global_zero:
            return
        params = _hparams(pl_module)
        if trainer.max_steps is not None and trainer.max_steps > 0:
            params.setdefault("max_steps", trainer.max_steps)
        elif trainer.max_epochs is not None and trainer.max_epochs > 0:
            params.setdefault("epochs", trainer.max_epochs)
        self._stepped, self._epoch_keys, self._boundary = set(), set(), {}
        self._last_global, self._grad_norm, self._synced = -1, None, -1
        self._start(run_dir, params)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        rec = self.recorder
        if rec is not None:
            for opt in trainer.optimizers:
                rec.watch(opt)
        self._last_global = trainer.global_step

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._late_epoch_values(trainer)
        self._finish()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._finish("failed", f"{type(exception).__name__}: {exception}")

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if stage == "fit":
            self._finish()

    # -- recording ---------------------------------------------------------------------
    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        if self.log_grad_norm and self.recorder is not None:
            self._grad_norm = global_grad_norm(p for p in pl_module.parameters() if p.requires_grad)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        g = trainer.global_step
        if g == self._last_global:
            return  # accumulating gradients: record at the batch that stepped
        self._last_global = g
        current = _current(trainer)
        values = {k: v for k, v in current.items()
                  if not (k.endswith("_step") and k[:-5] in current)}
        self._stepped.update(values)
        if self._grad_norm is not None:
            values["grad_norm"], self._grad_norm = self._grad_norm, None
        self._record(trainer, g - 1, values)
        self._maybe_stop(trainer, g - 1)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        self._record(trainer, trainer.global_step, self._epoch_values(_current(trainer)))
        self._maybe_stop(trainer, trainer.global_step, force=True)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._record(trainer, trainer.global_step - 1, self._epoch_values(_current(trainer)))
        self._maybe_stop(trainer, trainer.global_step - 1, force=True)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._late_epoch_values(trainer)
        self._epoch_keys = set()

    def _epoch_values(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """Epoch-level values: per-step twins dropped, epoch means of stepped series dropped."""
        out = {}
        for k, v in metrics.items():
            if k.endswith("_step") and k[:-5] in metrics:
                continue  # one batch's value: the plain name holds the epoch's
            base = k.removesuffix("_epoch")
            if base in self._stepped or (k != base and base in metrics):
                continue  # an epoch mean of a per-step series, or the plain name's twin
            out[k] = v
        return out

    def _late_epoch_values(self, trainer: Any) -> None:
        """Values the module logged in its own ``on_train_epoch_end`` (after the callbacks ran).

        Seen in ``callback_metrics`` once the epoch is over: a key not recorded this
        epoch whose tensor is not the one seen at the previous epoch boundary.
        """
        metrics = trainer.callback_metrics
        done = self._epoch_keys | self._stepped
        late = {k: v for k, v in metrics.items()
                if _base(k) not in done and self._boundary.get(k) is not v}
        self._boundary = dict(metrics)  # holding the tensors keeps their ids unique
        if late and self._last_global > 0:
            self._record(trainer, self._last_global - 1, self._epoch_values(late))

    def _record(self, trainer: Any, step: int, values: dict[str, Any]) -> None:
        values = {k: v for k, v in values.items() if is_number(v)}
        self._epoch_keys.update(values)
        if self.recorder is not None and values and step >= 0:
            self.recorder.log(step, values, epoch=trainer.current_epoch)

    def _maybe_stop(self, trainer: Any, step: int, force: bool = False) -> None:
        local = self.recorder is not None and self.recorder.should_stop
        if trainer.world_size > 1:
            # every rank reaches the same steps: agree at each check boundary
            tick = step // self.check_every
            if tick == self._synced and not force:
                return
            self._synced = tick
            local = bool(trainer.strategy.reduce_boolean_decision(local, all=False))
        if local:
            trainer.should_stop = True

    def _run_dir(self, trainer: Any) -> Path:
        if self.run_dir is not None:
            return Path(self.run_dir)
        loggers = trainer.loggers
        if loggers and type(loggers[0]).__name__ in ("TensorBoardLogger", "CSVLogger"):
            return Path(trainer.log_dir)
        root = Path(trainer.default_root_dir) / "diagnose_logs"
        n = 0
        if trainer.is_global_zero and root.is_dir():
            taken = [p.name[8:] for p in root.iterdir() if p.name.startswith("version_")]
            n = max((int(t) + 1 for t in taken if t.isdigit()), default=0)
        n = trainer.strategy.broadcast(n)
        return root / f"version_{n}"


def _base(key: str) -> str:
    """A metric's name without Lightning's ``_step``/``_epoch`` suffix."""
    return key.removesuffix("_step").removesuffix("_epoch")


def _current(trainer: Any) -> dict[str, Any]:
    """The metrics of the loop running now (this train batch, this validation run, ...).

    ``trainer.callback_metrics`` also keeps every older value (the last validation
    loss during training); Lightning computes it from the running loop's results,
    which is what this reads. On a Lightning without that attribute: all of them.
    """
    try:
        return dict(trainer._logger_connector.metrics["callback"])
    except (AttributeError, KeyError, TypeError, AssertionError):
        return dict(trainer.callback_metrics)


def _hparams(pl_module: Any) -> dict[str, Any]:
    """The module's saved hyperparameters as plain params (numbers and strings)."""
    try:
        hp = dict(pl_module.hparams)
    except (AttributeError, TypeError, ValueError):
        return {}
    return {k: v for k, v in hp.items()
            if isinstance(v, (int, float, str, bool)) or v is None}
