"""Capturing training runs from PyTorch as native run logs.

``import diagnose.record`` never imports torch: the Recorder reads torch only from
``sys.modules`` (the training script has imported it) or imports it inside the
methods that need it (``watch``, flush of tensor values).
"""

from __future__ import annotations

from ._recorder import DEFAULT_FLUSH_EVERY, DEFAULT_FLUSH_SECS, Recorder

__all__ = ["DEFAULT_FLUSH_EVERY", "DEFAULT_FLUSH_SECS", "Recorder"]
