"""The fast path of `netspec check`: a valid spec checked without importing pydantic or click.

Importing pydantic and defining netspec's ~100 records costs far more than checking a spec (issue 12).
So a spec is first validated here, from `fastpath_table.py`: the same validator functions the records
use, arranged by `fastpath_gen.py` from the records themselves. The result is plain records that the
checker reads as it reads pydantic's (by attribute, and the kind by `type`).

The fast path answers for specs whose schema is valid: their tables, and the shape errors and
warnings of the checker, which are the same whichever records it reads. Anything else (a wrong
value, a field the table leaves to pydantic, an option it does not parse, a pipe) makes it decline,
and the command runs as it always did: the pydantic records word every schema error, click parses
every option. It declines before it has written anything, so what the command prints is the full
command's: tests/test_fastpath.py holds its records equal to pydantic's and its
output byte for byte equal to the full command's. (One difference: a write that fails for want of
space says so, where the full command calls it an internal error.)
"""

from __future__ import annotations

import operator
import os
import re
import stat
import sys
from collections.abc import Iterable
from typing import Any

from .blocks import Origins, expand
from .diagnostics import Diagnostic, SpecError
from .kinds import LAYER_KINDS, bare_layer, first_duplicate
from .render import unstyle
from .source import SourceMap, at, gc_paused, load_yaml, named, read_spec, spec_files

_KINDS = frozenset(LAYER_KINDS)
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_records: dict[str, Any] | None = None  # the table's, once read; empty when it is not current


def source_digest(sources: tuple[str, ...]) -> int:
    """A checksum of the files the table is written from (netspec's own, relative to the package)."""
    import zlib

    digest = 0
    for name in sources:
        with open(os.path.join(_PACKAGE, name), "rb") as f:
            digest = zlib.crc32(f.read(), digest)
    return digest


def records() -> dict[str, Any]:
    """fastpath_table.py's records, if it was written from the records as they are now; else none at all.

    A record edited without `make fastpath` is then answered by the full command, never from the old table.
    """
    global _records
    if _records is None:
        try:
            from . import fastpath_table as table

            current = source_digest(table.SOURCES) == table.DIGEST
        except Exception:  # no table, one that no longer imports, or no sources beside the package
            current = False
        _records = table.RECORDS if current else {}
    return _records


class Decline(Exception):
    """The fast path cannot decide this spec: the pydantic path validates it (and words what is wrong)."""


class Record:
    """A record the fast path validated: its fields as attributes, its kind's class attributes on the class."""

    field_names: tuple[str, ...] = ()

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class FastSpec(Record):
    """The spec record, with what `report.check` asks of a spec besides its fields (as `spec.Spec` has)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.source: SourceMap | None = None
        self.origins = Origins()

    def at(self, path: tuple[Any, ...], d: Diagnostic, *, key: bool = False) -> Diagnostic:
        return at(self.source, path, d, key=key, origins=self.origins)


_CLASSES: dict[str, type[Record]] = {}
_NAMES: dict[str, frozenset[str]] = {}


def _class(name: str) -> type[Record]:
    cls = _CLASSES.get(name)
    if cls is None:
        fields, attributes, _ = records()[name]
        base = FastSpec if name == "Spec" else Record
        cls = type(name, (base,), {**attributes, "field_names": tuple(f[0] for f in fields)})
        _CLASSES[name] = cls
    return cls


def record(name: str, data: Any) -> Record:
    """`data` (a mapping, as from YAML) validated as the record `name`; Decline where pydantic must judge."""
    entry = records().get(name)
    if entry is None or type(data) is not dict:
        raise Decline(name)
    fields, _, checks = entry
    names = _NAMES.get(name)
    if names is None:
        names = _NAMES[name] = frozenset(f[0] for f in fields)
    if not names.issuperset(data):  # every record forbids unknown keys
        raise Decline(name)
    values: dict[str, Any] = {}
    for field, check, default in fields:
        if field in data:
            values[field] = validate(check, data[field])
        elif default[0] == "value":
            value = default[1]
            values[field] = list(value) if type(value) is list else value  # a fresh list, as pydantic copies it
        elif default[0] == "data":  # a record as the default: made as the field would make it
            values[field] = validate(check, default[1])
        else:
            raise Decline(f"{name}.{field}")  # required, and missing
    made = _class(name)(values)
    for check_ in checks:  # across fields, once each is valid (a dataset's test split named twice)
        try:
            check_(made)
        except Exception:
            raise Decline(check_) from None
    return made


def validate(check: tuple[Any, ...], value: Any) -> Any:
    """One field's value through its check from the table (see fastpath_gen.py for what each form means)."""
    kind = check[0]
    if kind == "fn":
        try:
            value = check[1](value)
        except Exception:  # the validator refuses it (pydantic's error, imported for it): pydantic words it
            raise Decline(check[1]) from None
        if len(check) > 2 and not all(_within(value, bound, limit) for bound, limit in check[2]):
            raise Decline(check)
        return value
    if kind == "opt":
        return None if value is None else validate(check[1], value)
    if kind == "lit":
        if type(value) is str and value in check[1]:
            return value
        raise Decline(check)
    if kind == "record":
        return record(check[1], value)
    if kind == "union":
        tag = value.get(check[1]) if type(value) is dict else None
        if type(tag) is str and tag in check[2]:
            return record(check[2][tag], value)
        raise Decline(check)
    if kind == "layer":
        value = bare_layer(value)
        kind_ = value.get("type") if type(value) is dict else None
        if type(kind_) is str and kind_ in _KINDS:
            return record(kind_, value)
        raise Decline(check)
    if kind == "list":
        if type(value) is list and len(value) >= check[2]:
            return [validate(check[1], item) for item in value]
        raise Decline(check)
    if kind == "before":
        try:
            value = check[1](value)
        except Exception:
            raise Decline(check[1]) from None
        return validate(check[2], value)
    if kind == "unique":
        layers = validate(check[1], value)
        if first_duplicate(layers) is not None:
            raise Decline("duplicate names")
        return layers
    if kind == "str":
        if type(value) is str:
            return value
        raise Decline(check)
    if kind == "strdict":
        if type(value) is dict and all(type(k) is str for k in value):
            return dict(value)
        raise Decline(check)
    raise Decline(check)  # ("no",): a type only pydantic checks


_BOUNDS = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


def _within(value: Any, bound: str, limit: Any) -> bool:
    """pydantic's bounds after a validator (`Field(ge=0)`): NaN is within none of them."""
    try:
        if bound == "pattern":
            return re.search(limit, value) is not None
        if bound in ("min_length", "max_length"):
            return _BOUNDS["ge" if bound == "min_length" else "le"](len(value), limit) is True
        return _BOUNDS[bound](value, limit) is True
    except TypeError:
        return False


def load(path: str) -> FastSpec | None:
    """The spec at `path`, validated by the fast path; None where it declines (the caller uses `load_spec`)."""
    if not records():
        return None
    try:  # a regular file only: a pipe or a FIFO read here could not be read again by the full command
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        text = read_spec(path)
        data, smap = load_yaml(text, str(path))
    except (OSError, ValueError, SpecError):
        return None
    if type(data) is not dict or not data:
        return None
    data = named(data, path)
    with gc_paused():
        try:
            expanded, origins = expand(data)
            spec = record("Spec", expanded)
        except (Decline, SpecError):
            return None
    assert isinstance(spec, FastSpec)
    spec.source, spec.origins = smap, origins
    return spec


# -- `netspec check FILES [--format F] [--depth N] [--json]` ------------------------------------------


def _options(argv: list[str]) -> tuple[list[str], str, int | None, bool] | None:
    """The command line, if it is one the fast path takes: files and these options, nothing else."""
    files: list[str] = []
    fmt, depth, as_json = "full", None, False
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in ("--format", "--depth") and not eq:
            value = next(args, "")
        if name == "--format" and value in ("full", "concise"):
            fmt = value
        elif name == "--depth" and value.isascii() and value.isdigit() and len(value) < 10:
            depth = int(value)
        elif arg == "--json":
            as_json = True
        elif arg.startswith("-") or not _plain(arg.rstrip("/") or arg):
            return None  # --input, --sizes, --help, a bad value: click parses it, and says what is wrong
        else:
            files.append(arg.rstrip("/") or arg)  # `specs/` is `specs`, as pathlib writes it
    return (files, fmt, depth, as_json) if files else None


def _plain(path: str) -> bool:
    """A path written as pathlib writes it back (no `./`, `//` or trailing `/`): the file name diagnostics show."""
    parts = path.split("/")
    return all(part not in ("", ".") for part in (parts[1:] if path.startswith("/") else parts))


def run_check(argv: list[str]) -> int | None:
    """`netspec check` for specs that validate: the exit code, or None to run the full command instead."""
    if os.environ.get("NETSPEC_NO_FASTPATH", "") not in ("", "0") or sys.stdout is None or sys.stderr is None:
        return None
    options = _options(argv)
    if options is None:
        return None
    try:
        done = _check(*options)
        if done is None:
            return None
        chunks, code = done
        # as click.echo writes to a file or a pipe: no terminal styles (a file name's neither)
        chunks = [(stream, text if stream.isatty() else unstyle(text)) for stream, text in chunks]
        for stream, text in chunks:
            text.encode(stream.encoding or "utf-8")  # `×` on an ASCII terminal: click knows what to do there
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        if os.environ.get("NETSPEC_DEBUG"):
            raise
        return None  # the full command does it, and reports any internal error as such
    try:
        for stream, text in chunks:  # in the full command's order: a file's diagnostics, then its table
            stream.write(text)
            stream.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `netspec check ... | head`, as the full command treats it
        sys.stderr.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a full disk: the output could not be written, and that is all there is to say
        print(f"netspec: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 1
    return code


def _check(files: list[str], fmt: str, depth: int | None, as_json: bool) -> tuple[list[tuple[Any, str]], int] | None:
    """What the command prints, as (stream, text) in order, and its exit code; None if any file needs the full
    command (nothing is printed then). Shape errors and warnings are the checker's, so they are printed here too."""
    from . import render
    from .report import check

    chunks: list[tuple[Any, str]] = []
    results: list[dict[str, Any]] = []
    worst = 0

    def diagnostics(ds: Iterable[Diagnostic]) -> None:
        chunks.extend((sys.stderr, render.printed(d, fmt) + "\n") for d in ds)

    for path in spec_files(files):
        spec = load(path)
        if spec is None:
            return None
        try:
            report = check(spec)  # type: ignore[arg-type]  # a FastSpec reads as a Spec
        except SpecError as e:
            worst = max(worst, e.exit_code)
            if as_json:
                results.append(
                    {"file": str(path), "ok": False, "diagnostics": [render.diagnostic_json(d) for d in e.diagnostics]}
                )
            else:
                diagnostics(e.diagnostics)
            continue
        if as_json:
            warnings = [render.diagnostic_json(d) for d in report.warnings]
            results.append(
                {"file": str(path), "ok": True, "report": render.report_json(report), "diagnostics": warnings}
            )
            continue
        diagnostics(report.warnings)
        if fmt == "concise":
            chunks.append((sys.stdout, render.summary_line(report) + "\n"))
        else:
            chunks.append((sys.stdout, render.table(report, depth, color=sys.stdout.isatty()) + "\n\n"))
    if as_json:
        import json

        chunks.append((sys.stdout, json.dumps({"files": results}, indent=2) + "\n"))
    return chunks, worst
