"""Settings printed as argparse's ``Namespace(...)`` or a config dict often hold an object's
default repr: ``Namespace(..., main=<function train_main at 0x7f..>, ...)`` when a script keeps
its sub-command function in ``args``, or ``{'optimizer': <class 'torch.optim.adam.Adam'>}``.
Such a repr is not Python, so the whole line failed to parse and every setting (the learning
rate among them) was lost: advice could not quote the run's own values.

The expected settings are read from the log text by a plain regex, never from the reader.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import diagnose

ROOT = Path(__file__).resolve().parents[1]


def _train_main() -> None:
    """The sub-command function a script stores in its parsed args (``set_defaults(main=...)``)."""


def test_a_public_namespace_with_a_function_repr_keeps_its_settings() -> None:
    """A public char-RNN run (bench/real-runs/w83g-thaikeras-charrnn-tinyshakes, tuning half)."""
    path = ROOT / "bench" / "real-runs" / "w83g-thaikeras-charrnn-tinyshakes" / "logs" / \
        "tinyshakespeare.log"
    line = next(x for x in path.read_text().splitlines() if "Namespace(" in x)
    assert "<function" in line
    lr = float(re.search(r"learning_rate=([0-9.e-]+)", line).group(1))
    batch = int(re.search(r"batch_size=(\d+)", line).group(1))
    (run,) = diagnose.load_all(path)
    assert run.params["learning_rate"] == lr
    assert run.params["batch_size"] == batch
    assert "main" not in run.params  # a function is no setting


def test_printed_namespace_and_dict_with_object_reprs(tmp_path: Path) -> None:
    """A script's own printout: the real ``argparse`` repr and a dict holding a class."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.set_defaults(main=_train_main)
    args = parser.parse_args([])
    losses = [2.3 / (1 + e) for e in range(8)]
    for name, header in (("ns", repr(args)),
                         ("dict", repr({"lr": args.lr, "batch_size": args.batch_size,
                                        "optimizer": argparse.ArgumentParser}))):
        assert "<" in header
        path = tmp_path / name / "train.log"
        path.parent.mkdir()
        path.write_text(header + "\n" + "".join(
            f"epoch {e + 1} loss: {v:.4f}\n" for e, v in enumerate(losses)))
        (run,) = diagnose.load_all(path)
        assert run.params["lr"] == args.lr, name
        assert run.params["batch_size"] == args.batch_size, name
        assert run.arrays("train/loss")[1].tolist() == [float(f"{v:.4f}") for v in losses]
