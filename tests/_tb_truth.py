"""Every scalar of an event-file folder as TensorBoard's own reader returns it: the reference
the reader tests compare diagnose against."""

from __future__ import annotations

from pathlib import Path

import pytest


def event_scalars(d: Path) -> dict[str, dict[int, float]]:
    """Tag -> {step: value} (the last value at a repeated step), TF2's float tensor summaries
    too, a split folder's tags (Keras-style ``test/``) under ``<folder>/<tag>``."""
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from tensorboard.util import tensor_util

    out: dict[str, dict[int, float]] = {}
    for sub in [d, *sorted(p for p in d.iterdir() if p.is_dir())]:
        acc = ea.EventAccumulator(str(sub), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        pre = "" if sub == d else sub.name + "/"
        tags = acc.Tags()
        for t in tags["scalars"]:
            out[pre + t] = {e.step: e.value for e in acc.Scalars(t)}
        for t in tags.get("tensors", []):
            values = {e.step: tensor_util.make_ndarray(e.tensor_proto) for e in acc.Tensors(t)}
            if all(v.size == 1 and v.dtype.kind == "f" for v in values.values()):
                out[pre + t] = {k: float(v) for k, v in values.items()}
    return out
