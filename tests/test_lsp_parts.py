"""The language server's parts without the protocol: fixes as text edits, completion, hints, torch's documentation."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from netspec.diagnostics import Fix, SpecError
from netspec.layers import KINDS, LAYER_TYPES
from netspec.lsp import docs
from netspec.lsp.analysis import MAX_CHARS, analyse, is_spec
from netspec.lsp.complete import complete, spec_blocks
from netspec.lsp.edits import TextEdit, edits_for, flow
from netspec.lsp.places import hint, line_places, places
from netspec.lsp.written import Written
from netspec.source import load_yaml

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"


def written(text: str) -> Written:
    data, smap = load_yaml(text, "t.yaml")
    return Written(text, data, smap)


def apply(text: str, edits: list[TextEdit]) -> str:
    """The test's own edit function: (line, column) positions in the text before any edit."""
    lines = text.split("\n")

    def offset(pos: tuple[int, int]) -> int:
        return sum(len(line) + 1 for line in lines[: pos[0]]) + pos[1]

    for edit in sorted(edits, key=lambda e: offset(e.start), reverse=True):
        text = text[: offset(edit.start)] + edit.text + text[offset(edit.end) :]
    return text


def fixed(text: str, fix: Fix) -> str:
    edits = edits_for(written(text), fix)
    assert edits is not None
    return apply(text, edits)


# -- fixes as edits, in each style a spec is written in ---------------------------------------------------------

BLOCK = """\
layers:
  - type: Linear   # the classifier
    in_features: 256
    out_features: 10
  - ReLU
"""


@pytest.mark.parametrize(
    ("text", "fix", "expected"),
    [
        (
            "layers:\n  - {type: Linear, in_features: 256, out_features: 120}\n",
            Fix("", ("layers", 0, "in_features"), "set", 400),
            "layers:\n  - {type: Linear, in_features: 400, out_features: 120}\n",
        ),
        (
            "layers:\n  - {type: Linear, in_features: 256, out_features: 120}\n",
            Fix("", ("layers", 0, "in_features"), "remove"),
            "layers:\n  - {type: Linear, out_features: 120}\n",
        ),
        (
            "layers:\n  - {type: Linear, out_features: 120, in_features: 256}\n",
            Fix("", ("layers", 0, "in_features"), "remove"),
            "layers:\n  - {type: Linear, out_features: 120}\n",
        ),
        (BLOCK, Fix("", ("layers", 0, "in_features"), "remove"), BLOCK.replace("    in_features: 256\n", "")),
        (BLOCK, Fix("", ("layers", 0, "out_features"), "remove"), BLOCK.replace("    out_features: 10\n", "")),
        (BLOCK, Fix("", ("layers", 0, "bias"), "set", False), BLOCK.replace("10\n", "10\n    bias: false\n")),
        (
            BLOCK,
            Fix("", ("layers", 0, "in_features"), "rename", "in_feature"),
            BLOCK.replace("in_features:", "in_feature:"),
        ),
        (
            BLOCK,
            Fix("", ("layers", 0), "insert", "Flatten"),
            BLOCK.replace("  - type: Linear", "  - Flatten\n  - type: Linear"),
        ),
        (
            BLOCK,
            Fix("", ("layers", 1, "inplace"), "set", True),
            BLOCK.replace("- ReLU", "- {type: ReLU, inplace: true}"),
        ),
        (
            "layers: [Conv2d, {type: Linear, out_features: 3}]\n",
            Fix("", ("layers", 1), "insert", "Flatten"),
            "layers: [Conv2d, Flatten, {type: Linear, out_features: 3}]\n",
        ),
        (
            "layers:\n  - type: Concat\n    branches:\n      - - ReLU\n        - {type: Linear, out_features: 2}\n",
            Fix("", ("layers", 0, "branches", 0, 1), "insert", "Flatten"),
            "layers:\n  - type: Concat\n    branches:\n      - - ReLU\n        - Flatten\n"
            "        - {type: Linear, out_features: 2}\n",
        ),
        (
            "layers:\n  - {type: Residual, body: [ReLU], after: {type: Linear, out_features: 2}}\n",
            Fix("", ("layers", 0, "after"), "insert", "Flatten"),
            "layers:\n  - {type: Residual, body: [ReLU], after: [Flatten, {type: Linear, out_features: 2}]}\n",
        ),
        (
            "layers:\n  - {type: Residual, body: [ReLU], shortcut: []}\n",
            Fix("", ("layers", 0, "shortcut"), "set", [{"type": "Conv2d", "bias": False}, "BatchNorm2d"]),
            "layers:\n  - {type: Residual, body: [ReLU], shortcut: [{type: Conv2d, bias: false}, BatchNorm2d]}\n",
        ),
        ("layers:\n  - {}\n", Fix("", ("layers", 0, "type"), "set", "ReLU"), "layers:\n  - {type: ReLU}\n"),
        (
            "layers:\n  - type: Residual\n    body:\n      - ReLU\n    after: ReLU  # end\nname: x\n",
            Fix("", ("layers", 0, "shortcut"), "set", ["Identity"]),
            "layers:\n  - type: Residual\n    body:\n      - ReLU\n    after: ReLU  # end\n"
            "    shortcut: [Identity]\nname: x\n",
        ),
    ],
)
def test_a_fix_is_written_in_the_style_of_the_document(text: str, fix: Fix, expected: str) -> None:
    assert fixed(text, fix) == expected


def test_a_fix_the_document_no_longer_fits_gives_no_edit() -> None:
    doc = written("layers:\n  - {type: Linear, kernel_size: 3}\n")
    assert edits_for(doc, Fix("", ("layers", 4, "in_features"), "set", 1)) is None  # no such layer
    assert edits_for(doc, Fix("", ("layers", 0, "kernal"), "rename", "x")) is None  # no such key
    assert edits_for(doc, Fix("", ("layers", 0, "type"), "rename", "kernel_size")) is None  # would duplicate a key
    assert edits_for(doc, Fix("", ("layers", 0, "padding"), "remove")) is None
    assert edits_for(doc, Fix("", (), "set", 1)) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Conv2d", "Conv2d"),
        ("true", '"true"'),
        ("a: b", '"a: b"'),
        ("", '""'),
        (None, "null"),
        (-1, "-1"),
        ({"type": "Conv2d", "bias": False, "kernel_size": [3, 5]}, "{type: Conv2d, bias: false, kernel_size: [3, 5]}"),
    ],
)
def test_values_are_written_as_flow_yaml_that_reads_back(value: object, text: str) -> None:
    assert flow(value) == text
    assert load_yaml(f"v: {text}", "t")[0]["v"] == value


def _golden_fixes() -> list[tuple[str, int, int]]:
    cases = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for i, d in enumerate(analyse(text, str(path)).diagnostics):
            cases += [(path.name, i, j) for j in range(len(d.fixes))]
    return cases


GOLDEN_FIXES = _golden_fixes()


def test_the_golden_cases_offer_the_fixes_netspec_knows() -> None:
    names = {
        (name, analyse((GOLDEN / name).read_text(), name).diagnostics[i].fixes[j].op) for name, i, j in GOLDEN_FIXES
    }
    assert {
        ("shape-mismatch.yaml", "set"),
        ("shape-mismatch.yaml", "remove"),
        ("unknown-field.yaml", "rename"),
        ("unknown-field-block-param.yaml", "rename"),
        ("unknown-layer.yaml", "set"),
        ("missing-flatten.yaml", "insert"),
        ("branch-mismatch.yaml", "set"),
        ("implicit-dim.yaml", "set"),
        ("invalid-value.yaml", "set"),
    } <= names


@pytest.mark.parametrize(("name", "index", "which"), GOLDEN_FIXES)
def test_every_fix_of_a_golden_case_resolves_its_diagnostic(name: str, index: int, which: int) -> None:
    """Applied to the file, each fix leaves valid YAML in which that finding (its code at its place) is gone."""
    text = (GOLDEN / name).read_text(encoding="utf-8")
    before = analyse(text, name)
    d = before.diagnostics[index]
    after = analyse(fixed(text, d.fixes[which]), name)
    assert after.written is not None, "the fix keeps the file readable YAML"
    assert not [x for x in after.diagnostics if (x.code, x.path) == (d.code, d.path)]
    assert len(after.diagnostics) < len(before.diagnostics) or after.report is not None


def test_a_fix_in_a_template_edits_the_template() -> None:
    text = textwrap.dedent(
        """\
        input: [1, 8, 8]
        blocks:
          Head:
            layers:
              - {type: Conv2d, out_channels: 4, kernal_size: 3}
        layers:
          - Head
        """
    )
    [d] = analyse(text, "t").diagnostics
    [fix] = d.fixes
    assert fix.path == ("blocks", "Head", "layers", 0, "kernal_size")
    assert "kernel_size: 3" in fixed(text, fix)


# -- which files are specs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("layers:\n  - ReLU\n", True),
        ('"layers": []\n', True),
        ("# netspec\nname: draft\n", True),
        ("# yaml-language-server: $schema=../schema/netspec.schema.json\ninput: [3]\n", True),
        ("# yaml-language-server: $schema=https://json.schemastore.org/github-workflow.json\non: push\n", False),
        ("services:\n  web:\n    layers: 2\n", False),  # not a top-level key
        ("# netspec is used elsewhere\nx: 1\n", False),
        ("", False),
    ],
)
def test_a_spec_is_told_by_its_layers_key_or_modeline(text: str, spec: bool) -> None:
    assert is_spec(text) is spec


def test_a_document_past_the_servers_limit_is_one_diagnostic() -> None:
    text = "layers:\n" + "#" * MAX_CHARS
    [d] = analyse(text, "big.yaml").diagnostics
    assert (
        d.code == "unsupported-yaml" and f"{MAX_CHARS:,}" in d.message and d.help == "run `netspec check` on the file"
    )


# -- completion -----------------------------------------------------------------------------------------------


def _complete(text: str, blocks: dict[str, object] | None = None) -> dict[str, str]:
    row = next(i for i, line in enumerate(text.split("\n")) if "|" in line)
    col = text.split("\n")[row].index("|")
    source = text.replace("|", "")
    found = spec_blocks(load_yaml(source, "t")[0]) if blocks is None else blocks
    return {item.label: item.detail for item in complete(source, (row, col), found)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "layers:\n  - {type: Co|}\n",
        "layers:\n  - type: |\n",
        "layers:\n  - ReLU\n  - |\n",
        "layers: [ReLU, |]\n",
        "layers:\n  - type: Residual\n    body:\n      - |\n",
        "layers:\n  - type: Residual\n    body: [ReLU]\n    after: |\n",
    ],
)
def test_layer_kinds_complete_where_a_layer_goes(text: str) -> None:
    assert set(_complete(text)) == set(KINDS)


@pytest.mark.parametrize(
    "text",
    [
        "input: [3, |]\n",
        "train:\n  optimizer: {type: SGD, |}\n",
        "# layers: |\n",
        "name: |\n",
    ],
)
def test_nothing_completes_elsewhere(text: str) -> None:
    assert _complete(text) == {}


def test_arguments_complete_in_block_and_flow_mappings() -> None:
    block = _complete("layers:\n  - type: MaxPool2d\n    kernel_size: 2\n    |\n  - ReLU\n")
    assert block["stride"] == "optional" and block["ceil_mode"] == "default false" and "kernel_size" not in block
    above = _complete("layers:\n  - type: BatchNorm2d\n    |\n    eps: 0.1\n")
    assert "eps" not in above and above["num_features"] == "inferred from the incoming tensor when left out"
    flow_ = _complete("layers:\n  - {type: Linear, out_features: 3, b|}\n")
    assert flow_["bias"] == "default true" and "out_features" not in flow_ and "b" not in flow_


def test_a_specs_own_blocks_complete_with_their_parameters() -> None:
    text = (
        "blocks:\n  Stage: {params: [width, blocks: 2], layers: [ReLU]}\n"
        "layers:\n  - {type: St|}\n  - {type: Stage, blocks: 3, |}\n"
    )
    assert "Stage" in _complete(text)
    params = _complete(text.replace("St|", "Stage").replace(", |}", ", |}"))
    assert params == {"width": "required", "name": "netspec", "repeat": "netspec", "when": "netspec"}


# -- inlay hints ---------------------------------------------------------------------------------------------------


def test_a_repeated_line_shows_its_last_output_and_every_copys_parameters() -> None:
    text = "input: [4]\nlayers:\n  - {type: Linear, out_features: 4, repeat: 3}\n  - {type: Linear, out_features: 2}\n"
    a = analyse(text, "t")
    assert a.report is not None and a.spec is not None and a.written is not None
    lines = line_places(places(a.report, a.spec, a.written))
    assert hint(lines[2]) == "→ (N, 4) · 60 params (×3)"  # 3 × (4 × 4 + 4)
    assert hint(lines[3]) == "→ (N, 2) · 10 params"


def test_a_block_written_on_one_line_shows_the_blocks_output() -> None:
    text = (
        "input: [2, 8, 8]\nlayers:\n"
        "  - {type: Concat, branches: [[], [{type: Conv2d, out_channels: 3, kernel_size: 1}]]}\n"
    )
    a = analyse(text, "t")
    assert a.report is not None and a.spec is not None and a.written is not None
    assert hint(line_places(places(a.report, a.spec, a.written))[2]) == "→ (N, 5, 8, 8) · 9 params"


# -- torch's documentation ---------------------------------------------------------------------------------------


def test_every_layer_kind_and_argument_is_documented() -> None:
    """Fails when a kind is added without `python -m netspec.lsp.docs` run again."""
    for kind in KINDS:
        assert docs.summary(kind), f"no documentation for {kind}: run `python -m netspec.lsp.docs`"
        for argument in docs.arguments(kind):
            assert docs.argument(kind, argument), f"{kind}.{argument} is undocumented"


def test_the_documentation_is_read_from_torchs_docstrings() -> None:
    doc = """Applies a thing to the input.

    More text.

    Args:
        size (int or tuple): Size of the
            window. Default: 1
        mode: :attr:`size` in ``'zeros'`` mode, :math:`H_{out} \\times W_{out}`

    Shape:
        - Input: (N, C)
    """
    assert docs.parse_docstring(doc) == {
        "summary": "Applies a thing to the input.",
        "args": {"size": "Size of the window. Default: 1", "mode": "`size` in `'zeros'` mode, `H_out × W_out`"},
    }


def test_the_installed_torch_documents_what_the_data_file_covers() -> None:
    """The extraction works on the installed torch (whatever its version): the same kinds and arguments."""
    generated = docs.generate()["kinds"]
    assert set(generated) == set(LAYER_TYPES)
    for kind, entry in generated.items():
        assert entry["summary"], kind


def test_the_server_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "import netspec.lsp.server\n"
        "from netspec.lsp.analysis import analyse\n"
        "from netspec.lsp import places\n"
        "a = analyse(open('specs/resnet50.yaml').read(), 'r.yaml')\n"
        "[places.hover(p, a.written, p.start) for p in places.places(a.report, a.spec, a.written)]\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_check_error_of_the_cli_is_a_diagnostic_of_the_server() -> None:
    """The server's findings are `netspec check`'s: the same codes, messages and places on every golden case."""
    from netspec.report import check
    from netspec.spec import load_spec

    for path in sorted(GOLDEN.glob("*.yaml")):
        try:
            expected = list(check(load_spec(path)).warnings)
        except SpecError as e:
            expected = e.diagnostics
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # the encoding cases: an editor holds text, never these bytes
            continue
        if "\x00" in text or not is_spec(text):
            continue
        got = analyse(text, str(path)).diagnostics
        assert [(d.code, d.message, d.span) for d in got] == [(d.code, d.message, d.span) for d in expected], path.name


def test_the_editors_page_shows_what_the_server_shows() -> None:
    """docs/editors.md's spec and the lines an editor shows for it: each with the hint the server gives."""
    page = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    spec = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = page.split("the editor shows\n\n```text\n", 1)[1].split("```", 1)[0]
    a = analyse(spec, "docs/editors.md")
    assert a.report is not None and a.spec is not None and a.written is not None
    hints = line_places(places(a.report, a.spec, a.written))
    expected = [f"{line} {hint(hints[i])}" if i in hints else line for i, line in enumerate(spec.splitlines())]
    assert shown.splitlines() == expected
    assert "→ (N, 16, 32, 32) · 448 params" in shown  # 16 × 3 × 3 × 3 + 16, worked by hand


def test_the_server_keeps_nothing_per_edit() -> None:
    """pygls 2.1 files a future for every notification and never drops it; the server's protocol drops them."""
    import asyncio
    import json

    from netspec.lsp.server import create

    class Sink:
        def write(self, data: bytes) -> None:
            pass

        def flush(self) -> None:
            pass

    async def edit_fifty_times() -> tuple[int, int | None]:
        server = create()
        server.protocol.set_writer(Sink())

        def send(method: str, params: object, id: int | None = None) -> None:
            message = {"jsonrpc": "2.0", "method": method, "params": params, **({"id": id} if id else {})}
            server.protocol.handle_message(
                json.loads(json.dumps(message), object_hook=server.protocol.structure_message)
            )

        send("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, id=1)
        send("initialized", {})
        item = {"uri": "file:///x.yaml", "languageId": "yaml", "version": 1, "text": "input: [3]\nlayers: [ReLU]\n"}
        send("textDocument/didOpen", {"textDocument": item})
        for version in range(2, 52):
            change = {"text": f"input: [{version}]\nlayers: [ReLU]\n"}
            send(
                "textDocument/didChange",
                {"textDocument": {"uri": item["uri"], "version": version}, "contentChanges": [change]},
            )
            await asyncio.sleep(0)
        analysis = await server.current("file:///x.yaml")
        server.checker.shutdown()
        return len(server.protocol._request_futures), analysis.version if analysis else None

    assert asyncio.run(edit_fifty_times()) == (0, 51)
