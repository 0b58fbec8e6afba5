"""The `netspec` command line. Diagnostics are rendered here, and only here.

Exit codes: 0 success (warnings allowed), 1 a spec or run has errors, 2 usage errors
(a missing file, a bad option), 130 interrupted. torch is imported only by the commands
that build or train, never by `check`.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from .commands.build import build
from .commands.check import check
from .commands.evaluate import evaluate
from .commands.export import export
from .commands.import_ import import_
from .commands.lsp import lsp
from .commands.output import echo_diagnostics, exit_code, warnings_once
from .commands.plot import plot
from .commands.predict import predict
from .commands.schema import schema
from .commands.train import train
from .diagnostics import SpecError

EXAMPLES = """\b
Examples:
  netspec check specs/lenet.yaml            the layer table and totals; no torch
  netspec check specs/ --format concise     every spec in a folder, one line per problem
  netspec build specs/lenet.yaml            build it and compare with torchinfo
  netspec train specs/lenet.yaml            train it on the bundled digits
"""


class _Group(click.Group):
    """Turns what escapes a command into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings_once():
                return super().invoke(ctx)
        except SpecError as e:
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


cli.add_command(check)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(predict)
cli.add_command(plot)
cli.add_command(export)
cli.add_command(build)
cli.add_command(import_)
cli.add_command(schema)
cli.add_command(lsp)


def main() -> NoReturn:
    """Console-script entry point."""
    cli(prog_name="netspec")
    raise SystemExit(0)  # pragma: no cover - click always exits
