"""The `diagnose` command line: thin click wrappers over the public API.

Exit codes work as linters use them: 0 clean, 1 findings at or above --fail-on,
2 usage, configuration or unreadable input.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ._errors import DiagnoseError
from ._escape import escape
from ._version import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Group(click.Group):
    """Commands live in their own modules; listed here, imported only when used."""

    LAZY = {
        "check": "diagnose._cli_check:check",
        "rules": "diagnose._cli_rules:rules_cmd",
        "features": "diagnose._cli_rules:features_cmd",
        "explain": "diagnose._cli_check:explain",
        "formats": "diagnose._cli_check:formats",
        "sweep": "diagnose._cli_experiments:sweep",
        "card": "diagnose._cli_experiments:card",
        "demo": "diagnose._cli_experiments:demo",
        "plot": "diagnose._cli_plot:plot",
        "report": "diagnose._cli_plot:report_cmd",
        "tune": "diagnose._cli_tune:tune_cmd",
        "next": "diagnose._cli_next:next_cmd",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            modname, attr = self.LAZY[name].split(":")
            try:
                return getattr(importlib.import_module(modname), attr)
            except (ImportError, AttributeError):
                return None
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        """No traceback for any input: an error diagnose did not expect exits 2, said in one
        line (exit 1 means findings, and CI must not read a crash as findings)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except DiagnoseError as e:
            fail(escape(e))
        except Exception as e:  # noqa: BLE001
            if os.environ.get("DIAGNOSE_DEBUG"):
                raise
            where = f" (reading {e.filename})" if getattr(e, "filename", None) else ""
            click.echo(f"diagnose: internal error{escape(where)}: {type(e).__name__}: "
                       f"{escape(e)[:300]}; rerun with DIAGNOSE_DEBUG=1 for the traceback and "
                       "please report it", err=True)
            raise click.exceptions.Exit(EXIT_USAGE) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diagnose")
def main() -> None:
    """Diagnose training curves: findings, likely causes and the next experiment."""


def ensure_parent(path) -> None:
    """Create the folder an output file goes into: `-o out/report.html` should just work."""
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)


def fail(message: str) -> "click.exceptions.Exit":
    """Print an error for the user and exit 2 (usage/config/unreadable input)."""
    click.echo(f"diagnose: error: {escape(message, newlines=True)}", err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
