"""Live checks inside the training frameworks people already use.

- :mod:`diagnose.integrations.lightning`: ``DiagnoseCallback`` for a Lightning ``Trainer``;
- :mod:`diagnose.integrations.transformers`: ``DiagnoseCallback`` for a Hugging Face
  ``Trainer``.

Both record what the framework logs as a native run log (a :class:`diagnose.Recorder`
with live checks), write ``findings.json`` next to it, and stop training through the
framework's own mechanism when a finding reaches ``stop_on``. Importing this package
imports neither framework (nor torch); each submodule imports only its own.
"""

from __future__ import annotations

__all__: list[str] = []
