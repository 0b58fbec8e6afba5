"""The language server: the protocol's requests answered from `analysis.analyse`, which is `netspec check`.

Checks run one at a time on a thread of their own, so the server keeps reading messages while one runs. Each edit
marks its document dirty; one worker per document checks the newest text, and a result that a newer edit overtook
is dropped unpublished. There is no fixed delay: a check takes milliseconds, and edits that arrive while one runs
are coalesced into the next.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from .. import __version__
from ..diagnostics import Diagnostic, Fix, Span
from . import complete, places
from .analysis import Analysis, analyse, is_spec
from .edits import edits_for
from .outline import Symbol, outline
from .written import Pos

log = logging.getLogger(__name__)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the protocol's line breaks
_SYMBOL_KINDS = {
    "layer": types.SymbolKind.Function,
    "block": types.SymbolKind.Module,
    "branch": types.SymbolKind.Field,
    "definition": types.SymbolKind.Class,
}
_COMPLETION_KINDS = {
    "layer": types.CompletionItemKind.Class,
    "block": types.CompletionItemKind.Module,
    "argument": types.CompletionItemKind.Property,
}


class _Protocol(LanguageServerProtocol):
    def _handle_notification(self, method_name: str, params: Any) -> None:
        super()._handle_notification(method_name, params)
        # pygls 2.1 files the future of every notification it handles under a fresh id and never takes it out:
        # one object per keystroke. Requests' futures are removed when answered, so any finished one left is such.
        for key in [k for k, future in self._request_futures.items() if future.done()]:
            del self._request_futures[key]


class NetspecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("netspec", __version__, protocol_cls=_Protocol)
        self.analyses: dict[str, Analysis] = {}
        self.dirty: set[str] = set()
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netspec-check")

    # -- checking ------------------------------------------------------------------------------------------------

    def changed(self, uri: str) -> None:
        """A document was opened or edited: check its newest text soon, once."""
        self.dirty.add(uri)
        if uri not in self.workers:
            self.workers[uri] = asyncio.get_running_loop().create_task(self._work(uri))

    async def _work(self, uri: str) -> None:
        try:
            while uri in self.dirty:
                self.dirty.discard(uri)
                await asyncio.sleep(0)  # edits already received are applied first: no check of text already stale
                if uri in self.dirty or uri not in self.workspace.text_documents:
                    continue
                document = self.workspace.get_text_document(uri)
                text, version = document.source, document.version
                result = await asyncio.get_running_loop().run_in_executor(
                    self.checker, _analyse, text, _source(uri), version
                )
                if uri in self.dirty or uri not in self.workspace.text_documents:
                    continue  # overtaken by a newer edit, or closed: dropped
                before = self.analyses.get(uri)
                self.analyses[uri] = result
                if not result.spec_file and (before is None or not before.spec_file):
                    continue  # not a spec, and never was: nothing is said about it, not even "no diagnostics"
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(
                        uri=uri,
                        version=version,
                        diagnostics=[self.diagnostic(uri, result, d) for d in result.diagnostics],
                    )
                )
        finally:
            del self.workers[uri]

    async def current(self, uri: str) -> Analysis | None:
        """The analysis of the document's newest text, once its check is done."""
        while uri in self.workers:
            await asyncio.shield(self.workers[uri])
        return self.analyses.get(uri)

    def closed(self, uri: str) -> None:
        self.dirty.discard(uri)
        analysis = self.analyses.pop(uri, None)
        if analysis is not None and analysis.spec_file:  # clear what was said; of other files nothing was
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # -- positions: netspec's are characters; the client's are UTF-16 units unless it chose others ----------------

    def to_client(self, lines: Sequence[str], pos: Pos) -> types.Position:
        line, col = pos
        if line >= len(lines):
            return types.Position(line=max(0, len(lines) - 1), character=self._units(lines[-1]) if lines else 0)
        return types.Position(line=line, character=self._units(lines[line][:col]))

    def from_client(self, lines: Sequence[str], position: types.Position) -> Pos:
        copy = types.Position(line=position.line, character=position.character)  # pygls clamps it in place
        found = self.workspace.position_codec.position_from_client_units(lines, copy)
        return (found.line, found.character)

    def _units(self, text: str) -> int:
        return int(self.workspace.position_codec.client_num_units(text))

    def range(self, lines: Sequence[str], start: Pos, end: Pos) -> types.Range:
        return types.Range(start=self.to_client(lines, start), end=self.to_client(lines, end))

    # -- netspec's values as the protocol's ------------------------------------------------------------------------

    def diagnostic(self, uri: str, analysis: Analysis, d: Diagnostic) -> types.Diagnostic:
        lines = lines_of(analysis)
        message = "\n".join([d.message, *(f"note: {n}" for n in d.notes), *([f"help: {d.help}"] if d.help else [])])
        return types.Diagnostic(
            range=self.span_range(lines, d.span),
            message=message,
            severity=types.DiagnosticSeverity.Error if d.is_error else types.DiagnosticSeverity.Warning,
            code=d.code,
            source="netspec",
            related_information=[
                types.DiagnosticRelatedInformation(
                    location=types.Location(uri=uri, range=self.span_range(lines, r.span)), message=r.message
                )
                for r in d.related
            ]
            or None,
            data={"fixes": [_fix_data(f) for f in d.fixes]} if d.fixes else None,
        )

    def span_range(self, lines: Sequence[str], span: Span | None) -> types.Range:
        if span is None:  # a finding about the whole file: its first character
            return self.range(lines, (0, 0), (0, 1))
        return self.range(lines, (span.line - 1, span.col - 1), (span.end_line - 1, span.end_col - 1))

    def symbol(self, lines: Sequence[str], s: Symbol) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=s.name or "?",
            detail=s.detail or None,
            kind=_SYMBOL_KINDS[s.kind],
            range=self.range(lines, s.start, s.end),
            selection_range=self.range(lines, s.select_start, s.select_end),
            children=[self.symbol(lines, c) for c in s.children] or None,
        )


def _analyse(text: str, source: str, version: int | None) -> Analysis:
    """`analyse`, never raising: a bug in netspec must not take the editor's server down with it."""
    try:
        return analyse(text, source, version)
    except Exception:  # the last line of defence, as the CLI's internal-error message is
        log.error("netspec: internal error while checking %s\n%s", source, traceback.format_exc())
        return Analysis(text, version, spec_file=False)


def _source(uri: str) -> str:
    """The file name diagnostics carry (the uri's path for files)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def lines_of(analysis: Analysis) -> list[str]:
    lines: list[str] | None = analysis.cache.get("lines")
    if lines is None:
        lines = analysis.cache["lines"] = _LINE_BREAK.split(analysis.text)
    return lines


def _fix_data(fix: Fix) -> dict[str, Any]:
    return {"title": fix.title, "op": fix.op, "path": list(fix.path), "value": fix.value}


def _fix_from(data: Any) -> Fix | None:
    """A fix back from a diagnostic's `data`, as the client returns it; None for anything else."""
    if not isinstance(data, dict) or data.get("op") not in ("set", "rename", "remove", "insert"):
        return None
    path = data.get("path")
    if not isinstance(path, list) or not isinstance(data.get("title"), str):
        return None
    return Fix(data["title"], tuple(path), data["op"], data.get("value"))


def _places(analysis: Analysis) -> list[places.Place]:
    found: list[places.Place] | None = analysis.cache.get("places")
    if found is None:
        ok = analysis.report is not None and analysis.spec is not None and analysis.written is not None
        found = places.places(analysis.report, analysis.spec, analysis.written) if ok else []  # type: ignore[arg-type]
        analysis.cache["places"] = found
    return found


def create() -> NetspecServer:
    """A server with every feature registered."""
    server = NetspecServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NetspecServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NetspecServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NetspecServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    async def inlay_hint(ls: NetspecServer, params: types.InlayHintParams) -> list[types.InlayHint] | None:
        analysis = await ls.current(params.text_document.uri)
        if analysis is None or analysis.report is None:
            return None
        lines = lines_of(analysis)
        first, last = params.range.start.line, params.range.end.line
        hints = []
        for line, place in sorted(places.line_places(_places(analysis)).items()):
            if first <= line <= last and line < len(lines):
                hints.append(
                    types.InlayHint(
                        position=ls.to_client(lines, (line, len(lines[line]))),
                        label=places.hint(place),
                        kind=types.InlayHintKind.Type,
                        padding_left=True,
                    )
                )
        return hints

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: NetspecServer, params: types.HoverParams) -> types.Hover | None:
        analysis = await ls.current(params.text_document.uri)
        if analysis is None or analysis.written is None:
            return None
        pos = ls.from_client(lines_of(analysis), params.position)
        place = places.at(_places(analysis), pos)
        if place is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=places.hover(place, analysis.written, pos)
            ),
            range=ls.range(lines_of(analysis), place.start, place.end),
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    async def code_action(ls: NetspecServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        analysis = await ls.current(uri)
        if analysis is None or analysis.written is None:
            return None
        lines = lines_of(analysis)
        actions = []
        for diagnostic in params.context.diagnostics:
            if diagnostic.source != "netspec" or not isinstance(diagnostic.data, dict):
                continue
            for i, data in enumerate(diagnostic.data.get("fixes") or []):
                fix = _fix_from(data)
                edits = edits_for(analysis.written, fix) if fix is not None else None
                if fix is None or edits is None:
                    continue
                text_edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit] = [
                    types.TextEdit(range=ls.range(lines, e.start, e.end), new_text=e.text) for e in edits
                ]
                change = types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=analysis.version),
                    edits=text_edits,
                )
                actions.append(
                    types.CodeAction(
                        title=fix.title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=i == 0,
                        edit=types.WorkspaceEdit(document_changes=[change]),
                    )
                )
        return actions

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[" ", "-", "{", ",", ":"]),
    )
    def completion(ls: NetspecServer, params: types.CompletionParams) -> types.CompletionList | None:
        uri = params.text_document.uri
        document = ls.workspace.get_text_document(uri)
        text = document.source
        if not is_spec(text):
            return None
        analysis = ls.analyses.get(uri)
        lines = _LINE_BREAK.split(text)
        pos = ls.from_client(lines, params.position)
        data = analysis.written.data if analysis is not None and analysis.written is not None else None
        items = complete.complete(text, pos, complete.spec_blocks(data))
        return types.CompletionList(
            is_incomplete=False,
            items=[
                types.CompletionItem(
                    label=item.label,
                    kind=_COMPLETION_KINDS[item.kind],
                    detail=item.detail,
                    documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=item.documentation)
                    if item.documentation
                    else None,
                    sort_text=f"{i:04d}",
                    text_edit=types.TextEdit(range=ls.range(lines, (pos[0], item.start), pos), new_text=item.insert),
                )
                for i, item in enumerate(items)
            ],
        )

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(ls: NetspecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        analysis = await ls.current(params.text_document.uri)
        if analysis is None or analysis.written is None:
            return []
        nodes_at = {place.path: place.nodes for place in _places(analysis)}
        lines = lines_of(analysis)
        return [ls.symbol(lines, s) for s in outline(analysis.written, nodes_at)]

    return server


def serve() -> None:
    """Run the server on stdin and stdout until the client ends it."""
    create().start_io()
