"""The `netspec` command line. Diagnostics are rendered here, and only here.

Exit codes: 0 success (warnings allowed), 1 a spec or run has errors, 2 usage errors
(a missing file, a bad option), 130 interrupted. torch is imported only by the commands
that build or train, never by `check`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from .diagnostics import SpecError, did_you_mean

# Each command's module is imported when the command runs (or `--help` lists them): `netspec check`
# never loads the trainer's or the exporters' code. In the order `netspec --help` lists them.
COMMANDS = {
    "check": "netspec.commands.check:check",
    "build": "netspec.commands.build:build",
    "train": "netspec.commands.train:train",
    "evaluate": "netspec.commands.evaluate:evaluate",
    "predict": "netspec.commands.predict:predict",
    "plot": "netspec.commands.plot:plot",
    "draw": "netspec.commands.draw:draw",
    "export": "netspec.commands.export:export",
    "import": "netspec.commands.import_:import_",
    "schema": "netspec.commands.schema:schema",
    "lsp": "netspec.commands.lsp:lsp",
}

EXAMPLES = """\b
Examples:
  netspec check specs/lenet.yaml            the layer table and totals; no torch
  netspec check specs/ --format concise     every spec in a folder, one line per problem
  netspec build specs/lenet.yaml            build it and compare with torchinfo
  netspec draw specs/resnet18.yaml          a diagram of it: resnet18.svg
  netspec train specs/lenet.yaml            train it on the bundled digits
"""


class _Group(click.Group):
    """Turns what escapes a command into a message and an exit code, never a traceback; loads commands lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if name not in COMMANDS and not name.startswith("-"):  # netspec's words, whatever click's version says
            guess = did_you_mean(name, list(COMMANDS))
            raise click.UsageError(f"no command `{name}`" + (f": did you mean `{guess}`?" if guess else ""), ctx)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as e:
            from .commands.output import echo_diagnostics, exit_code

            echo_diagnostics(e.diagnostics)
            ctx.exit(exit_code(e))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `netspec check ... | head`
            sys.stderr.close()
            ctx.exit(0)
        except Exception as e:  # the last line of defence against tracebacks
            if os.environ.get("NETSPEC_DEBUG"):
                raise
            click.echo(
                f"netspec: internal error: {type(e).__name__}: {e}\n"
                "this is a bug in netspec: please report it with the command you ran"
                " (NETSPEC_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netspec", prog_name="netspec")
def cli() -> None:
    """netspec: declare a PyTorch network in YAML, know every shape before it runs."""


def main() -> NoReturn:
    """Console-script entry point."""
    cli(prog_name="netspec")
    raise SystemExit(0)  # pragma: no cover - click always exits
