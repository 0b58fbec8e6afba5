"""YAML syntax errors in netspec's own words, the same through libyaml and PyYAML's pure-Python parser.

The two parsers word their errors differently (and each PyYAML release may reword them), so every case runs
through both: `CSafeLoader` (what netspec uses when PyYAML ships libyaml) and `SafeLoader` (what it falls back
to). Code, message, position, notes and help must match the expected values and each other.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
import yaml

import netspec
import netspec.source
from netspec.diagnostics import Diagnostic
from netspec.yaml_syntax import syntax_diagnostic

PARSERS = {"libyaml": "CSafeLoader", "pure-python": "SafeLoader"}
TAB_HELP = "indent with spaces: YAML does not allow tabs"


class Case(NamedTuple):
    id: str
    text: str
    code: str
    message: str
    at: tuple[int, int]  # 1-based line and column of the caret
    help: str | None = None  # checked where given
    notes: tuple[str, ...] | None = None  # checked where given


CASES = [
    Case(
        "list-not-closed-before-next-key",
        "input: [1, 28, 28\nlayers:\n  - ReLU\n",
        "yaml-syntax",
        "expected `,` or `]` in the list, found `:`",
        (2, 7),
        "close the `[` with `]`",
        ("the list starts on line 1: `input: [1, 28, 28`",),
    ),
    Case(
        "list-never-closed",
        "input: [1, 28, 28\n",
        "yaml-syntax",
        "this `[` is never closed",
        (1, 8),
        "close the list with `]`",
        (),
    ),
    Case("list-never-closed-no-newline", "input: [1, 28", "yaml-syntax", "this `[` is never closed", (1, 8)),
    Case(
        "list-swallows-the-next-item",  # YAML reads `28 - b` as one item inside brackets
        "input: [1, 28\n- b\n",
        "yaml-syntax",
        "this `[` is never closed",
        (1, 8),
    ),
    Case(
        "list-ends-at-document-marker",
        "input: [1, 28\n---\n",
        "yaml-syntax",
        "this `[` is never closed",
        (1, 8),
        "close the list with `]`",
        ("`---` on line 2 ends the document first",),
    ),
    Case(
        "file-ends-after-comma",
        "layers: [ReLU,\n",
        "yaml-syntax",
        "the file ends where a value is expected",
        (1, 15),
        "finish the value and close its brackets",
    ),
    Case(
        "mapping-never-closed",
        "input: [1]\nlayers:\n  - {type: ReLU\n  - Linear\n",
        "yaml-syntax",
        "this `{` is never closed",
        (3, 5),
        "close the mapping with `}`",
    ),
    Case(
        "mapping-not-closed-before-next-key",
        "layers:\n  - {type: Linear, out_features: 10\nname: x\n",
        "yaml-syntax",
        "expected `,` or `}` in the mapping, found `:`",
        (3, 5),
        "close the `{` with `}`",
        ("the mapping starts on line 2: `- {type: Linear, out_features: 10`",),
    ),
    Case(
        "mapping-missing-comma",
        "layers: [{type: Linear out_features: 10}]\n",
        "yaml-syntax",
        "expected `,` or `}` in the mapping, found `:`",
        (1, 36),
        "separate the mapping's entries with `,`",
        (),
    ),
    Case(
        "list-closed-with-brace",
        "input: [1, 28, 28}\n",
        "yaml-syntax",
        "expected `,` or `]` in the list, found `}`",
        (1, 18),
        "close the `[` with `]`, not `}`",
    ),
    Case("extra-close", "input: [1, 28, 28]]\n", "yaml-syntax", "this `]` has no `[` to close", (1, 19)),
    Case(
        "double-comma",
        "input: [1,, 28]\n",
        "yaml-syntax",
        "expected a value, found `,`",
        (1, 11),
        "remove the extra `,`",
    ),
    Case(
        "dash-inside-brackets",
        "layers: [- ReLU]\n",
        "yaml-syntax",
        "expected a value, found `-`",
        (1, 10),
        "inside brackets, separate items with `,`: `- ` starts items only in indented lists",
    ),
    Case(
        "double-quote-never-closed",
        'name: "lenet\ninput: [1, 28, 28]\n',
        "yaml-syntax",
        'this `"` starts a string that is never closed',
        (1, 7),
        'close the string with `"`',
    ),
    Case(
        "single-quote-never-closed",
        "name: 'lenet\ninput: [1, 28, 28]\n",
        "yaml-syntax",
        "this `'` starts a string that is never closed",
        (1, 7),
        "close the string with `'`",
    ),
    Case(
        "quote-ends-at-document-marker",
        "name: 'lenet\n---\n",
        "yaml-syntax",
        "this `'` starts a string that is never closed",
        (1, 7),
        notes=("`---` on line 2 ends the document inside the string",),
    ),
    Case(
        "unknown-escape",  # libyaml marks the backslash, the pure-Python parser the `d`
        'name: "C:\\data\\lenet"\n',
        "yaml-syntax",
        "`\\d` is not a valid escape in a double-quoted string",
        (1, 10),
        "write `\\\\` for a backslash, or use single quotes, where `\\` is an ordinary character",
    ),
    Case(
        "short-hex-escape",
        'name: "\\x4g"\n',
        "yaml-syntax",
        "`\\x4g` is not a valid escape: `\\x` takes 2 hexadecimal digits",
        (1, 8),
    ),
    Case(
        "quote-inside-single-quotes",
        "name: 'it's'\n",
        "yaml-syntax",
        "unexpected `s` after a complete value",
        (1, 11),
        "write `''` for a `'` inside the string, or quote the whole value with `\"`",
    ),
    Case(
        "colon-in-a-value",
        "name: lenet: small\n",
        "yaml-syntax",
        "a `: ` cannot appear inside an unquoted value",
        (1, 12),
        "quote the value if the `: ` belongs to it, or put the nested `key: value` on its own indented line",
    ),
    Case(
        "item-after-key-on-one-line",
        "layers: - ReLU\n",
        "yaml-syntax",
        "a `- ` list item cannot start in the middle of a line",
        (1, 9),
    ),
    Case(
        "key-without-colon",
        "input: [1]\nlayers:\n  - type: ReLU\n    inplace\n",
        "yaml-syntax",
        "expected a `:` after `inplace`",
        (4, 5),
        "write `key: value`, or indent the line further if it continues the value above",
    ),
    Case(
        "mapping-line-in-a-list",  # the layer's second argument is not indented under its first
        "layers:\n  - type: Conv2d\n  out_channels: 6\n",
        "yaml-syntax",
        "expected a `- ` item of the list, found `out_channels`",
        (3, 3),
        "indent it further if it belongs to the item above, or start a new item with `- `",
        ("the list starts on line 2: `- type: Conv2d`",),
    ),
    Case(
        "key-indented-too-far",
        "input: [1]\n  layers: [ReLU]\n",
        "yaml-syntax",
        "this line is not lined up with the keys of its mapping",
        (2, 3),
        "indent it like the mapping's other keys, or further if it continues the value above",
        ("the mapping starts on line 1: `input: [1]`",),
    ),
    Case(
        "list-item-out-of-line",
        "input: [1]\nlayers:\n  - ReLU\n - Linear\n",
        "yaml-syntax",
        "a `- ` list item where this mapping expects `key: value` pairs",
        (4, 2),
        notes=("the mapping starts on line 1: `input: [1]`",),
    ),
    Case(
        "text-above-the-spec",  # a comment that lost its `#`
        "LeNet for MNIST\n# 1x28x28 in\nname: lenet\ninput: [1, 28, 28]\n",
        "yaml-syntax",
        "the document's top-level value has already ended before this line",
        (3, 1),
        notes=("the top-level value starts on line 1: `LeNet for MNIST`",),
    ),
    Case(
        "text-after-document-end",
        "name: lenet\n... more\n",
        "yaml-syntax",
        "unexpected `more` after `...`, the end of the document",
        (2, 5),
    ),
    Case(
        "tab-indent",
        "input: [1, 28, 28]\nlayers:\n\t- ReLU\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
        (3, 1),
        TAB_HELP,
    ),
    Case(
        "tab-in-mapping",
        "input: [1, 28, 28]\nlayers:\n  - type: ReLU\n\tinplace: true\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
        (4, 1),
        TAB_HELP,
    ),
    Case(
        "tab-after-spaces",
        "layers:\n  - ReLU\n \t- Linear\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
        (3, 2),
        TAB_HELP,
    ),
    Case(
        "tab-before-comment",
        "input: [1]\n\t# layers\nlayers: [ReLU]\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
        (2, 1),
        TAB_HELP,
    ),
    Case(
        "alias-without-anchor",
        "input: *shape\nlayers: [ReLU]\n",
        "yaml-syntax",
        "the alias `*shape` has no anchor before it",
        (1, 8),
        "mark the value to repeat with `&shape` above, or quote text that starts with `*`",
    ),
    Case("alias-without-name", "input: *\n", "yaml-syntax", "`*` must be followed by the name of an anchor", (1, 8)),
    Case("anchor-without-name", "input: &\n", "yaml-syntax", "`&` must be followed by a name for the anchor", (1, 8)),
    Case(
        "reserved-at-sign", "name: @lenet\n", "yaml-syntax", "a value cannot start with `@`", (1, 7), "quote the value"
    ),
    Case("reserved-backtick", "name: `lenet`\n", "yaml-syntax", "a value cannot start with '`'", (1, 7)),
    Case(
        "text-after-block-indicator",
        "name: |lenet\n",
        "yaml-syntax",
        "unexpected `lenet` after `|`: the text of a `|` block starts on the next line",
        (1, 8),
    ),
    Case(
        "undeclared-tag-handle", "input: !my!shape [1]\n", "yaml-syntax", "`!my!shape` is not a valid YAML tag", (1, 8)
    ),
    Case("unclosed-verbatim-tag", "input: !<shape [1]\n", "yaml-syntax", "`!<shape` is not a valid YAML tag", (1, 8)),
    Case(
        "yaml-version",
        "%YAML 2.0\n---\nname: lenet\n",
        "yaml-syntax",
        "`%YAML 2.0` asks for a YAML version the parser cannot read",
        (1, 1),
    ),
    Case(
        "control-character",
        "input: [1]\x07\n",
        "yaml-syntax",
        "the character U+0007 is not allowed in a YAML file",
        (1, 11),
    ),
    Case(  # libyaml 0.2.6 (PyYAML 6.0.4) stops at 1,000 levels on its own; netspec's limit comes first
        "nesting-past-netspec-limit",
        "input: " + "[" * 2000 + "\n",
        "unsupported-yaml",
        "the document nests deeper than 64 levels",
        (1, 71),
    ),
]


@pytest.fixture(params=list(PARSERS))
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with netspec reading YAML through this parser."""
    loader = getattr(yaml, PARSERS[request.param], None)
    if loader is None:
        pytest.skip("this PyYAML was built without libyaml")
    monkeypatch.setattr(netspec.source, "_Loader", loader)
    return str(request.param)


def first_diagnostic(text: str) -> Diagnostic:
    with pytest.raises(netspec.SpecError) as e:
        netspec.parse_spec(text, "spec.yaml")
    return e.value.diagnostics[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_netspec_words_the_error(case: Case, parser: str) -> None:
    d = first_diagnostic(case.text)
    assert (d.code, d.message) == (case.code, case.message)
    assert d.span is not None and (d.span.line, d.span.col) == case.at
    assert d.span.source == "spec.yaml"
    if case.help is not None:
        assert d.help == case.help
    if case.notes is not None:
        assert d.notes == case.notes
    assert "did not find" not in d.message and "but found" not in d.message  # the parsers' phrasings


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_parsers_give_the_same_diagnostic(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML was built without libyaml")
    seen = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        monkeypatch.setattr(netspec.source, "_Loader", loader)
        seen.append(first_diagnostic(case.text))
    assert seen[0] == seen[1]


def test_an_error_netspec_does_not_know_is_quoted_as_the_parsers_words() -> None:
    """A future parser's new error is shown as its own words, marked as such, at its mark."""
    smap = netspec.source.SourceMap("spec.yaml", "input: [1]\nlayers: [ReLU]\n")
    mark = yaml.Mark("spec.yaml", 0, 1, 3, None, None)
    error = yaml.MarkedYAMLError("while doing something new", None, "found a problem no parser had", mark)
    d = syntax_diagnostic(error, smap)
    assert d.code == "yaml-syntax"
    assert d.message == 'invalid YAML (the parser says "found a problem no parser had, while doing something new")'
    assert d.span is not None and (d.span.line, d.span.col, d.span.text) == (2, 4, "layers: [ReLU]")
    assert d.help is not None
