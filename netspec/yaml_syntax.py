"""netspec's own words for YAML syntax errors, the same whichever PyYAML and libyaml are installed.

libyaml and PyYAML's pure-Python parser word the same error differently ("did not find expected ',' or ']'"
against "expected ',' or ']', but got ':'"), and their texts change between releases. What they agree on is the
construct they were reading ("while parsing a flow sequence"), where it started, and the text at the mark, so the
message is worded from those; an error netspec does not recognise is quoted as the parser's own words.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import yaml

from .diagnostics import Diagnostic

if TYPE_CHECKING:  # source.py imports this module
    from .source import SourceMap

# "while parsing a flow sequence" -> "flow sequence"; "while scanning a double-quoted scalar" -> "quoted scalar"
_CONSTRUCT = re.compile(r"while (?:scanning|parsing) (?:an? )?(?:double-|single-)?(.+)")
_FLOW = {"flow sequence": ("[", "]", "list", "items"), "flow mapping": ("{", "}", "mapping", "entries")}
_OPENERS = {"]": "[", "}": "{"}
_MARKERS = ("---", "...")  # a document's start and end: inside a construct, they end it as the file's end does
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
# YAML's indicators that start a key or an item, found where they cannot: (message, help)
_INDICATORS = {
    ":": (
        "a `: ` cannot appear inside an unquoted value",
        "quote the value if the `: ` belongs to it, or put the nested `key: value` on its own indented line",
    ),
    "-": (
        "a `- ` list item cannot start in the middle of a line",
        "start each item on its own line, indented under its key, or write the list in brackets: `[a, b]`",
    ),
    "?": ("a `? ` key cannot start in the middle of a line", "quote the value if the `?` belongs to it"),
}
_WORD = re.compile(r"\w[\w.+-]*")
_SYNTAX_HELP = "check the YAML here: indent with spaces, close every quote and bracket, write `key: value`"


@dataclass(frozen=True)
class _Stop:
    """Where a parser gave up, and on what."""

    construct: str  # "flow sequence", "quoted scalar", "simple key", ... or "" where the parser names none
    line: int  # 0-based, as the parser marks
    col: int
    start: tuple[int, int] | None  # where the construct began
    token: str  # the text there: a word, a character, `---` or `...`, "\n" at a line's end, "" at the file's end
    parser: bool  # a ParserError (the tokens are fine, their order is not) rather than a ScannerError


@dataclass(frozen=True)
class _Worded:
    line: int
    col: int
    message: str
    help: str
    notes: tuple[str, ...] = ()
    width: int = 0  # characters to underline; 0: the token at the parser's mark when the caret is there, else 1


def syntax_diagnostic(e: yaml.MarkedYAMLError, smap: SourceMap) -> Diagnostic:
    """netspec's own words for a YAML syntax error, the same whichever parser found it."""
    mark = e.problem_mark or e.context_mark
    if mark is None:  # pragma: no cover - the parser always marks its errors
        return Diagnostic("yaml-syntax", _parser_words(e), source=smap.source, help=_SYNTAX_HELP)
    named = _CONSTRUCT.fullmatch(e.context or "")
    start = e.context_mark if named else None
    stop = _Stop(
        named.group(1) if named else "",
        mark.line,
        mark.column,
        (start.line, start.column) if start is not None else None,
        _token(smap, mark.line, mark.column),
        isinstance(e, yaml.parser.ParserError),
    )
    w = _word(stop, smap) or _Worded(mark.line, mark.column, _parser_words(e), _SYNTAX_HELP)
    width = w.width or (len(stop.token) if (w.line, w.col) == (stop.line, stop.col) and stop.token != "\n" else 1)
    span = smap.make_span(w.line, w.col, w.line, w.col + max(width, 1))
    return Diagnostic("yaml-syntax", w.message, span=span, notes=w.notes, help=w.help, source=smap.source)


def _parser_words(e: yaml.MarkedYAMLError) -> str:
    """An error netspec does not recognise, quoted from the parser (its words vary between PyYAML versions)."""
    said = ", ".join(s.strip() for s in (e.problem, e.context) if s)
    return f'invalid YAML (the parser says "{said or "invalid YAML"}")'


def _word(s: _Stop, smap: SourceMap) -> _Worded | None:
    """The message for a parser's stop, by what it was reading; None when netspec does not recognise it."""
    at, start = s.token, s.start
    if at == "\t":  # neither parser names the tab in a way that reads well ("cannot start any token")
        return _Worded(
            s.line,
            s.col,
            "a tab character where YAML expects indentation or a value",
            "indent with spaces: YAML does not allow tabs",
        )
    if s.construct in _FLOW and start is not None:
        return _flow_collection(s, start, smap)
    if s.construct == "quoted scalar" and start is not None:
        return _quoted(s, start, smap)
    if s.construct == "simple key" and start is not None:
        key = re.split(r"\s#", smap.line(start[0])[start[1] :])[0].rstrip()
        return _Worded(
            *start,
            f"expected a `:` after `{_short(key)}`",
            "write `key: value`, or indent the line further if it continues the value above",
            width=len(key),
        )
    if at in _OPENERS and s.construct not in ("alias", "anchor", "tag", "block scalar"):
        return _Worded(
            s.line,
            s.col,
            f"this `{at}` has no `{_OPENERS[at]}` to close",
            f"remove it, or quote the value if the `{at}` is part of it",
        )
    if s.construct in ("block mapping", "block collection") and start is not None:
        return _block(s, start, smap)
    if s.construct in ("flow node", "block node", "node"):
        return _expected_value(s, smap)
    if s.construct in ("alias", "anchor") and start is not None:
        sigil = smap.line(start[0])[start[1] : start[1] + 1]
        if s.construct == "alias":
            message, help = (
                "`*` must be followed by the name of an anchor",
                "write `*name` to repeat the value marked `&name`",
            )
        else:
            message, help = (
                "`&` must be followed by a name for the anchor",
                "write `&name` before a value to repeat it as `*name`",
            )
        return _Worded(*start, message, f"{help}, or quote a value that starts with `{sigil}`")
    if s.construct == "tag" and start is not None:
        return _bad_tag(*start, smap)
    if s.construct == "directive" and start is not None:
        return _Worded(
            *start,
            "this line is not a YAML directive (`%YAML 1.1`, `%TAG ! prefix`)",
            "remove the line: specs need no directives (quote a value that starts with `%`)",
        )
    if s.construct == "block scalar" and start is not None:
        indicator = smap.line(start[0])[start[1] : start[1] + 1]
        return _Worded(
            s.line,
            s.col,
            f"unexpected {_show(at)} after `{indicator}`: the text of a `{indicator}` block starts on the next line",
            "move the text to the next line, indented, or quote the value",
        )
    if s.construct in ("", "for the next token"):
        return _out_of_place(s, smap)
    if s.construct == "plain scalar" and at == ":":  # libyaml: `kernel_size:1,` inside brackets
        return _Worded(
            s.line,
            s.col,
            "a `:` inside brackets needs a space after it",
            "write `key: value` with a space after the `:`, or quote the value if the `:` belongs to it",
        )
    return None


def _out_of_place(s: _Stop, smap: SourceMap) -> _Worded | None:
    """An indicator where it cannot start anything, or more text after the document's top-level value."""
    if s.token in _INDICATORS:
        return _Worded(s.line, s.col, *_INDICATORS[s.token])
    text = smap.line(s.line)
    if s.token == "%" and text.startswith("%YAML"):
        return _Worded(
            s.line,
            s.col,
            f"`{_short(text.strip())}` asks for a YAML version the parser cannot read",
            "remove the `%YAML` line: specs are YAML 1.1 or 1.2",
        )
    if s.construct == "for the next token":
        return _Worded(s.line, s.col, f"a value cannot start with {_show(s.token)}", "quote the value")
    if not s.parser or not s.token:
        return None
    if text[: s.col].strip() == "...":
        return _Worded(s.line, s.col, f"unexpected {_show(s.token)} after `...`, the end of the document", "remove it")
    # The parser has read a whole top-level value and finds more: often a line of text, such as a comment
    # that lost its `#`, above the spec's `key: value` lines makes the top-level value a plain string.
    first = next((n for n in range(len(smap.lines)) if _is_content(smap.lines[n])), s.line)
    notes: tuple[str, ...] = ()
    if first < s.line:
        notes = (f"the top-level value starts on line {first + 1}: `{_short(smap.line(first).strip())}`",)
    return _Worded(
        s.line,
        s.col,
        "the document's top-level value has already ended before this line",
        "make the whole file one mapping of `key: value` lines (comments start with `#`)",
        notes,
    )


def _is_content(line: str) -> bool:
    """Not blank, a comment, a directive or a document marker."""
    text = line.strip()
    return bool(text) and text[0] not in "#%" and text not in _MARKERS


def _flow_collection(s: _Stop, start: tuple[int, int], smap: SourceMap) -> _Worded:
    """`[` and `{`: left open to the end of the file, or something other than `,` after an item."""
    opener, closer, noun, parts = _FLOW[s.construct]
    if s.token in ("", *_MARKERS):
        notes = (f"`{s.token}` on line {s.line + 1} ends the document first",) if s.token else ()
        return _Worded(*start, f"this `{opener}` is never closed", f"close the {noun} with `{closer}`", notes)
    message = f"expected `,` or `{closer}` in the {noun}, found {_show(s.token)}"
    if s.token in _OPENERS:  # `[1, 2}`
        return _Worded(s.line, s.col, message, f"close the `{opener}` with `{closer}`, not `{s.token}`")
    if start[0] != s.line:  # YAML reads on across lines inside brackets: the close was forgotten above
        note = f"the {noun} starts on line {start[0] + 1}: `{_short(smap.line(start[0]).strip())}`"
        return _Worded(s.line, s.col, message, f"close the `{opener}` with `{closer}`", (note,))
    return _Worded(s.line, s.col, message, f"separate the {noun}'s {parts} with `,`")


def _quoted(s: _Stop, start: tuple[int, int], smap: SourceMap) -> _Worded | None:
    """A quoted string left open, or a double-quoted one with an escape YAML doesn't know."""
    quote = smap.line(start[0])[start[1] : start[1] + 1]
    unclosed = _Worded(
        *start, f"this `{quote}` starts a string that is never closed", f"close the string with `{quote}`"
    )
    if s.token in ("", *_MARKERS):
        notes = (f"`{s.token}` on line {s.line + 1} ends the document inside the string",) if s.token else ()
        return replace(unclosed, notes=notes)
    # libyaml marks an escape's backslash, the pure-Python parser the character after it: both find the backslash
    text = smap.line(s.line)
    slash = text.rfind("\\", 0, s.col + 1)
    if quote != '"' or slash < 0:
        return None
    letter = text[slash + 1 : slash + 2]
    if not letter:  # a backslash as the file's last character
        return unclosed
    if letter in _HEX_DIGITS:
        n = _HEX_DIGITS[letter]
        escape = text[slash : slash + 2 + n].split(quote)[0]
        return _Worded(
            s.line,
            slash,
            f"`{escape}` is not a valid escape: `\\{letter}` takes {n} hexadecimal digits",
            f"write {n} hexadecimal digits after `\\{letter}`, or `\\\\` for a backslash",
            width=len(escape),
        )
    return _Worded(
        s.line,
        slash,
        f"`\\{letter}` is not a valid escape in a double-quoted string",
        "write `\\\\` for a backslash, or use single quotes, where `\\` is an ordinary character",
        width=2,
    )


def _block(s: _Stop, start: tuple[int, int], smap: SourceMap) -> _Worded:
    """An indented mapping or list that the line at the mark does not continue."""
    before = smap.line(s.line)[: s.col].rstrip()
    if before.strip():  # more on a line whose value is complete: `a: "x" y`, `a: 'it's'`
        last = before[-1]
        if last in "'\"":
            double = {"'": "''", '"': '\\"'}[last]
            other = {"'": '"', '"': "'"}[last]
            help = f"write `{double}` for a `{last}` inside the string, or quote the whole value with `{other}`"
        else:
            help = "quote the whole value, or put the next `key: value` on its own line"
        return _Worded(s.line, s.col, f"unexpected {_show(s.token)} after a complete value", help)
    noun = "mapping" if s.construct == "block mapping" else "list"
    notes = (f"the {noun} starts on line {start[0] + 1}: `{_short(smap.line(start[0]).strip())}`",)
    if noun == "mapping" and s.token == "-":
        return _Worded(
            s.line,
            s.col,
            "a `- ` list item where this mapping expects `key: value` pairs",
            "indent the item under the key whose list it is, lined up with that list's other items",
            notes,
        )
    if noun == "mapping":
        return _Worded(
            s.line,
            s.col,
            "this line is not lined up with the keys of its mapping",
            "indent it like the mapping's other keys, or further if it continues the value above",
            notes,
        )
    return _Worded(
        s.line,
        s.col,
        f"expected a `- ` item of the list, found {_show(s.token)}",
        "indent it further if it belongs to the item above, or start a new item with `- `",
        notes,
    )


def _expected_value(s: _Stop, smap: SourceMap) -> _Worded:
    """A place where a value must come (after `,`, `- `, `key:`) holding something that cannot start one."""
    if s.token.startswith("!"):  # a tag whose `!handle!` the document never declares
        return _bad_tag(s.line, s.col, smap)
    if not s.token:  # libyaml and the pure-Python parser mark the file's end differently: use its last text
        line, col = _last_text(smap)
        return _Worded(line, col, "the file ends where a value is expected", "finish the value and close its brackets")
    help = {
        ",": "remove the extra `,`",
        "-": "inside brackets, separate items with `,`: `- ` starts items only in indented lists",
        ":": "write the key before the `:`",
        "---": "finish the value and close its brackets before the document ends",
        "...": "finish the value and close its brackets before the document ends",
    }.get(s.token, f"quote the value if it starts with {_show(s.token)}")
    return _Worded(s.line, s.col, f"expected a value, found {_show(s.token)}", help)


def _bad_tag(line: int, col: int, smap: SourceMap) -> _Worded:
    tag = smap.line(line)[col:].split()[0]
    return _Worded(
        line,
        col,
        f"`{_short(tag)}` is not a valid YAML tag",
        "remove the tag: specs hold plain mappings, lists and values",
        width=len(tag),
    )


def _token(smap: SourceMap, line: int, col: int) -> str:
    """The text at a parser's mark (see _Stop.token)."""
    lines = smap.lines
    text = lines[line] if line < len(lines) else ""
    if text[col : col + 1] == "\t":
        return "\t"
    if line >= len(lines) or all(not t.strip() or t.lstrip().startswith("#") for t in _rest(lines, line, col)):
        return ""  # only blank lines and comments follow: the parser ran into the end of the file
    if col == 0 and text[:3] in _MARKERS and text[3:4] in ("", " ", "\t"):
        return text[:3]
    if col >= len(text):
        return "\n"
    word = _WORD.match(text, col)
    return word.group() if word else text[col]


def _rest(lines: list[str], line: int, col: int) -> Iterator[str]:
    yield lines[line][col:]
    yield from itertools.islice(lines, line + 1, None)


def _last_text(smap: SourceMap) -> tuple[int, int]:
    """Just after the file's last character that is not blank or a comment: where the file ends, as one place."""
    lines = smap.lines
    for n in range(len(lines) - 1, -1, -1):
        if lines[n].strip() and not lines[n].lstrip().startswith("#"):
            return n, len(lines[n].rstrip())
    return 0, 0


def _show(token: str) -> str:
    if token == "\n":
        return "the end of the line"
    return f"'{token}'" if "`" in token else f"`{_short(token)}`"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
