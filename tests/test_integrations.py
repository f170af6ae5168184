"""Lightning and Hugging Face callbacks, with the real Trainers on CPU.

Tiny models, a few dozen steps. What the callbacks record is compared with what the
frameworks themselves wrote (Lightning's CSVLogger, the HF Trainer's ``log_history``).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterator

import pytest

import diagnose

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def data(n: int, seed: int) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return x, (x[:, 0] - x[:, 1] > 0).long()


def first_blowup(steps: Any, values: Any) -> int:
    first = next(v for v in values if math.isfinite(v))
    return next(int(s) for s, v in zip(steps, values) if not math.isfinite(v) or v > 2 * first)


def findings_json(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "findings.json").read_text())


def status(run_dir: Path) -> str:
    return json.loads((Path(run_dir) / "run.json").read_text())["status"]


# -- Lightning --------------------------------------------------------------------------

pl = pytest.importorskip("lightning.pytorch")


class LitNet(pl.LightningModule):
    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))

    def training_step(self, batch: Any, idx: int) -> Any:
        x, y = batch
        out = self.net(x)
        loss = F.cross_entropy(out, y)
        self.log("train_loss", loss)
        self.log("train_acc", (out.argmax(1) == y).float().mean(), on_step=True, on_epoch=True)
        return loss

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        # the reference gradient norm, computed here and logged like any metric
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        self.log("gn_ref", torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads])))

    def validation_step(self, batch: Any, idx: int) -> None:
        x, y = batch
        self.log("val_loss", F.cross_entropy(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders() -> tuple[Any, Any]:
    x, y = data(256, 1)
    ds = torch.utils.data.TensorDataset(x, y)
    vx, vy = data(128, 2)
    return (torch.utils.data.DataLoader(ds, batch_size=16, shuffle=False),
            torch.utils.data.DataLoader(torch.utils.data.TensorDataset(vx, vy), batch_size=64))


def lit_trainer(root: Path, callback: Any, logger: Any = False, **kw: Any) -> Any:
    return pl.Trainer(default_root_dir=root, callbacks=[callback], logger=logger,
                      accelerator="cpu", enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, log_every_n_steps=1, **kw)


def csv_column(path: Path, name: str) -> list[float]:
    with open(path) as f:
        return [float(r[name]) for r in csv.DictReader(f) if r.get(name)]


def test_lightning_records_what_the_module_logs(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    from diagnose.integrations.lightning import DiagnoseCallback

    logger = CSVLogger(tmp_path, name="lit")
    cb = DiagnoseCallback(check_every=10, log_grad_norm=True, check_budget=1.0)
    trainer = lit_trainer(tmp_path, cb, logger, max_epochs=3, val_check_interval=0.5)
    trainer.fit(LitNet(0.1), *loaders())
    run_dir = Path(logger.log_dir)
    assert cb.last_run_dir == run_dir and trainer.global_step == 48
    run = diagnose.load(run_dir)
    assert run.format == "native" and run.params["lr"] == 0.1 and run.params["epochs"] == 3
    lightning_csv = run_dir / "metrics.csv"
    steps, loss = run.arrays("train/loss")
    assert list(steps) == list(range(48))
    assert list(loss) == pytest.approx(csv_column(lightning_csv, "train_loss"), rel=1e-6)
    assert list(run.arrays("val/loss")[1]) == pytest.approx(
        csv_column(lightning_csv, "val_loss"), rel=1e-6)
    assert list(run.arrays("train/acc")[1]) == pytest.approx(
        csv_column(lightning_csv, "train_acc_step"), rel=1e-6)  # per step, not the epoch mean
    assert list(run.arrays("grad_norm")[1]) == pytest.approx(
        list(run.arrays("gn_ref")[1]), rel=1e-5)
    assert set(run.arrays("lr")[1]) == {0.1}
    assert status(run_dir) == "finished"
    assert findings_json(run_dir)["live"]["stopped"] is False


def test_lightning_stops_a_diverging_run(tmp_path):
    from diagnose.integrations.lightning import DiagnoseCallback

    found: list[Any] = []
    cb = DiagnoseCallback(check_every=10, on_finding=found.append)
    trainer = lit_trainer(tmp_path, cb, max_epochs=20)
    trainer.fit(LitNet(50.0), *loaders())
    assert trainer.global_step < 20 * 16  # stopped early, through trainer.should_stop
    run_dir = cb.last_run_dir
    assert run_dir == tmp_path / "diagnose_logs" / "version_0"  # no logger: our own folder
    saved = findings_json(run_dir)
    assert saved["live"]["stopped"] and status(run_dir) == "stopped"
    errors = [f for f in found if f.severity == "error"]
    assert errors and errors[0].rule in saved["live"]["stopped_by"]
    s, v = diagnose.load(run_dir).arrays("train/loss")
    assert trainer.global_step - 1 <= first_blowup(s, v) + 2 * 10

    cb2 = DiagnoseCallback(check_every=10)
    lit_trainer(tmp_path, cb2, max_steps=3).fit(LitNet(0.1), *loaders())
    assert cb2.last_run_dir == tmp_path / "diagnose_logs" / "version_1"


# -- Hugging Face -----------------------------------------------------------------------

transformers = pytest.importorskip("transformers")


class HFNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x: Any, labels: Any = None) -> dict[str, Any]:
        out = self.net(x)
        return {"loss": F.cross_entropy(out, labels), "logits": out}


class Pairs(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        self.x, self.y = data(n, seed)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"x": self.x[i], "labels": self.y[i]}


def hf_train(out: Path, lr: float, callback: Any, **kw: Any) -> Any:
    args = transformers.TrainingArguments(
        output_dir=str(out), max_steps=60, per_device_train_batch_size=16, learning_rate=lr,
        optim="sgd", lr_scheduler_type="constant", logging_steps=2, eval_strategy="steps",
        eval_steps=20, save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
        seed=0, **kw)
    torch.manual_seed(0)
    trainer = transformers.Trainer(model=HFNet(), args=args, train_dataset=Pairs(512, 1),
                                   eval_dataset=Pairs(64, 2), callbacks=[callback])
    trainer.train()
    return trainer


def history(trainer: Any, key: str) -> dict[int, float]:
    return {h["step"]: h[key] for h in trainer.state.log_history if key in h}


def test_transformers_records_on_log_and_on_evaluate(tmp_path):
    from diagnose.integrations.transformers import DiagnoseCallback

    cb = DiagnoseCallback(check_every=10, check_budget=1.0)
    trainer = hf_train(tmp_path / "out", 0.1, cb)
    assert trainer.state.global_step == 60 and cb.last_run_dir == tmp_path / "out"
    run = diagnose.load(tmp_path / "out")
    for ours, theirs in (("train/loss", "loss"), ("val/loss", "eval_loss"),
                         ("lr", "learning_rate"), ("grad_norm", "grad_norm")):
        s, v = run.arrays(ours)
        assert dict(zip(s.tolist(), v.tolist())) == pytest.approx(history(trainer, theirs))
    assert "train_loss" not in json.dumps(run.metric_names)  # the run average is not a point
    assert run.params["lr"] == 0.1 and run.params["optimizer"] == "sgd"
    assert run.results["train_time"] == pytest.approx(history(trainer, "train_runtime")[60])
    assert status(tmp_path / "out") == "finished"
    assert findings_json(tmp_path / "out")["live"]["stopped"] is False


def test_transformers_stops_a_run_whose_nan_loss_was_filtered(tmp_path):
    from diagnose.integrations.transformers import DiagnoseCallback

    found: list[Any] = []
    cb = DiagnoseCallback(check_every=10, on_finding=found.append)
    trainer = hf_train(tmp_path / "out", 1000.0, cb, max_grad_norm=0.0)  # no clipping
    assert trainer.args.logging_nan_inf_filter  # the default: NaN losses are hidden
    assert trainer.state.global_step < 60  # stopped through control.should_training_stop
    logged = history(trainer, "loss")
    norms = history(trainer, "grad_norm")
    assert all(math.isfinite(v) for v in logged.values())  # the Trainer shows no NaN loss
    bad = sorted(s for s, g in norms.items() if not math.isfinite(g))
    assert bad
    s, v = diagnose.load(tmp_path / "out").arrays("train/loss")
    recorded = dict(zip(s.tolist(), v.tolist()))
    assert all(math.isnan(recorded[b]) for b in bad)  # what the filter hid is recorded
    assert all(recorded[k] == pytest.approx(logged[k]) for k in logged if k not in bad)
    saved = findings_json(tmp_path / "out")
    assert saved["live"]["stopped"] and status(tmp_path / "out") == "stopped"
    errors = [f for f in found if f.severity == "error"]
    assert errors and errors[0].steps[0] <= bad[0]
    assert trainer.state.global_step <= bad[0] + 10 + 2  # one check interval (+ one log)
