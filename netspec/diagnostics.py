"""Diagnostics as values: a code, a message, where it points, and how to fix it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning"]
PathItem = str | int
Path = tuple[PathItem, ...]

# Every code netspec can emit, with the one-line meaning shown in `netspec --help`
# and the README's error index (a test keeps the three in step).
CODES: dict[str, str] = {
    "io-error": "a file or directory is missing or cannot be read, or an output file cannot be written",
    "encoding": "the file is not UTF-8 text (binary data, or another encoding)",
    "yaml-syntax": "the file is not valid YAML (tabs in indentation, unclosed brackets, ...)",
    "unsupported-yaml": "a YAML feature netspec refuses: tags naming Python objects, complex keys,"
    " several documents, nesting or alias expansion beyond the limits",
    "duplicate-key": "a mapping sets the same key twice",
    "missing-field": "a required field or argument is missing",
    "unknown-layer": "a layer `type` that netspec does not know",
    "unknown-field": "an argument the layer (or section) does not take",
    "invalid-value": "a value of the wrong type or out of range",
    "duplicate-name": "two layers in one block (or at the top level) share a `name`",
    "shape-mismatch": "a declared input size (`in_channels`, `in_features`, `num_features`)"
    " disagrees with the incoming tensor",
    "rank-mismatch": "a layer gets a tensor with the wrong number of dimensions",
    "branch-mismatch": "the branches of a block give shapes that its join (add, concatenate, multiply) cannot combine",
    "empty-output": "a layer would produce an output dimension of zero or less",
    "padding-too-large": "padding larger than torch allows for the input or kernel",
    "missing-flatten": "a Linear applied to a multi-dimensional input acts on its last dimension only"
    " (an error when `in_features` is the whole input's size, else a warning)",
    "implicit-dim": "warning: Softmax/LogSoftmax without `dim`, whose implicit choice torch deprecates",
    "dataset-shape": "the dataset's samples or targets do not fit the spec's input or output",
    "dataset-missing": "the dataset's files are not where the spec says",
    "checkpoint": "a checkpoint that cannot be loaded or does not fit its spec",
    "too-large": "the model's parameters would not fit in the available (device) memory",
    "missing-dependency": "an optional package the command needs is not installed",
    "export-failed": "torch.onnx cannot translate a layer of the model into ONNX, or would translate it wrongly",
    "non-finite-loss": "training stopped because the loss became NaN or infinite",
    "too-many-layers": "the spec, once its blocks and repeats are expanded, has more layers than netspec's limit",
}


@dataclass(frozen=True)
class Span:
    """A place in a source file: 1-based line and column; `end_col` is exclusive."""

    source: str
    line: int
    col: int
    end_line: int
    end_col: int
    text: str  # the user's whole line, shown under the header


@dataclass(frozen=True)
class Related:
    """Another place a diagnostic concerns (the other branch of a block, the instance of a template), and why."""

    span: Span
    message: str


FixOp = Literal["set", "rename", "remove", "insert"]


@dataclass(frozen=True)
class Fix:
    """A fix as data, for editors to apply (`netspec lsp`'s quick fixes); the terminal shows the `help` instead.

    `path` is a place in the document, as a diagnostic's is. `set` writes `value` there (adding the key when it
    is missing), `rename` renames that key to `value`, `remove` deletes the key and its value, and `insert` puts
    the layer `value` before the list item at `path`.
    """

    title: str  # what an editor's menu offers: "set `in_features: 400`"
    path: Path
    op: FixOp = "set"
    value: Any = field(default=None, hash=False)  # plain data, as YAML would load it


@dataclass(frozen=True)
class Diagnostic:
    """One finding: rendered by the CLI, carried by SpecError in the library."""

    code: str
    message: str
    severity: Severity = "error"
    span: Span | None = None
    path: Path = ()  # where in the document: ("layers", 6, "in_features")
    notes: tuple[str, ...] = ()
    help: str | None = None
    source: str | None = None  # the file, when there is no span to say it
    related: tuple[Related, ...] = ()  # other places it concerns, each shown with its own caret
    fixes: tuple[Fix, ...] = ()  # the edits that resolve it, for editors (never rendered in the terminal)

    def __post_init__(self) -> None:
        if self.code not in CODES:  # a typo in a code is a netspec bug, caught by the tests
            raise ValueError(f"unknown diagnostic code {self.code!r}")
        # messages quote the user's keys and values, which a hostile file can make megabytes long
        object.__setattr__(self, "message", _clip(self.message))
        object.__setattr__(self, "notes", tuple(_clip(n) for n in self.notes))
        if self.help is not None:
            object.__setattr__(self, "help", _clip(self.help))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def with_note(self, note: str) -> Diagnostic:
        return replace(self, notes=(*self.notes, note))


MAX_TEXT = 1000  # characters in a message, note or help


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


class SpecError(ValueError):
    """Raised by `load_spec`, `parse_spec`, `check` and friends; carries every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__(self.summary())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def exit_code(self) -> int:
        """The command line's: 2 when a file could not be read at all (a usage error), else 1."""
        return 2 if any(d.code == "io-error" for d in self.diagnostics) else 1

    def summary(self) -> str:
        errors = self.errors
        if not errors:
            return "no errors"
        first = errors[0]
        where = ""
        if first.span is not None:
            where = f"{first.span.source}:{first.span.line}:{first.span.col}: "
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{where}{first.code}: {first.message}{more}"

    def __str__(self) -> str:
        """The summary and the first error's help: what a traceback or a notebook shows of the error."""
        errors = self.errors
        if errors and errors[0].help:
            return f"{self.summary()}\n  help: {errors[0].help}"
        return self.summary()


def cannot_write(target: str | os.PathLike[str], error: OSError) -> SpecError:
    """The `io-error` for an output file that could not be written: its folder is a file, the disk is full, ..."""
    parent = os.path.dirname(target) or "."
    # mkdir(parents=True, exist_ok=True) says only "File exists" when the folder to make is a file
    reason = f"{parent} is a file, not a folder" if isinstance(error, FileExistsError) else error.strerror or str(error)
    return SpecError([Diagnostic("io-error", f"cannot write {target}: {reason}", source=str(target))])


def path_str(path: Path) -> str:
    """("layers", 6, "in_features") -> "layers[6].in_features"."""
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


def did_you_mean(word: str, choices: list[str], aliases: dict[str, str] | None = None) -> str | None:
    if aliases and word in aliases:
        return aliases[word]
    if len(word) > 100:  # no typo is that long, and difflib's cost grows with it
        return None
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    import difflib  # only when something is misspelt: `netspec check` on a good spec never needs it

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6) or difflib.get_close_matches(
        word.lower(), list(lowered), n=1, cutoff=0.6
    )
    if not close:
        return None
    return lowered.get(close[0], close[0])
