"""One version of a document, checked by the same calls as `netspec check`: its diagnostics, its checked tree, and the
text and values they point into. Nothing here knows about the protocol."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic, SpecError
from ..report import ShapeReport, check
from ..source import load_yaml
from ..spec import Spec, spec_from_data
from .written import Written

# A spec has a top-level `layers:` key, or says it is one in a comment near the top: the modeline `netspec import`
# writes (`# yaml-language-server: $schema=...netspec.schema.json`), or `# netspec`. Any other YAML file (CI configs,
# compose files) gets no diagnostics at all.
_LAYERS_KEY = re.compile(r"^(?:layers|\"layers\"|'layers')[ \t]*:", re.MULTILINE)
_SCHEMA = re.compile(r"\$schema=\S*netspec[^/\s]*\.json")
MODELINE_LINES = 20  # where a modeline may be
MAX_CHARS = 1024 * 1024  # documents the server checks: 400 times resnet50's spec; a 100,000-layer list takes 4 s


def is_spec(text: str) -> bool:
    """Whether a YAML document is a netspec spec: a top-level `layers:` key, or a netspec modeline."""
    for line in text.split("\n", MODELINE_LINES)[:MODELINE_LINES]:
        line = line[:500].strip()  # bounded: the patterns below never see a megabyte-long line
        if line.startswith("#"):
            comment = line.lstrip("#").strip()
            if comment == "netspec" or (comment.startswith("yaml-language-server:") and _SCHEMA.search(comment)):
                return True
    return bool(_LAYERS_KEY.search(text))


@dataclass
class Analysis:
    """What netspec says about one version of a document."""

    text: str
    version: int | None = None
    spec_file: bool = True  # False: not a netspec spec, so nothing is said about it
    written: Written | None = None  # None when the text is not YAML netspec can read
    spec: Spec | None = None
    report: ShapeReport | None = None  # only when the spec checks (warnings allowed)
    diagnostics: tuple[Diagnostic, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict)  # what the features derive from it, made once


def analyse(text: str, source: str, version: int | None = None) -> Analysis:
    """Read and check a document as `netspec check` would (`parse_spec`'s two steps, then `check`)."""
    if not is_spec(text):
        return Analysis(text, version, spec_file=False)
    if len(text) > MAX_CHARS:  # `netspec check` reads up to 64 MiB, but not on every keystroke
        too_long = Diagnostic(
            "unsupported-yaml",
            f"the document is {len(text):,} characters long; the language server checks specs of up to {MAX_CHARS:,}",
            source=source,
            help="run `netspec check` on the file",
        )
        return Analysis(text, version, diagnostics=(too_long,))
    try:
        data, smap = load_yaml(text, source)
    except SpecError as e:
        return Analysis(text, version, diagnostics=tuple(e.diagnostics))
    written = Written(text, data, smap)
    try:
        spec = spec_from_data(data, smap)
    except SpecError as e:
        return Analysis(text, version, written=written, diagnostics=tuple(e.diagnostics))
    try:
        report = check(spec)
    except SpecError as e:
        return Analysis(text, version, written=written, spec=spec, diagnostics=tuple(e.diagnostics))
    return Analysis(text, version, written=written, spec=spec, report=report, diagnostics=report.warnings)
