"""Tensor handling for the Recorder: batched device-to-host conversion and the grad norm.

Every function here runs either at flush time, once per recorder, or inside autograd;
none is on the ``log()`` hot path, and none synchronises a device except the one
batched transfer per device in :func:`to_floats`.
"""

from __future__ import annotations

import operator
import sys
from typing import Any, Iterable

__all__ = ["global_grad_norm", "host_only", "tensor_type", "to_floats"]

_IS_CPU = operator.attrgetter("is_cpu")


def tensor_type() -> type | None:
    """``torch.Tensor`` if the training script has imported torch, else None (never imports it)."""
    torch = sys.modules.get("torch")
    return getattr(torch, "Tensor", None) if torch is not None else None


def host_only() -> bool:
    """Whether this process has no accelerator, so that every tensor lives on the CPU.

    Asks torch's accelerator API (CUDA, XPU, MPS, ...) once; with torch_xla loaded the
    answer is no (XLA tensors are not announced there). Never initialises a device.
    """
    torch = sys.modules.get("torch")
    if torch is None or "torch_xla" in sys.modules:
        return False
    acc = getattr(torch, "accelerator", None)
    try:
        if acc is not None and hasattr(acc, "is_available"):
            return not acc.is_available()
        return not torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - an odd build: ask each tensor instead
        return False


def to_floats(tensors: list[Any]) -> list[float | None]:
    """Python floats for single-value tensors, in order, in one transfer per device.

    Plain CPU tensors of floating dtype are read one by one (``item``): there is no
    transfer to batch, and that is cheaper than stacking.

    ``torch.stack`` then one ``.tolist()``: on a GPU that is one copy and one
    synchronisation per flush instead of one per logged value. Mixed dtypes follow
    torch's type promotion (float16/bfloat16/float32/float64 values stay exact; an
    integer tensor stacked with float32 ones is rounded to float32). When one stack
    fails (tensors on several devices, or of shape ``(1,)``), each (device, dtype) group
    is stacked on its own; a group that still fails is read one value at a time, and
    values that cannot be read (not one value, complex) come back as None.
    """
    import torch

    if all(map(_IS_CPU, tensors)) and set(map(type, tensors)) == {torch.Tensor}:
        # No device to synchronise: reading each value is cheaper than building a stack.
        try:
            vals = list(map(torch.Tensor.item, tensors))
        except (RuntimeError, ValueError):
            pass  # a tensor of several values: the general path sorts it out
        else:
            if set(map(type, vals)) == {float}:
                return vals
    with torch.no_grad():
        try:
            return _as_floats(torch.stack(tensors))
        except (RuntimeError, TypeError, ValueError):
            pass
        groups: dict[tuple[Any, Any], list[int]] = {}
        for i, t in enumerate(tensors):
            groups.setdefault((t.device, t.dtype), []).append(i)
        out: list[float | None] = [None] * len(tensors)
        for idx in groups.values():
            try:
                vals = _as_floats(torch.stack([tensors[i].reshape(()) for i in idx]))
            except (RuntimeError, TypeError, ValueError):
                vals = [_one(tensors[i]) for i in idx]
            for i, v in zip(idx, vals):
                out[i] = v
    return out


def _as_floats(stacked: Any) -> list[float | None]:
    if stacked.dtype.is_complex or stacked.ndim != 1:
        raise TypeError("not one real value per tensor")
    vals = stacked.tolist()
    return vals if stacked.dtype.is_floating_point else [float(v) for v in vals]


def _one(t: Any) -> float | None:
    try:
        return float(t)
    except (RuntimeError, TypeError, ValueError):
        return None


def global_grad_norm(params: Iterable[Any]) -> Any:
    """Global L2 norm of the gradients, as a 0-dim tensor on their device (no sync); None if none.

    The L2 norm of the per-parameter L2 norms equals the norm of all gradients
    concatenated; grads on several devices are gathered on the first one's device.
    """
    import torch

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return None
    with torch.no_grad():
        get_total_norm = getattr(torch.nn.utils, "get_total_norm", None)
        if get_total_norm is not None:
            return get_total_norm(grads, 2.0).detach()
        device = grads[0].device
        norms = [torch.linalg.vector_norm(g.detach()).to(device) for g in grads]
        return torch.linalg.vector_norm(torch.stack(norms))
