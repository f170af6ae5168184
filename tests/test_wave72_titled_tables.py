"""A history table with one line above its header: a title, or Excel's ``sep=;`` hint.

A Keras CSVLogger file written with ``separator=';'`` under a stray title line
(``model_history_log``) was refused: the title was taken for the header, which named no column
diagnose knows. Exporters that write for Excel put ``sep=;`` on the first line for the same
reason. Here a real torch loop writes its per-epoch history both ways, and the rows are read
with the values the loop wrote; the skipped line is said in a note that names the file and
line, and a note about a bad row below it names that row's line in the file. A one-column
table (no delimiter on any line) is still read as before, with no line skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

import diagnose


def _history() -> list[dict[str, float]]:
    """Per-epoch loss and accuracy of a small real classifier."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] + x[:, 1] > 0).long()
    tr, va = slice(0, 192), slice(192, 256)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    loss_fn = torch.nn.CrossEntropyLoss()
    rows = []
    for epoch in range(12):
        opt.zero_grad()
        out = model(x[tr])
        loss = loss_fn(out, y[tr])
        loss.backward()
        opt.step()
        with torch.no_grad():
            vo = model(x[va])
            hit, val_hit = (out.argmax(1) == y[tr]), (vo.argmax(1) == y[va])
            rows.append({"epoch": epoch, "accuracy": hit.float().mean().item(),
                         "loss": loss.item(), "val_accuracy": val_hit.float().mean().item(),
                         "val_loss": loss_fn(vo, y[va]).item()})
    return rows


def _write(path: Path, first_line: str, rows: list[dict[str, float]], sep: str) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=sep, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(first_line + "\n" + buf.getvalue())


@pytest.mark.parametrize("first_line, sep", [("model_history_log", ";"), ("sep=;", ";"),
                                             ("Training history", ",")])
def test_line_above_the_header_is_skipped(tmp_path: Path, first_line: str, sep: str) -> None:
    rows = _history()
    path = tmp_path / "model_history_log.csv"
    _write(path, first_line, rows, sep)
    run = diagnose.load(str(path))
    for name, col in (("train/loss", "loss"), ("val/loss", "val_loss"),
                      ("val/acc", "val_accuracy")):
        _, values = run.arrays(name)
        assert len(values) == len(rows)
        np.testing.assert_array_equal(values, [r[col] for r in rows])
    assert any(f"{path}:1:" in n and "above the header" in n for n in run.warnings)


def test_bad_row_under_a_title_names_its_line_in_the_file(tmp_path: Path) -> None:
    rows = _history()
    path = tmp_path / "history.csv"
    _write(path, "model_history_log", rows, ";")
    lines = path.read_text().splitlines()
    lines.insert(5, "oops;1")  # file line 6
    path.write_text("\n".join(lines) + "\n")
    run = diagnose.load(str(path))
    assert any("line 6" in n for n in run.warnings), run.warnings
    assert len(run.arrays("train/loss")[1]) == len(rows)


def test_one_column_table_is_read_as_before(tmp_path: Path) -> None:
    rows = _history()
    path = tmp_path / "train_loss.csv"
    path.write_text("loss\n" + "".join(f"{r['loss']!r}\n" for r in rows))
    run = diagnose.load(str(path))
    assert not any("above the header" in n for n in run.warnings)
    np.testing.assert_array_equal(run.arrays("train/loss")[1], [r["loss"] for r in rows])
