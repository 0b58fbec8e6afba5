"""`netspec schema`: the JSON Schema (draft-07) of the spec format, for editors."""

from __future__ import annotations

from pathlib import Path

import click

from .export import write_text

SCHEMA_EXAMPLES = """\b
Examples:
  netspec schema                                   print it
  netspec schema -o schema/netspec.schema.json     regenerate the committed copy
"""


@click.command(epilog=SCHEMA_EXAMPLES)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write it here instead of stdout."
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the spec format (draft-07, what the YAML language server reads)."""
    from ..schema import schema_text

    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
        click.echo(f"wrote {output}", err=True)
