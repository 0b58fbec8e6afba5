"""`netspec lsp`: the language server, for editors (see docs/editors.md)."""

from __future__ import annotations

import click


@click.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default and only transport).")
def lsp(stdio: bool) -> None:
    """Run the language server: errors, shapes and fixes in the editor (needs netspec[lsp])."""
    from ..lsp import serve

    serve()
