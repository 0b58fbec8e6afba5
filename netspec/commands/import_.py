"""`netspec import`: an nn.Sequential or a chain-forward module (.pt or Python), or a checkpoint's spec, as YAML."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .export import write_text
from .output import parse_input, refuse_overwriting_input

IMPORT_EXAMPLES = """\b
Examples:
  netspec import python:mymodels:make_net --input 1,28,28 -o net.yaml
  netspec import python:mymodels:Net --input 3,32,32     a class (or function) is called with no arguments
  netspec import runs/lenet/best.pt -o lenet.yaml         the spec inside a netspec checkpoint
  netspec import model.pt --trust --input 3,32,32         a module saved with torch.save(model)
"""
SCHEMA_FILE = "netspec.schema.json"


def _spec_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--name as the spec's `name` field takes it: a checkpoint's spec is renamed without validating it again."""
    from pydantic import TypeAdapter, ValidationError

    from ..spec import SpecName

    if value is None:
        return None
    try:
        return TypeAdapter(SpecName).validate_python(value)
    except ValidationError as e:
        raise click.BadParameter(e.errors()[0]["msg"]) from None


@click.command("import", epilog=IMPORT_EXAMPLES)
@click.argument("source", metavar="SOURCE")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here (default stdout).")
@click.option(
    "--input",
    "input_shape",
    metavar="C,H,W",
    callback=parse_input,
    help="One sample's input shape (F for vectors): a module does not record it. Required for modules.",
)
@click.option(
    "--name", callback=_spec_name, help="The spec's name (default: the output file's name, else the source's)."
)
@click.option(
    "--trust",
    is_flag=True,
    help="Load a .pt file holding a pickled module. Unpickling runs code stored in the file, so only pass"
    " --trust for files from a source you trust; netspec checkpoints load without it.",
)
@click.option(
    "--schema",
    "schema_ref",
    metavar="PATH|URL",
    help=f"Where the first-line modeline points editors (default: the nearest schema/{SCHEMA_FILE} above the output).",
)
def import_(
    source: str,
    output: Path | None,
    input_shape: tuple[int, ...] | None,
    name: str | None,
    trust: bool,
    schema_ref: str | None,
) -> None:
    """Turn an nn.Sequential, a module whose forward is a chain (traced with torch.fx), or a checkpoint's spec
    into a YAML spec.

    SOURCE is FILE.pt (a netspec checkpoint, or a pickled module with --trust) or python:package.module:attribute
    (a module, or a function or class making one with no arguments).
    """
    from ..export_yaml import to_yaml
    from ..from_torch import from_module, load_source
    from ..render import fmt_int
    from ..report import check
    from ..source import default_name as _default_name
    from ..spec import Spec

    if source.startswith("python:"):
        module_name, _, attr = source.removeprefix("python:").partition(":")
        if not module_name or not attr:
            raise click.BadParameter(f"expected python:package.module:attribute, got {source!r}", param_hint="SOURCE")
    else:
        refuse_overwriting_input(Path(source), output)
    loaded = load_source(source, trust=trust)
    default = _default_name(output) if output else _default_name(Path(source.rsplit(":", 1)[-1]))
    if isinstance(loaded, Spec):
        spec = loaded.with_input(input_shape) if input_shape else loaded
        spec = spec.model_copy(update={"name": name}) if name else spec
    else:
        if input_shape is None:
            raise click.UsageError(
                "a module does not record its input shape: give it with --input C,H,W (or --input F for vectors)"
            )
        spec = from_module(loaded, input_shape, name=name or default)
    report = check(spec)
    summary = f"{len(spec.layers)} layers, {fmt_int(report.total_params)} parameters"
    header = f"Imported from {source} by `netspec import` ({summary})."
    text = to_yaml(spec, header=header, schema=schema_ref or _schema_ref(output))
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text)
    click.echo(f"wrote {output} ({summary})", err=True)


def _schema_ref(output: Path | None) -> str:
    """The path from the output's folder to the nearest schema/netspec.schema.json (or netspec.schema.json) above."""
    start = (output.parent if output else Path()).resolve()
    for folder in (start, *start.parents):
        for candidate in (folder / "schema" / SCHEMA_FILE, folder / SCHEMA_FILE):
            if candidate.is_file():
                return Path(os.path.relpath(candidate, start)).as_posix()
    click.echo(f"hint: write the schema beside the spec for editor support: netspec schema -o {SCHEMA_FILE}", err=True)
    return SCHEMA_FILE
