"""A JSON history whose values are printed tensors: ``"tensor(0.6931, grad_fn=<...>)"``.

A torch loop that appends the loss tensor itself (no ``.item()``) cannot ``json.dump`` its
history until it adds ``default=str``; then every value is saved as the tensor's text, with its
``device=`` or ``grad_fn=`` note. Such files were refused ("not a number"), so the run went
unchecked; the same history written by pandas (``pd.DataFrame(history).to_csv``) had every
column skipped as text. Here a real torch loop writes one three ways (a named ``history.json``, a
list of records under its own name, a pandas CSV), and the values read back are the numbers the
tensors printed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose import ReadError


def _torch_history() -> dict[str, list]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(240, 5)
    y = (x[:, 0] - x[:, 1] > 0).long()
    model = torch.nn.Linear(5, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    history: dict[str, list] = {"loss": [], "val_loss": [], "val_accuracy": []}
    for _ in range(6):
        for i in range(0, 160, 16):
            opt.zero_grad()
            loss = loss_fn(model(x[i:i + 16]), y[i:i + 16])
            loss.backward()
            opt.step()
        history["loss"].append(loss)  # the tensor itself, grad_fn and all
        with torch.no_grad():
            out = model(x[160:])
            history["val_loss"].append(loss_fn(out, y[160:]))
            history["val_accuracy"].append((out.argmax(1) == y[160:]).float().mean())
    return history


def _printed(values: list) -> list[float]:
    """The number each saved string shows, read with a plain regex (not the reader's)."""
    return [float(re.search(r"tensor\(([-0-9.e]+)", str(v)).group(1)) for v in values]


def test_a_dict_of_printed_tensors_is_read_as_numbers(tmp_path: Path) -> None:
    history = _torch_history()
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history, default=str))
    saved = json.loads(path.read_text())
    assert saved["loss"][0].startswith("tensor(") and "grad_fn" in saved["loss"][0]
    run = diagnose.load(str(path))
    assert np.array_equal(run.arrays("train/loss")[1], _printed(saved["loss"]))
    assert np.array_equal(run.arrays("val/loss")[1], _printed(saved["val_loss"]))
    assert np.array_equal(run.arrays("val/acc")[1], _printed(saved["val_accuracy"]))


def test_records_of_printed_tensors_under_any_name_are_found(tmp_path: Path) -> None:
    history = _torch_history()
    records = [{"epoch": i + 1, "train_loss": t, "val_loss": v}
               for i, (t, v) in enumerate(zip(history["loss"], history["val_loss"]))]
    path = tmp_path / "run" / "training_log.json"
    path.parent.mkdir()
    path.write_text(json.dumps(records, default=str, indent=1))
    (run,) = diagnose.load_all(str(path.parent))
    saved = json.loads(path.read_text())
    assert np.array_equal(run.arrays("val/loss")[1], _printed([r["val_loss"] for r in saved]))


def test_a_pandas_csv_of_printed_tensors_is_read_as_numbers(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    history = _torch_history()
    path = tmp_path / "history.csv"
    pd.DataFrame({"epoch": range(len(history["loss"])), **history}).to_csv(path, index=False)
    saved = pd.read_csv(path)
    assert str(saved["loss"][0]).startswith("tensor(")
    run = diagnose.load(str(path))
    assert np.array_equal(run.arrays("train/loss")[1], _printed(list(saved["loss"])))
    assert np.array_equal(run.arrays("val/loss")[1], _printed(list(saved["val_loss"])))


def test_text_that_is_no_printed_number_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"loss": ["tensor(float)", "tensor(float)"]}))
    with pytest.raises(ReadError):
        diagnose.load(str(path))
