"""One training, many logs: the grid recipes train once with a plain loop that keeps every
step's loss, and each of seven writers then writes what it would have logged at an interval
of N steps, through the writer's own library code.

How each writer reduces a window of N steps to one logged point (``AGG``):

- ``sample``: the loss of the window's last step, as ``if step % N == 0: writer.log(loss)``
  does and as Lightning's ``self.log(on_step=True)`` with ``log_every_n_steps=N`` does
  (our ``Recorder``, ``SummaryWriter``, Lightning ``CSVLogger`` and ``TensorBoardLogger``);
- ``mean``: the mean loss over the window, as Hugging Face ``Trainer`` logs ``loss`` with
  ``logging_steps=N`` (and so MLflow, which HF's ``MLflowCallback`` feeds from the same
  logs), and as Keras's ``CSVLogger`` writes an epoch of N steps (``fit(steps_per_epoch=N)``).

Evaluations are logged at their own steps, whatever N is (Keras: at the epoch that ends there).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Curve:
    """One training, step by step (step i+1 is index i)."""

    loss: list[float]
    lr: list[float]
    gnorm: list[float]
    evals: list[tuple[int, float, float | None, float | None]]  # step, val loss, val acc, train acc
    k: int | None  # classes in the data (None: regression)
    steps_per_epoch: int
    params: dict[str, Any] = field(default_factory=dict)  # what the user's config says


AGG = {"recorder": "sample", "tb": "sample", "lightning-csv": "sample", "lightning-tb": "sample",
       "hf": "mean", "keras": "mean", "mlflow": "mean"}
WRITERS = list(AGG)
#: writers whose log holds no accuracy (:func:`write_keras`: a model compiled without metrics).
#: The label check reads only what a log holds, so their traces carry no accuracy either.
NO_ACCURACY = frozenset({"keras"})


def logged_acc(writer: str, acc: list) -> list:
    """The (step, train acc, val acc) a ``writer``'s log holds: none for :data:`NO_ACCURACY`."""
    return [] if writer in NO_ACCURACY else list(acc)


def logged_train(c: Curve, n: int, agg: str) -> list[tuple[int, float]]:
    """(step, value) of the train loss a writer logging every ``n`` steps writes."""
    out = []
    for s in range(n, len(c.loss) + 1, n):
        w = c.loss[s - n:s]
        out.append((s, float(np.mean(w)) if agg == "mean" else float(w[-1])))
    return out


def _val_rows(c: Curve) -> list[tuple[int, float, float | None, float | None]]:
    return list(c.evals)


def _clean(v: float) -> float:
    return float(v)


def write_recorder(c: Curve, d: Path, n: int) -> Path:
    from diagnose.record import Recorder

    rec = Recorder(d, params=c.params, num_classes=c.params.get("num_classes"), overwrite=True)
    ev = {s: (vl, va, ta) for s, vl, va, ta in c.evals}
    for s, v in logged_train(c, n, "sample"):
        rec.log(s, train_loss=v, lr=c.lr[s - 1])
        if s in ev:
            _rec_val(rec, s, ev.pop(s))
    for s, row in sorted(ev.items()):
        _rec_val(rec, s, row)
    rec.close()
    return d


def _rec_val(rec: Any, s: int, row: tuple[float, float | None, float | None]) -> None:
    vl, va, ta = row
    extra = {k: v for k, v in (("val_acc", va), ("train_acc", ta)) if v is not None}
    rec.log(s, val_loss=vl, **extra)


def write_tb(c: Curve, d: Path, n: int) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(d))
    for s, v in logged_train(c, n, "sample"):
        w.add_scalar("Loss/train", v, s)
        w.add_scalar("learning_rate", c.lr[s - 1], s)
    best = math.inf
    for s, vl, va, ta in c.evals:
        w.add_scalar("Loss/val", vl, s)
        if va is not None:
            w.add_scalar("Accuracy/val", va, s)
        if ta is not None:
            w.add_scalar("Accuracy/train", ta, s)
        if math.isfinite(vl):
            best = min(best, vl)
    hp = {k: v for k, v in c.params.items() if isinstance(v, int | float | str | bool)}
    w.add_hparams(hp, {"hparam/best_val_loss": best}, run_name=".")
    w.close()
    return d


def _lightning(c: Curve, logger: Any, n: int) -> None:
    logger.log_hyperparams(c.params)
    spe = c.steps_per_epoch
    ev = {s: (vl, va, ta) for s, vl, va, ta in c.evals}
    for s, v in logged_train(c, n, "sample"):
        # Lightning writes the step of a training log as global_step - 1 ... as it is at log time
        logger.log_metrics({"train_loss": v, "epoch": (s - 1) // spe}, step=s - 1)
    for s, (vl, va, ta) in sorted(ev.items()):
        m = {"val_loss": vl, "epoch": (s - 1) // spe}
        if va is not None:
            m["val_acc"] = va
        if ta is not None:
            m["train_acc"] = ta
        logger.log_metrics(m, step=s - 1)
    logger.save()
    logger.finalize("success")


def write_lightning_csv(c: Curve, d: Path, n: int) -> Path:
    from lightning.pytorch.loggers import CSVLogger

    lg = CSVLogger(str(d.parent), name=d.name, version=0)
    _lightning(c, lg, n)
    return Path(lg.log_dir)


def write_lightning_tb(c: Curve, d: Path, n: int) -> Path:
    from lightning.pytorch.loggers import TensorBoardLogger

    lg = TensorBoardLogger(str(d.parent), name=d.name, version=0, default_hp_metric=False)
    _lightning(c, lg, n)
    return Path(lg.log_dir)


def write_hf(c: Curve, d: Path, n: int) -> Path:
    """``trainer_state.json`` as ``Trainer.save_state()`` writes it, via ``TrainerState``."""
    from transformers import TrainerState

    spe = c.steps_per_epoch
    hist: list[dict[str, Any]] = []
    ev = {s: (vl, va) for s, vl, va, _ in c.evals}
    for s, v in logged_train(c, n, "mean"):
        # HF logs the grad norm and lr of the window's last step, the loss averaged over it
        hist.append({"epoch": s / spe, "grad_norm": c.gnorm[s - 1], "learning_rate": c.lr[s - 1],
                     "loss": round(v, 4) if math.isfinite(v) else v, "step": s})
    for s, (vl, va) in ev.items():
        e = {"epoch": s / spe, "eval_loss": vl, "eval_runtime": 0.1, "eval_samples_per_second": 1000.0,
             "eval_steps_per_second": 10.0, "step": s}
        if va is not None:
            e["eval_accuracy"] = va
        hist.append(e)
    hist.sort(key=lambda e: (e["step"], "eval_loss" in e))
    total = len(c.loss)
    finite = [x for x in c.loss if math.isfinite(x)]
    hist.append({"epoch": total / spe, "step": total, "total_flos": 0.0, "train_loss": float(np.mean(finite)) if finite else math.nan,
                 "train_runtime": 1.0, "train_samples_per_second": 1.0, "train_steps_per_second": 1.0})
    st = TrainerState(epoch=total / spe, global_step=total, max_steps=total, logging_steps=n,
                      eval_steps=c.evals[0][0] if c.evals else n, num_train_epochs=math.ceil(total / spe),
                      train_batch_size=c.params.get("batch_size"), log_history=hist)
    d.mkdir(parents=True, exist_ok=True)
    st.save_to_json(str(d / "trainer_state.json"))
    if c.params.get("num_classes"):  # what save_model() writes beside it for a classifier
        from transformers import BertConfig

        BertConfig(num_labels=int(c.params["num_classes"]), hidden_size=32, num_hidden_layers=2,
                   num_attention_heads=2, intermediate_size=64).to_json_file(str(d / "config.json"))
    return d


def write_keras(c: Curve, d: Path, n: int) -> Path:
    """Keras ``CSVLogger`` as ``fit(steps_per_epoch=n, validation_freq=...)`` drives it, for a
    model compiled without metrics (``loss`` only): Keras reports for validation the metrics it
    tracks in training, so ``val_loss`` only. (Writing ``val_accuracy`` without ``accuracy``, as
    this did until wave 12, gave a log no Keras run writes, and only where every epoch held an
    evaluation, i.e. logged every 50 steps: the CSVLogger fixes its columns at the first epoch.)"""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from keras.callbacks import CSVLogger

    d.mkdir(parents=True, exist_ok=True)
    cb = CSVLogger(str(d / "training.log"))
    cb.on_train_begin()
    ev = {s: (vl, va) for s, vl, va, _ in c.evals}
    for epoch, (s, v) in enumerate(logged_train(c, n, "mean")):
        logs: dict[str, Any] = {"loss": v}
        # an evaluation that happened inside this epoch is reported at its end
        inside = [t for t in ev if s - n < t <= s]
        if inside:
            logs["val_loss"] = ev[max(inside)][0]
        cb.on_epoch_end(epoch, logs)
    cb.on_train_end()
    return d


def write_mlflow(c: Curve, d: Path, n: int) -> Path:
    """An MLflow file store with one run (what HF's ``MLflowCallback`` logs: windowed means)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    client = MlflowClient(tracking_uri=(d / "mlruns").resolve().as_uri())
    exp = client.create_experiment(d.name)
    run = client.create_run(exp, run_name=d.name)
    rid = run.info.run_id
    ts = 1_700_000_000_000
    ms: list[Metric] = []
    for s, v in logged_train(c, n, "mean"):
        ms.append(Metric("loss", v, ts + s, s))
        ms.append(Metric("learning_rate", c.lr[s - 1], ts + s, s))
    for s, vl, va, _ in c.evals:
        ms.append(Metric("eval_loss", vl, ts + s, s))
        if va is not None:
            ms.append(Metric("eval_accuracy", va, ts + s, s))
    ps = [Param(k, str(v)) for k, v in c.params.items()]
    for i in range(0, max(len(ms), 1), 1000):
        client.log_batch(rid, metrics=ms[i:i + 1000], params=ps if i == 0 else [])
    client.set_terminated(rid)
    return d / "mlruns"


#: How kinds of training script print, chosen by the recipe: three hand-written loops and a
#: Hugging Face ``Trainer``'s console (``hf``). Seeds 100-103 (wave 36) were written when only
#: the first three rotated.
TEXT_STYLES = ("loop", "nanogpt", "logging", "hf")


def text_style(recipe_index: int) -> str:
    """The print style of the ``recipe_index``-th grid recipe (they rotate)."""
    return TEXT_STYLES[recipe_index % len(TEXT_STYLES)]
_TEXT_FMT = {"loop": "{:.4f}", "nanogpt": "{:.4f}", "logging": "{:.6g}", "hf": "{:.4g}"}


def text_agg(style: str) -> str:
    """What a printed train loss is: the Trainer prints the mean over its logging window, a
    hand-written loop the loss of the step it prints at."""
    return "mean" if style == "hf" else "sample"


def text_value(style: str, v: float) -> float:
    """A value as a text log of ``style`` holds it (printed, so rounded)."""
    return float(_TEXT_FMT[style].format(v))


def write_textlog(c: Curve, d: Path, n: int, style: str) -> Path:
    """The stdout of a plain torch loop that prints every ``n`` steps, kept as ``train.log``
    (``python train.py | tee train.log``): the print calls such loops make, in one of
    :data:`TEXT_STYLES`. Numbers are printed rounded, as those loops print them.

    - ``loop``: argparse's ``Namespace(...)`` first, then ``Epoch [e/E], Step [i/T], Loss: x``
      (the step inside the epoch) and, after an evaluation, ``Validation: Loss: x, Acc: y``;
    - ``nanogpt``: ``iter S: loss x, lr y`` and ``step S: val loss x, val acc y``;
    - ``logging``: ``logging.basicConfig`` lines, ``step=S loss=x lr=y`` and ``eval step=S
      val_loss=x val_acc=y``, after the config dict."""
    if style == "hf":
        return _write_hf_console(c, d, n)
    f = _TEXT_FMT[style].format
    spe = c.steps_per_epoch
    total = len(c.loss)
    epochs = math.ceil(total / spe)
    ev = {s: (vl, va, ta) for s, vl, va, ta in c.evals}
    lines: list[str] = []
    t0 = 1_764_950_400.0  # 2025-12-05 16:00 UTC: a fixed clock, so a log is reproducible

    def stamp(s: int) -> str:
        t = t0 + 0.05 * s
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f",{int(t * 1000) % 1000:03d}"

    if style == "loop":
        args = ", ".join(f"{k}={v!r}" for k, v in c.params.items())
        lines.append(f"Namespace({args})")
    elif style == "nanogpt":
        lines.append(f"tokens per iteration will be: {c.params.get('batch_size', 32)}")
    else:
        lines.append(f"{stamp(0)} - INFO - config: {dict(c.params)!r}")

    def val_line(s: int, vl: float, va: float | None, ta: float | None) -> str:
        if style == "loop":
            acc = f", Acc: {f(va)}" if va is not None else ""
            return f"Validation: Loss: {f(vl)}{acc}"
        if style == "nanogpt":
            acc = f", val acc {f(va)}" if va is not None else ""
            return f"step {s}: val loss {f(vl)}{acc}"
        acc = f" val_acc={f(va)}" if va is not None else ""
        tacc = f" train_acc={f(ta)}" if ta is not None else ""
        return f"{stamp(s)} - INFO - eval step={s} val_loss={f(vl)}{acc}{tacc}"

    for s, v in logged_train(c, n, "sample"):
        if style == "loop":
            e, i = (s - 1) // spe + 1, (s - 1) % spe + 1
            lines.append(f"Epoch [{e}/{epochs}], Step [{i}/{spe}], Loss: {f(v)}")
        elif style == "nanogpt":
            lines.append(f"iter {s}: loss {f(v)}, lr {c.lr[s - 1]:.2e}")
        else:
            lines.append(f"{stamp(s)} - INFO - step={s} loss={f(v)} lr={c.lr[s - 1]:.3g}")
        for t in sorted(t for t in ev if t <= s):
            lines.append(val_line(t, *ev.pop(t)))
    for t in sorted(ev):
        lines.append(val_line(t, *ev[t]))
    d.mkdir(parents=True, exist_ok=True)
    (d / "train.log").write_text("\n".join(lines) + "\n")
    return d / "train.log"


def _write_hf_console(c: Curve, d: Path, n: int) -> Path:
    """A Hugging Face ``Trainer``'s console kept as ``train.log`` (``python train.py 2>&1 | tee
    train.log``): the real ``ProgressCallback`` driven through the run, so its tqdm bars (training,
    and one per evaluation) and the dicts it prints (floats as 4-significant-digit strings, the
    loss averaged over the logging window) are what transformers writes."""
    from transformers import TrainerControl, TrainerState, TrainingArguments
    from transformers.trainer_callback import ProgressCallback

    spe, total = c.steps_per_epoch, len(c.loss)
    ev = {s: (vl, va) for s, vl, va, _ in c.evals}
    logged = dict(logged_train(c, n, "mean"))
    finite = [x for x in c.loss if math.isfinite(x)]
    state = TrainerState(max_steps=total, logging_steps=n, num_train_epochs=math.ceil(total / spe))
    args, control, cb = TrainingArguments(output_dir=str(d), report_to=[]), TrainerControl(), ProgressCallback()
    d.mkdir(parents=True, exist_ok=True)
    batches = range(8)  # the evaluation's dataloader: eight batches, so the bar has a length
    with open(d / "train.log", "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        cb.on_train_begin(args, state, control)
        for s in range(1, total + 1):
            state.global_step, state.epoch = s, s / spe
            cb.on_step_end(args, state, control)
            if s in logged:
                cb.on_log(args, state, control, logs={"loss": logged[s], "grad_norm": c.gnorm[s - 1],
                                                      "learning_rate": c.lr[s - 1], "epoch": state.epoch})
            if s in ev:
                vl, va = ev.pop(s)
                for _ in batches:
                    cb.on_prediction_step(args, state, control, eval_dataloader=batches)
                cb.on_evaluate(args, state, control)
                logs = {"eval_loss": vl} | ({"eval_accuracy": va} if va is not None else {})
                cb.on_log(args, state, control, logs=logs | {"eval_runtime": 0.4, "epoch": state.epoch})
        cb.on_log(args, state, control, logs={
            "train_runtime": 12.5, "train_loss": float(np.mean(finite)) if finite else math.nan,
            "epoch": total / spe})
        cb.on_train_end(args, state, control)
    return d / "train.log"


WRITE: dict[str, Callable[[Curve, Path, int], Path]] = {
    "recorder": write_recorder, "tb": write_tb, "lightning-csv": write_lightning_csv,
    "lightning-tb": write_lightning_tb, "hf": write_hf, "keras": write_keras, "mlflow": write_mlflow,
}


def dump_curve(c: Curve) -> str:
    return json.dumps({"loss": c.loss, "lr": c.lr, "gnorm": c.gnorm, "evals": c.evals, "k": c.k,
                       "spe": c.steps_per_epoch, "params": c.params})
