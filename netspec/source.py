"""Safe YAML loading that remembers where every value came from (a source map).

PyYAML's composer is recursive and its constructors follow tags, so netspec composes
the document itself from the parser's event stream: iteratively (deep nesting can't
overflow the stack), with a depth limit, a budget for alias expansion (no billion
laughs), duplicate keys as errors, and only YAML's plain scalar tags allowed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import yaml

from .diagnostics import Diagnostic, Path, Related, Span, SpecError, path_str
from .yaml_syntax import syntax_diagnostic

if TYPE_CHECKING:
    from .blocks import Origins

try:  # libyaml's parser is ~10x faster; the pure-Python one gives the same events
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - wheels ship libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000  # nodes that aliases may re-insert, summed over the document
# Values written in the document (scalars, lists and mappings). Checking costs ~30 µs per value (parse,
# validate, shapes): this keeps the worst accepted file (150,000 one-word layers) near 5 s and 300 MB.
MAX_NODES = 150_000

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + t for t in ("str", "int", "float", "bool", "null", "timestamp", "value")}
_SEQ_TAGS = {None, "!", _T + "seq"}
_MAP_TAGS = {None, "!", _T + "map"}
_constructor = yaml.constructor.SafeConstructor()
_EXPONENT_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")
_MERGE = object()  # the plain key `<<`, told apart from a quoted "<<"
# YAML 1.1 integers that mean something else everywhere else: octal `010` (8) and base-60 `1:20` (80)
_SURPRISING_INT = re.compile(r"[-+]?(0[0-7_]+|[1-9][0-9_]*(:[0-5]?[0-9])+)")

# (line, col, end_line, end_col), 0-based as the parser gives them; Spans are built lazily
Mark = tuple[int, int, int, int]


@dataclass
class SourceMap:
    """Positions of the values (and mapping keys) of one document, by path."""

    source: str
    text: str
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    _lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    def span(self, path: Path, *, key: bool = False) -> Span | None:
        """The span of `path`, or of its closest ancestor that has one."""
        p = path
        while True:
            mark = (self.keys.get(p) if key else None) or self.values.get(p)
            if mark is not None:
                return self.make_span(*mark)
            if not p:
                return None
            p = p[:-1]

    def make_span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        text = self.line(line)
        if end_line != line:  # a block node: underline the rest of its first line
            end_col = len(text.rstrip())
        end_col = max(end_col, col + 1)
        return Span(self.source, line + 1, col + 1, line + 1, end_col + 1, text)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a spec is read or checked.

    They make tens of thousands of small objects and no reference cycles, and the collector would scan
    them again and again: a third of the time of a 10,000-block spec. It runs again right after.
    """
    if not gc.isenabled():  # nested, or the caller's choice
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def diagnostic_at(smap: SourceMap, line: int, col: int, code: str, message: str, help: str | None = None) -> Diagnostic:
    span = smap.make_span(line, col, line, col + 1)
    return Diagnostic(code, message, span=span, help=help, source=smap.source)


def decode(data: bytes, source: str) -> str:
    """Bytes to text, refusing binary data and anything that is not UTF-8."""
    smap = SourceMap(source, "")
    if b"\x00" in data:
        at = data.index(b"\x00")
        smap.text = data[: data.find(b"\n", at) if b"\n" in data[at:] else len(data)].decode("utf-8", "replace")
        line = data.count(b"\n", 0, at)
        col = at - (data.rfind(b"\n", 0, at) + 1)
        raise SpecError(
            [
                diagnostic_at(
                    smap,
                    line,
                    col,
                    "encoding",
                    "this looks like a binary file, not a YAML spec (it contains NUL bytes)",
                    help="pass the .yaml spec file",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start)
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        smap.text = "\n" * line + data[start : end if end >= 0 else len(data)].decode("utf-8", "replace")
        col = len(data[start : e.start].decode("utf-8", "replace"))
        raise SpecError(
            [
                diagnostic_at(
                    smap,
                    line,
                    col,
                    "encoding",
                    f"the file is not valid UTF-8: byte 0x{data[e.start]:02x} at line {line + 1} cannot be decoded",
                    help="save the file as UTF-8 (YAML specs are UTF-8 text)",
                )
            ]
        ) from None


@dataclass
class _Frame:
    """A mapping or sequence being composed."""

    value: dict[Any, Any] | list[Any]
    path: Path
    start: Mark
    anchor: str | None
    nodes: int = 1
    key: Any = None
    key_mark: Mark | None = None
    has_key: bool = False
    merges: list[tuple[Any, Mark]] = field(default_factory=list)


def load_yaml(text: str, source: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python values and a SourceMap."""
    smap = SourceMap(source, text)
    if len(text) > MAX_BYTES:
        raise SpecError(
            [
                Diagnostic(
                    "unsupported-yaml",
                    f"the file is {len(text):,} characters long; specs are limited to {MAX_BYTES:,}",
                    source=source,
                )
            ]
        )
    loader = None
    try:
        loader = _Loader(text)  # the pure-Python reader refuses control characters here, libyaml while parsing
        return _compose(loader, smap), smap
    except yaml.MarkedYAMLError as e:
        raise SpecError([_own_limit_before(text, e, smap) or syntax_diagnostic(e, smap)]) from None
    except yaml.YAMLError as e:  # ReaderError: a control character YAML forbids
        position = getattr(e, "position", 0)
        line = text.count("\n", 0, position)
        col = position - (text.rfind("\n", 0, position) + 1)
        char = getattr(e, "character", "")  # libyaml gives the code point, the Python reader the character
        code = ord(char) if isinstance(char, str) and len(char) == 1 else char
        what = f"U+{code:04X}" if isinstance(code, int) else repr(char)
        raise SpecError(
            [
                diagnostic_at(
                    smap,
                    line,
                    col,
                    "yaml-syntax",
                    f"the character {what} is not allowed in a YAML file",
                    help="remove the control character (YAML files are printable text)",
                )
            ]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _own_limit_before(text: str, error: yaml.MarkedYAMLError, smap: SourceMap) -> Diagnostic | None:
    """netspec's own diagnostic for the text before a parser error, if that text already breaks one of its rules.

    libyaml scans up to 1,024 characters ahead of the last event it hands over, and since PyYAML 6.0.4 it stops
    at its own nesting limit (1,000 levels) inside that window, before the composer sees the 65th level. So the
    text up to the end of the error's line is composed again with PyYAML's pure-Python parser (no nesting
    limit in any version): whatever netspec refuses there (depth, aliases, tags, duplicate keys) is the
    answer, with netspec's message and position whatever PyYAML is installed. Only failing files pay for this.
    """
    mark = error.problem_mark or error.context_mark
    if mark is None:  # pragma: no cover - the parser always marks its errors
        return None
    end = 0
    for _ in range(mark.line + 1):  # the end of the error's line (libyaml's `index` counts bytes in some versions)
        end = text.find("\n", end) + 1
        if end == 0:
            end = len(text)
            break
    loader = None
    try:
        loader = yaml.SafeLoader(text[:end])  # its reader checks the whole text at once: a control character
        _compose(loader, SourceMap(smap.source, text))  # that libyaml has not reached yet raises here
    except SpecError as own:
        return own.diagnostics[0]
    except yaml.YAMLError:
        return None  # the same syntax error (or the cut-off end, or such a character): libyaml's report stands
    finally:
        if loader is not None:
            loader.dispose()
    return None  # the pure-Python parser accepts what libyaml refused: libyaml's report stands


def _show_tag(tag: str) -> str:
    """A tag as the user wrote it: `!!python/object` rather than `tag:yaml.org,2002:python/object`."""
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


def _mark(event: Any) -> Mark:
    s, e = event.start_mark, event.end_mark
    return (s.line, s.column, e.line, e.column)


def _fail(smap: SourceMap, event: Any, code: str, message: str, help: str | None = None) -> SpecError:
    line, col, end_line, end_col = _mark(event)
    span = smap.make_span(line, col, end_line, end_col)
    return SpecError([Diagnostic(code, message, span=span, help=help, source=smap.source)])


def _compose(loader: Any, smap: SourceMap) -> Any:
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        return None  # an empty file (or only comments)
    loader.get_event()  # DocumentStart
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    expanded = 0
    scalars: dict[tuple[str, bool], Any] = {}
    root: Any = None

    def finish(value: Any, mark: Mark, nodes: int, anchor: str | None, event: Any) -> None:
        nonlocal root
        if anchor is not None:
            anchors[anchor] = (value, nodes)
        if not stack:
            root = "<<" if value is _MERGE else value
            smap.values[()] = mark
            return
        parent = stack[-1]
        parent.nodes += nodes
        if value is _MERGE and (parent.has_key or isinstance(parent.value, list)):
            value = "<<"  # a plain `<<` merges only in key position
        if isinstance(parent.value, list):
            smap.values[(*parent.path, len(parent.value))] = mark
            parent.value.append(value)
        elif not parent.has_key:
            if isinstance(value, (dict, list)):
                raise _fail(smap, event, "unsupported-yaml", "a mapping key must be a plain value, not a collection")
            if value in parent.value:
                first = smap.keys.get((*parent.path, value))
                where = f" (first set on line {first[0] + 1})" if first else ""
                raise _fail(
                    smap,
                    event,
                    "duplicate-key",
                    f"the key `{value}` appears twice in this mapping{where}",
                    help="remove one of them: YAML would silently keep only the last",
                )
            parent.key, parent.key_mark, parent.has_key = value, mark, True
        else:
            if parent.key is _MERGE:
                parent.merges.append((value, mark))
            else:
                path = (*parent.path, parent.key)
                if parent.key_mark is not None:
                    smap.keys[path] = parent.key_mark
                smap.values[path] = mark
                parent.value[parent.key] = value
            parent.has_key = False

    def child_path() -> Path:
        if not stack:
            return ()
        parent = stack[-1]
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        return (*parent.path, parent.key)

    written = 0
    while True:
        event = loader.get_event()
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            written += 1
            if written > MAX_NODES:  # refused as it streams in: a 12 MB list costs no more than the limit
                raise _fail(
                    smap,
                    event,
                    "unsupported-yaml",
                    f"the document holds more than {MAX_NODES:,} values",
                    help="a larger network is written with blocks and `repeat`, which expand to 100,000 layers",
                )
        if isinstance(event, yaml.ScalarEvent):
            finish(_scalar(loader, event, smap, scalars), _mark(event), 1, event.anchor, event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            is_map = isinstance(event, yaml.MappingStartEvent)
            if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                raise _fail(
                    smap,
                    event,
                    "unsupported-yaml",
                    f"the YAML tag `{_show_tag(str(event.tag))}` is not allowed",
                    help="remove the tag: specs hold plain mappings, lists and values",
                )
            if stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key:
                raise _fail(smap, event, "unsupported-yaml", "a mapping key must be a plain value, not a collection")
            if len(stack) >= MAX_DEPTH:
                raise _fail(smap, event, "unsupported-yaml", f"the document nests deeper than {MAX_DEPTH} levels")
            value: dict[Any, Any] | list[Any] = {} if is_map else []
            stack.append(_Frame(value, child_path(), _mark(event), event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            if frame.merges:
                _apply_merges(frame, smap, event)
            end = _mark(event)
            finish(frame.value, (frame.start[0], frame.start[1], end[2], end[3]), frame.nodes, frame.anchor, event)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise _fail(
                    smap,
                    event,
                    "yaml-syntax",
                    f"the alias `*{event.anchor}` has no anchor before it",
                    help=f"mark the value to repeat with `&{event.anchor}` above, or quote text that starts with `*`",
                )
            value, nodes = anchors[event.anchor]
            expanded += nodes
            if expanded > MAX_ALIAS_NODES:
                raise _fail(
                    smap,
                    event,
                    "unsupported-yaml",
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?)",
                    help="write the repeated parts out, or use fewer nested aliases",
                )
            finish(value, _mark(event), nodes, None, event)
        elif isinstance(event, yaml.DocumentEndEvent):
            break
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        raise _fail(
            smap,
            event,
            "unsupported-yaml",
            "the file holds more than one YAML document",
            help="keep one spec per file (remove the `---` separator)",
        )
    return root


def _apply_merges(frame: _Frame, smap: SourceMap, event: Any) -> None:
    """YAML merge keys: `<<: *base` copies keys the mapping does not set itself."""
    target = frame.value
    assert isinstance(target, dict)
    for value, mark in frame.merges:
        sources = value if isinstance(value, list) else [value]
        for src in sources:
            if not isinstance(src, dict):
                raise _fail(smap, event, "unsupported-yaml", "`<<` must merge a mapping or a list of mappings")
            for k, v in src.items():
                if k not in target:
                    target[k] = v
                    smap.keys[(*frame.path, k)] = mark
                    smap.values[(*frame.path, k)] = mark


def _scalar(loader: Any, event: Any, smap: SourceMap, cache: dict[tuple[str, bool], Any]) -> Any:
    """A scalar's Python value; plain untagged scalars are memoised (specs repeat `Conv2d`, `3`, ...)."""
    key = (event.value, event.implicit[0])
    if event.tag is None and key in cache:
        return cache[key]
    value = _construct(loader, event, smap)
    if event.tag is None:
        cache[key] = value
    return value


def _construct(loader: Any, event: Any, smap: SourceMap) -> Any:
    tag = event.tag
    if tag is None:
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _T + "str" and event.implicit[0] and _EXPONENT_FLOAT.fullmatch(event.value):
            tag = _T + "float"  # `lr: 3e-4` is a number in YAML 1.2; PyYAML's YAML 1.1 rules read a string
    elif tag == "!":
        tag = _T + "str"
    if tag == _T + "merge":
        return _MERGE
    if tag == _T + "int" and event.tag is None and _SURPRISING_INT.fullmatch(event.value):
        read = _constructor.construct_yaml_int(yaml.ScalarNode(tag, event.value))
        octal = ":" not in event.value
        decimal = int(event.value.replace("_", ""), 10) if octal else None
        why = "a leading 0 means octal" if octal else "colons mean base 60"
        if read != decimal:  # `07` is 7 either way
            raise _fail(
                smap,
                event,
                "invalid-value",
                f"YAML reads `{event.value}` as {read} ({why})",
                help=f"write `{read}` if that is what you mean"
                + (f", or `{decimal}`" if octal else ", or quote it for text"),
            )
    if tag not in _SCALAR_TAGS:
        raise _fail(
            smap,
            event,
            "unsupported-yaml",
            f"the YAML tag `{_show_tag(tag)}` is not allowed",
            help="remove the tag: specs hold plain mappings, lists and values",
        )
    value: str = event.value
    kind = tag[len(_T) :]
    node = yaml.ScalarNode(tag, value)
    try:
        if kind == "null":
            return None
        if kind == "bool":
            return _constructor.construct_yaml_bool(node)
        if kind == "int":
            return _constructor.construct_yaml_int(node)
        if kind == "float":
            return _constructor.construct_yaml_float(node)
    except ValueError:
        digits = sum(ch.isdigit() for ch in value)
        # Python refuses to parse integers past 4,300 digits; no size torch accepts comes close
        raise _fail(
            smap,
            event,
            "invalid-value",
            f"this {'integer' if kind == 'int' else kind} has {digits:,} digits, too many to read",
            help="use a smaller number: sizes are at most 2^63 - 1 (torch's int64 limit)",
        ) from None
    return value  # str, and timestamps kept as the text the user wrote


def display_width(text: str) -> int:
    """Terminal columns: CJK characters (common in our users' comments) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def at(
    smap: SourceMap | None, path: Path, d: Diagnostic, *, key: bool = False, origins: Origins | None = None
) -> Diagnostic:
    """`d` positioned at `path`: where it is written (in a block's template, for a layer a block made), its
    span in the file (or its closest ancestor's), and each instance it came through as a related place.

    The one place diagnostics get their positions; `path` becomes the written path.
    """
    written = origins.written(path) if origins else path
    span = smap.span(written, key=key) if smap is not None else None
    fixes = tuple(replace(f, path=origins.written(f.path)) for f in d.fixes) if origins else d.fixes
    related = d.related
    for block, call in origins.calls(path) if origins else ():
        site = smap.span(call) if smap is not None else None
        if site is not None:
            related = (*related, Related(site, f"in this `{block}`"))
        else:
            d = d.with_note(f"in the `{block}` at {path_str(call)}")
    return replace(d, path=written, span=span, source=smap.source if smap else d.source, related=related, fixes=fixes)


def read_spec(path: str | os.PathLike[str]) -> str:
    """A spec file's text; SpecError (code `io-error`) when it can't be read, or is not a spec-sized text file."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_BYTES + 1)  # bounded: /dev/zero or a huge file must not fill the memory
    except FileNotFoundError:
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"no such file: {p}",
                    source=str(p),
                    help="check the path (netspec check takes .yaml spec files)",
                )
            ]
        ) from None
    except IsADirectoryError:
        has_specs = any(n.endswith((".yaml", ".yml")) for n in os.listdir(p))  # as Path.glob: dotfiles too
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"{p} is a directory, not a spec file",
                    source=str(p),
                    help=f"pass the spec files in it, e.g. {p}/*.yaml"
                    if has_specs
                    else "it holds no .yaml or .yml files: pass a spec file",
                )
            ]
        ) from None
    except OSError as e:
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"cannot read {p}: {e.strerror or e}",
                    source=str(p),
                    help="check the file's permissions (netspec only needs to read it)"
                    if isinstance(e, PermissionError)
                    else None,
                )
            ]
        ) from None
    if len(data) > MAX_BYTES:
        raise SpecError(
            [
                Diagnostic(
                    "unsupported-yaml",
                    f"the file is larger than {MAX_BYTES:,} bytes, the limit for a spec",
                    source=str(p),
                    help="pass the .yaml spec file (specs are short text files)",
                )
            ]
        )
    return decode(data, str(p))


def default_name(path: str | os.PathLike[str]) -> str:
    """A spec's name when it has none: its file name's stem (as pathlib's `stem`), as a run directory can be named."""
    name = os.path.basename(os.fspath(path))
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")
    return stem or "model"


def named(data: Any, path: str | os.PathLike[str]) -> Any:
    """A spec's data with the name it takes from its file, if it names itself nothing (`name` comes first)."""
    return {"name": default_name(path), **data} if isinstance(data, dict) and "name" not in data else data


def spec_files(paths: list[str]) -> list[str]:
    """The files `netspec check PATHS` reads: a folder's *.yaml and *.yml files, sorted; an empty folder stays,
    for `read_spec` to say what it holds."""
    files: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith((".yaml", ".yml")))
            files.extend(found or [p])
        else:
            files.append(p)
    return files
