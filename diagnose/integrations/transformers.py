"""Hugging Face ``Trainer``: record what it logs, check it live, stop through ``control``.

::

    from diagnose.integrations.transformers import DiagnoseCallback

    trainer = Trainer(..., callbacks=[DiagnoseCallback(check_every=200)])

Every ``on_log`` is recorded at ``state.global_step`` (``loss`` -> ``train/loss``,
``eval_loss`` -> ``val/loss``, ``learning_rate`` -> ``lr``, ``grad_norm``, ``epoch``; the
timing counters and the end-of-training summary are left out, its runtime becomes
``results.train_time``); ``on_evaluate`` adds what ``on_log`` did not already carry. On a
finding at or above ``stop_on`` it sets ``control.should_training_stop``.

NaN filtering: with ``logging_nan_inf_filter`` (on by default) the Trainer replaces a
NaN/inf training loss by the running average, so the logged loss never shows it. The
gradient norm is logged unfiltered, so when it is NaN/inf the callback records the
step's train loss as NaN too (the value the Trainer hid) and the rules see the
divergence. A non-finite norm on a step that mixed precision skipped (the loss scaler
backing off) is normal and is not recorded.

The run goes to ``run_dir``, by default ``args.output_dir`` (a rerun replaces the
earlier log there, as the Trainer replaces its checkpoints; a resumed run appends).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from transformers import TrainerCallback

from ._common import LiveCallback, agree_to_stop, finite, numbers, report_finding

__all__ = ["DiagnoseCallback"]

#: Logged keys that are bookkeeping, not training curves.
_SKIP = ("total_flos", "step", "num_input_tokens_seen")
_SKIP_SUFFIXES = ("_runtime", "_per_second", "_flos")


class DiagnoseCallback(LiveCallback, TrainerCallback):
    """Record a Trainer run with live checks; stop training when a rule says so.

    ``on_finding`` (default: a warning on the ``diagnose`` logger) sees each new
    finding once; ``rules``, ``config``, ``check_budget`` and other keyword arguments
    go to :class:`diagnose.Recorder`. ``recorder`` is the Recorder while training
    (None on processes other than the main one), ``last_run_dir`` where the last run went.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike | None = None,
        check_every: int = 200,
        stop_on: str | None = "error",
        *,
        on_finding: Callable[[Any], Any] | None = report_finding,
        rules: Sequence[Any] | None = None,
        params: dict[str, Any] | None = None,
        **recorder_kwargs: Any,
    ) -> None:
        LiveCallback.__init__(self, run_dir, check_every, stop_on, on_finding, rules, params,
                              recorder_kwargs)
        self._logged: tuple[int, set[str]] = (-1, set())

    # -- start and end -----------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.recorder is not None or not state.is_world_process_zero:
            return
        run_dir = Path(self.run_dir if self.run_dir is not None else args.output_dir)
        opts = {}
        if "resume" not in self.recorder_kwargs and "overwrite" not in self.recorder_kwargs:
            # a resumed Trainer starts past step 0: append; a fresh one replaces the log
            opts["resume" if state.global_step > 0 else "overwrite"] = True
        self._start(run_dir, {**_args_params(args), **_model_params(kwargs.get("model"))},
                    **opts)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._finish()

    # -- recording ---------------------------------------------------------------------
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> Any:
        logs = logs or {}
        rec = self.recorder
        if rec is not None and "train_runtime" in logs:
            # the end-of-training summary: its train_loss is a run average, not a point
            rec.results.setdefault("train_time", logs["train_runtime"])
        elif rec is not None:
            values = _curves(logs)
            gn = values.get("grad_norm")
            if gn is not None and not finite(gn):
                if _step_skipped(kwargs.get("optimizer")):
                    del values["grad_norm"]  # the loss scaler skipped this step: normal in fp16
                elif args.logging_nan_inf_filter and "loss" in values:
                    values["loss"] = math.nan  # what the Trainer's NaN filter replaced
            self._record(state, values)
        return self._stop(control)

    def on_evaluate(self, args: Any, state: Any, control: Any,
                    metrics: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        step, done = self._logged
        values = _curves(metrics or {})
        if step == state.global_step:
            values = {k: v for k, v in values.items() if k not in done}
        if self.recorder is not None:
            self._record(state, values)
        return self._stop(control)

    def _record(self, state: Any, values: dict[str, Any]) -> None:
        epoch = values.pop("epoch", state.epoch)
        step = int(state.global_step)
        if self._logged[0] == step:
            self._logged[1].update(values)
        else:
            self._logged = (step, set(values))
        if values and self.recorder is not None:
            self.recorder.log(step, values, epoch=epoch)

    def _stop(self, control: Any) -> Any:
        stop = self.recorder is not None and self.recorder.should_stop
        if agree_to_stop(stop):
            control.should_training_stop = True
        return control


def _curves(logs: dict[str, Any]) -> dict[str, Any]:
    """The numbers in a log dict that are training curves."""
    return {k: v for k, v in numbers(logs, _SKIP).items() if not k.endswith(_SKIP_SUFFIXES)}


def _step_skipped(optimizer: Any) -> bool:
    """True when mixed precision skipped the last optimizer step (inf/NaN gradients)."""
    try:
        return bool(getattr(optimizer, "step_was_skipped", False))
    except (AttributeError, RuntimeError):
        return False


def _args_params(args: Any) -> dict[str, Any]:
    """The TrainingArguments that are the run's hyperparameters, under the usual names."""
    out: dict[str, Any] = {
        "lr": args.learning_rate,
        "batch_size": args.per_device_train_batch_size * max(1, args.gradient_accumulation_steps),
        "optimizer": str(getattr(args.optim, "value", args.optim)),
        "weight_decay": args.weight_decay,
        "seed": args.seed,
        "lr_scheduler": str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)),
        "max_grad_norm": args.max_grad_norm,
    }
    if args.max_steps and args.max_steps > 0:
        out["max_steps"] = args.max_steps
    else:
        out["epochs"] = args.num_train_epochs
    if args.warmup_steps:
        out["warmup_steps"] = args.warmup_steps
    return out


def _model_params(model: Any) -> dict[str, Any]:
    """``num_labels`` from a transformers model config, when there is one."""
    config = getattr(model, "config", None)
    n = getattr(config, "num_labels", None)
    return {"num_labels": int(n)} if isinstance(n, int) and n > 1 else {}
