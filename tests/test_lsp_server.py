"""`netspec lsp` end to end: the server as a subprocess, driven over stdio by a real client (pytest-lsp).

Each test opens documents as an editor does, waits for the diagnostics the server publishes, and asks for code
actions, inlay hints, hovers, completions and symbols; quick fixes are applied by the test's own edit function and
sent back as an editor would send them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from concurrent.futures import Future
from pathlib import Path

import pytest
import pytest_lsp
from click.testing import CliRunner
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from netspec.cli import cli
from netspec.lsp import docs

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
pytestmark = pytest.mark.slow  # each test starts a server process


class Published:
    """Every publishDiagnostics the client receives, in order (re-armed inside the callback, so none is missed)."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.seen: list[types.PublishDiagnosticsParams] = []
        self.arrived = asyncio.Event()
        self._arm()

    def _arm(self) -> None:
        self.client.protocol.wait_for_notification(PUBLISH).add_done_callback(self._got)

    def _got(self, future: Future[types.PublishDiagnosticsParams]) -> None:
        if future.exception() is not None:  # the server has exited (the test is over)
            return
        self.seen.append(future.result())
        self._arm()
        self.arrived.set()

    async def of(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for that version of the document (waits for them)."""
        while True:
            for params in self.seen:
                if params.uri == uri and params.version == version:
                    return list(params.diagnostics)
            self.arrived.clear()
            await self.arrived.wait()

    def versions(self, uri: str) -> list[int | None]:
        return [p.version for p in self.seen if p.uri == uri]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "netspec", "lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=ROOT.as_uri())
    )
    yield
    await lsp_client.shutdown_session()


class Editor:
    """One open document as an editor holds it: its text and version, changed by edits as an editor applies them."""

    def __init__(self, client: LanguageClient, published: Published, name: str, text: str) -> None:
        self.client, self.published = client, published
        self.uri = f"file:///work/specs/{name}"
        self.text, self.version = text, 1
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=self.uri, language_id="yaml", version=1, text=text)
            )
        )

    @property
    def id(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=self.uri)

    async def diagnostics(self) -> list[types.Diagnostic]:
        return await self.published.of(self.uri, self.version)

    def apply(self, edits: list[types.TextEdit]) -> None:
        """Apply edits (non-overlapping, positions in the text before any of them) and send them as changes."""
        lines = self.text.split("\n")
        assert all(ord(ch) < 0x10000 for ch in self.text)  # one UTF-16 unit per character here

        def offset(p: types.Position) -> int:
            return sum(len(line) + 1 for line in lines[: p.line]) + p.character

        for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
            start, end = offset(edit.range.start), offset(edit.range.end)
            self.text = self.text[:start] + edit.new_text + self.text[end:]
        self.version += 1
        changes = [types.TextDocumentContentChangeWholeDocument(text=self.text)]
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=changes,
            )
        )

    def type(self, line: int, character: int, text: str) -> None:
        """Insert text at a position, sent as an incremental change."""
        lines = self.text.split("\n")
        lines[line] = lines[line][:character] + text + lines[line][character:]
        self.text = "\n".join(lines)
        self.version += 1
        at = types.Position(line=line, character=character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)],
            )
        )

    async def actions(self, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=self.id, range=diagnostic.range, context=types.CodeActionContext(diagnostics=[diagnostic])
            )
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def hints(self) -> dict[int, str]:
        whole = types.Range(types.Position(0, 0), types.Position(len(self.text.split("\n")), 0))
        result = await self.client.text_document_inlay_hint_async(types.InlayHintParams(self.id, whole))
        out = {}
        for hint in result or []:
            assert isinstance(hint.label, str)
            out[hint.position.line] = hint.label
            assert hint.position.character == len(self.text.split("\n")[hint.position.line])  # at the line's end
        return out

    async def hover(self, line: int, character: int) -> str | None:
        result = await self.client.text_document_hover_async(
            types.HoverParams(self.id, types.Position(line, character))
        )
        if result is None:
            return None
        assert isinstance(result.contents, types.MarkupContent)
        return result.contents.value

    async def completion(self, line: int, character: int) -> list[types.CompletionItem]:
        result = await self.client.text_document_completion_async(
            types.CompletionParams(self.id, types.Position(line, character))
        )
        if result is None:
            return []
        return list(result.items if isinstance(result, types.CompletionList) else result)


def edits_of(action: types.CodeAction) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.document_changes is not None
    [change] = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    return [e for e in change.edits if isinstance(e, types.TextEdit)]


def at(d: types.Diagnostic) -> tuple[int, int, int, int]:
    return (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


LENET_LINES = {  # each layer line of tests/golden/shape-mismatch.yaml once fixed, and its shape and params
    5: "→ (N, 6, 28, 28) · 156 params",
    6: "→ (N, 6, 28, 28)",
    7: "→ (N, 6, 14, 14)",
    8: "→ (N, 16, 10, 10) · 2,416 params",
    9: "→ (N, 16, 10, 10)",
    10: "→ (N, 16, 5, 5)",
    11: "→ (N, 400)",
    12: "→ (N, 120) · 48,120 params",
    13: "→ (N, 120)",
    14: "→ (N, 84) · 10,164 params",
    15: "→ (N, 84)",
    16: "→ (N, 10) · 850 params",
}


@pytest.mark.asyncio
async def test_an_error_its_quick_fix_and_then_the_shapes(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "lenet.yaml", golden("shape-mismatch.yaml"))
    [d] = await doc.diagnostics()
    assert d.code == "shape-mismatch" and d.source == "netspec"
    assert d.severity == types.DiagnosticSeverity.Error
    assert at(d) == (12, 32, 12, 35)  # the `256` of `in_features: 256`, as `netspec check` puts its caret at 13:33
    assert d.message == (
        "`in_features` is 256 but the incoming tensor has 400 features\n"
        "note: layer 6 (flatten1: Flatten) turns (N, 16, 5, 5) into (N, 400): 16 × 5 × 5 = 400\n"
        "help: set `in_features: 400`, or remove it and netspec infers it"
    )
    assert await doc.hints() == {}  # no shapes while the spec does not check

    actions = await doc.actions(d)
    assert [a.title for a in actions] == ["set `in_features: 400`", "remove `in_features` (inferred)"]
    assert actions[0].is_preferred and actions[0].kind == types.CodeActionKind.QuickFix
    doc.apply(edits_of(actions[0]))
    assert doc.text.split("\n")[12] == "  - {type: Linear, in_features: 400, out_features: 120}"
    assert await doc.diagnostics() == []
    assert await doc.hints() == LENET_LINES


@pytest.mark.asyncio
async def test_the_other_quick_fix_removes_the_size(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "lenet.yaml", golden("shape-mismatch.yaml"))
    [d] = await doc.diagnostics()
    doc.apply(edits_of((await doc.actions(d))[1]))
    assert doc.text.split("\n")[12] == "  - {type: Linear, out_features: 120}"
    assert await doc.diagnostics() == []


@pytest.mark.asyncio
async def test_fixes_for_a_typo_a_missing_flatten_and_a_shortcut(client: LanguageClient) -> None:
    published = Published(client)
    typo = Editor(client, published, "typo.yaml", golden("unknown-field.yaml"))
    flatten = Editor(client, published, "flatten.yaml", golden("missing-flatten.yaml"))
    residual = Editor(client, published, "residual.yaml", golden("branch-mismatch.yaml"))

    [d] = await typo.diagnostics()
    assert d.code == "unknown-field"
    [action] = await typo.actions(d)
    assert action.title == "rename to `kernel_size`"
    typo.apply(edits_of(action))
    assert "  - {type: Conv2d, out_channels: 6, kernel_size: 5}" in typo.text.split("\n")
    assert await typo.diagnostics() == []

    [d] = await flatten.diagnostics()
    assert d.code == "missing-flatten" and d.severity == types.DiagnosticSeverity.Warning
    [action] = await flatten.actions(d)
    flatten.apply(edits_of(action))
    assert flatten.text.split("\n")[3:7] == [
        "  - {type: Conv2d, out_channels: 16, kernel_size: 5}",
        "  - {type: MaxPool2d, kernel_size: 2}",
        "  - Flatten",
        "  - {type: Linear, out_features: 10}",
    ]
    assert await flatten.diagnostics() == []

    [d] = await residual.diagnostics()
    assert d.code == "branch-mismatch"
    assert d.related_information is not None
    [body] = d.related_information
    assert body.message == "the body gives (N, 128, 28, 28)" and body.location.range.start.line == 5
    [action] = await residual.actions(d)
    residual.apply(edits_of(action))
    assert residual.text.split("\n")[-3:] == [
        "    after: ReLU",
        "    shortcut: [{type: Conv2d, out_channels: 128, kernel_size: 1, stride: 2, bias: false}, BatchNorm2d]",
        "",
    ]
    assert await residual.diagnostics() == []
    hints = await residual.hints()
    assert hints[3] == "→ (N, 128, 28, 28) · 230,144 params"  # the block's line: its output and all its weights


@pytest.mark.asyncio
async def test_a_template_error_points_at_the_instance_too(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "block.yaml", golden("invalid-value-in-block.yaml"))
    diagnostics = await doc.diagnostics()
    assert diagnostics, "the broken template is reported"
    related = [r for d in diagnostics for r in d.related_information or []]
    assert any(r.message.startswith("in this `") for r in related)
    assert all(r.location.uri == doc.uri for r in related)


@pytest.mark.asyncio
async def test_hover_shows_shapes_counts_and_torch_documentation(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "lenet.yaml", (ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8"))
    assert await doc.diagnostics() == []
    line = doc.text.split("\n").index(
        "  - {type: Conv2d, in_channels: 1, out_channels: 6, kernel_size: 5}   # (N, 6, 28, 28)"
    )
    text = await doc.hover(line, doc.text.split("\n")[line].index("kernel_size"))
    assert text is not None
    assert "**`conv1`** · Conv2d" in text
    assert "(N, 1, 32, 32) → (N, 6, 28, 28)" in text
    assert "156 params · 122,304 mult-adds · receptive field 5×5 /1" in text
    assert "`nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)`" in text
    assert f"[torch.nn.Conv2d]({docs.url('Conv2d')}): {docs.summary('Conv2d')}" in text
    assert f"`kernel_size`: {docs.argument('Conv2d', 'kernel_size')}" in text
    assert await doc.hover(0, 2) is None  # the modeline is no layer


@pytest.mark.asyncio
async def test_a_block_template_is_shared_by_its_instances(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "resnet50.yaml", (ROOT / "specs" / "resnet50.yaml").read_text(encoding="utf-8"))
    assert await doc.diagnostics() == []
    lines = doc.text.split("\n")
    hints = await doc.hints()
    residual = lines.index("      type: Residual")
    assert hints[residual] == (
        "→ (N, 256, 56, 56) ×3, (N, 512, 28, 28) ×4, (N, 1024, 14, 14) ×6, (N, 2048, 7, 7) ×3 (16 instances)"
    )
    layer3 = next(i for i, line in enumerate(lines) if "name: layer3" in line)
    assert hints[layer3] == "→ (N, 1024, 14, 14) · 7,098,368 params"
    text = await doc.hover(residual, 8)
    assert text is not None
    assert "block `Bottleneck`'s definition, shared by 16 instances" in text
    assert "- `layer1.0` (N, 64, 56, 56) → (N, 256, 56, 56) · 75,008 params" in text


@pytest.mark.asyncio
async def test_completion_of_kinds_arguments_and_blocks(client: LanguageClient) -> None:
    published = Published(client)
    text = (
        "input: [3, 32, 32]\n"
        "blocks:\n"
        "  Stem: {params: [width, stride: 2], layers: [{type: Conv2d, out_channels: $width, kernel_size: 3}]}\n"
        "layers:\n"
        "  - {type: Conv2d, out_channels: 8, }\n"
        "  - {type: Stem, }\n"
        "  - \n"
    )
    doc = Editor(client, published, "new.yaml", text)
    await doc.diagnostics()
    arguments = {i.label: i.detail for i in await doc.completion(4, 36)}
    assert "out_channels" not in arguments  # already given
    assert arguments["kernel_size"] == "required"
    assert arguments["stride"] == "default 1"
    assert arguments["padding_mode"] == "default zeros"
    assert arguments["in_channels"] == "inferred from the incoming tensor when left out"
    assert {"name", "repeat", "when", "init"} <= set(arguments)
    params = {i.label: i.detail for i in await doc.completion(5, 16)}
    assert params == {
        "width": "required",
        "stride": "default 2",
        "name": "netspec",
        "repeat": "netspec",
        "when": "netspec",
    }
    kinds = await doc.completion(6, 4)
    labels = [i.label for i in kinds]
    assert {"Conv2d", "Linear", "Residual", "Concat", "Stem"} <= set(labels)
    conv = next(i for i in kinds if i.label == "Conv2d")
    assert conv.detail == "torch.nn.Conv2d, needs out_channels, kernel_size"


@pytest.mark.asyncio
async def test_document_symbols_are_the_written_tree(client: LanguageClient) -> None:
    published = Published(client)
    text = golden("branch-mismatch.yaml").replace(
        "    after: ReLU",
        "    shortcut: [{type: Conv2d, out_channels: 128, kernel_size: 1, stride: 2}]\n    after: ReLU",
    )
    doc = Editor(client, published, "res.yaml", text)
    assert await doc.diagnostics() == []
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc.id))
    assert symbols is not None
    [block] = symbols
    assert isinstance(block, types.DocumentSymbol)
    assert (block.name, block.detail) == ("block", "Residual → (N, 128, 28, 28)")
    assert [c.name for c in block.children or []] == ["body", "shortcut", "after"]
    body = (block.children or [])[0]
    assert [(c.name, c.detail) for c in body.children or []] == [
        ("conv1", "Conv2d → (N, 128, 28, 28)"),
        ("bn1", "BatchNorm2d → (N, 128, 28, 28)"),
        ("relu1", "ReLU → (N, 128, 28, 28)"),
        ("conv2", "Conv2d → (N, 128, 28, 28)"),
        ("bn2", "BatchNorm2d → (N, 128, 28, 28)"),
    ]


@pytest.mark.asyncio
async def test_a_yaml_file_that_is_not_a_spec_stays_silent(client: LanguageClient) -> None:
    published = Published(client)
    compose = "services:\n  web:\n    image: nginx\n    ports: [80:80\n    layers: 3\n"  # broken YAML, no spec
    doc = Editor(client, published, "compose.yaml", compose)
    # a request that waits for the document's check: any diagnostics would have been published before its answer
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc.id))
    assert await doc.hover(1, 3) is None
    assert await doc.completion(4, 12) == []
    assert published.versions(doc.uri) == []
    doc.type(0, 0, "# netspec\n")  # the modeline makes it a spec: now it is checked
    diagnostics = await doc.diagnostics()
    assert [d.code for d in diagnostics] == ["yaml-syntax"]


@pytest.mark.asyncio
async def test_edits_typed_quickly_end_with_the_last_versions_diagnostics(client: LanguageClient) -> None:
    published = Published(client)
    doc = Editor(client, published, "lenet.yaml", (ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8"))
    assert await doc.diagnostics() == []
    row = doc.text.split("\n").index("  - {type: Linear, in_features: 84, out_features: 10}")
    column = doc.text.split("\n")[row].index("84")
    for digit in "1234":  # 84 -> 184 -> 2184 -> ...: versions 2 to 5, sent without waiting
        doc.type(row, column, digit)
    [d] = await doc.diagnostics()
    assert d.code == "shape-mismatch" and "`in_features` is 432184" in d.message
    versions = [v for v in published.versions(doc.uri) if v is not None]
    assert versions == sorted(versions) and versions[-1] == 5  # never an older version after a newer one


@pytest.mark.asyncio
async def test_positions_are_in_the_clients_utf16_units(client: LanguageClient) -> None:
    published = Published(client)
    line = '  - {"😀": 1, type: Dense}'  # the emoji is one character but two UTF-16 units
    doc = Editor(client, published, "emoji.yaml", f"input: [4]\nlayers:\n{line}\n")
    [d] = await doc.diagnostics()
    assert d.code == "unknown-layer"
    assert at(d) == (2, line.index("Dense") + 1, 2, line.index("Dense") + 6)


HOSTILE = {
    "alias-bomb.yaml": (golden("unsupported-yaml-alias-bomb.yaml"), "unsupported-yaml"),
    "huge.yaml": ("input: [8]\nlayers:\n" + "  - ReLU\n" * 120_000, "unsupported-yaml"),  # over the server's 1 MiB
    "repeat-bomb.yaml": (
        "input: [8]\n"
        "blocks:\n"
        "  C: {layers: [{type: ReLU, repeat: 1000}]}\n"
        "  B: {layers: [{type: C, repeat: 1000}]}\n"
        "  A: {layers: [{type: B, repeat: 1000}]}\n"
        "layers:\n"
        "  - {type: A, repeat: 1000}\n",
        "too-many-layers",
    ),
    "deep.yaml": ("layers: " + "[" * 5000 + "]" * 5000 + "\n", "unsupported-yaml"),
}


@pytest.mark.asyncio
async def test_hostile_documents_get_diagnostics_and_the_server_goes_on(client: LanguageClient) -> None:
    published = Published(client)
    docs_ = {name: Editor(client, published, name, text) for name, (text, _) in HOSTILE.items()}
    for name, (_, code) in HOSTILE.items():
        found = await docs_[name].diagnostics()
        assert [d.code for d in found][:1] == [code], name
        await docs_[name].hints()
        await client.text_document_document_symbol_async(types.DocumentSymbolParams(docs_[name].id))
    doc = Editor(client, published, "lenet.yaml", (ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8"))
    assert await doc.diagnostics() == []
    assert (await doc.hints())[7] == "→ (N, 6, 28, 28) · 156 params"
    assert client.error is None


def test_without_pygls_the_command_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)  # as if pygls were not installed
    result = CliRunner().invoke(cli, ["lsp"])
    assert result.exit_code == 1
    assert "error[missing-dependency]: the language server needs pygls" in result.stderr
    assert "help: pip install 'netspec[lsp]'" in result.stderr


def test_the_json_data_file_ships_with_the_package() -> None:
    assert Path(docs.DATA).is_file() and docs.DATA.parent.name == "lsp"
