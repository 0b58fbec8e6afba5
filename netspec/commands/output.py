"""What commands print: diagnostics to stderr, and the exit code an error maps to."""

from __future__ import annotations

from collections.abc import Iterable

import click

from .. import render
from ..diagnostics import Diagnostic, SpecError


def echo_diagnostics(diagnostics: Iterable[Diagnostic], fmt: str = "full") -> None:
    for d in diagnostics:
        click.echo(render.concise(d) if fmt == "concise" else render.diagnostic(d) + "\n", err=True)


def exit_code(error: SpecError) -> int:
    """2 when a file could not be read at all (a usage error), else 1."""
    return 2 if any(d.code == "io-error" for d in error.diagnostics) else 1
