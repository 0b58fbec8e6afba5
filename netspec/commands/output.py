"""What commands share: diagnostics to stderr, the exit code an error maps to, and the `--input` option's parser."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from .. import render
from ..diagnostics import Diagnostic, SpecError
from ..fields import INT64_MAX
from ..inputs import MAX_RANK


def echo_diagnostics(diagnostics: Iterable[Diagnostic], fmt: str = "full") -> None:
    for d in diagnostics:
        click.echo(render.printed(d, fmt), err=True)


@contextlib.contextmanager
def warnings_once() -> Iterator[None]:
    """Python warnings (torch's) shown once each, as one line: torch raises some from several places in its code
    (Softmax's implicit dim from two lines of Module.__call__), which Python's once-per-place filter shows again."""
    seen: set[tuple[type[Warning], str]] = set()

    def show(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        key = (category, str(message))
        if key not in seen:
            seen.add(key)
            click.echo(f"warning ({category.__name__}): {message}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every one reaches `show`, which keeps the first of each
        warnings.showwarning = show
        yield


def exit_code(error: SpecError) -> int:
    """2 when a file could not be read at all (a usage error), else 1."""
    return error.exit_code


def parse_input(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """`--input 3,32,32` (or 3x32x32, or F for vectors) as a shape tuple; a BadParameter otherwise."""
    if value is None:
        return None
    try:
        dims = tuple(int(v) for v in value.replace("x", ",").replace("×", ",").split(","))
    except ValueError:
        raise click.BadParameter(f"expected 1 to 4 positive sizes such as C,H,W or F, got {value!r}") from None
    if not 1 <= len(dims) <= MAX_RANK or min(dims) < 1:
        raise click.BadParameter(f"expected 1 to 4 positive sizes such as C,H,W or F, got {value!r}")
    if max(dims) > INT64_MAX:
        raise click.BadParameter(f"sizes must be at most 2^63 - 1 (torch's int64 limit), got {value!r}")
    return dims


def refuse_overwriting_input(source: Path, output: Path | None) -> None:
    """A usage error when -o names the input file itself: writing the output would destroy it."""
    if output is not None and output.exists() and source.is_file() and output.samefile(source):
        raise click.UsageError(f"-o {output} is the input file itself: writing would replace it")
