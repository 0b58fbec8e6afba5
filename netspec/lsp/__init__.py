"""`netspec lsp`: a language server that shows `netspec check` in the editor, as you type.

Diagnostics (the CLI's codes, messages, places and help), each layer's output shape and parameters at the end of its
line, hover with shapes, counts and torch's documentation, quick fixes from the fixes diagnostics carry, completion
of layer kinds and arguments, and an outline. It is a thin adapter: every finding comes from `parse_spec` and `check`.
Needs the `lsp` extra (pygls and lsprotocol); nothing else in netspec imports this package.
"""

from __future__ import annotations

import importlib

from ..diagnostics import Diagnostic, SpecError

REQUIRED = ("pygls.lsp.server", "lsprotocol.types")  # pygls 2's module layout: pygls 1 lacks pygls.lsp.server


def require() -> None:
    """Raise a `missing-dependency` diagnostic unless pygls 2 and lsprotocol can be imported."""
    missing = []
    for module in REQUIRED:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module.split(".")[0])
    if missing:
        raise SpecError(
            [
                Diagnostic(
                    "missing-dependency",
                    f"the language server needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
                    " not installed (or too old: pygls 2 or newer)",
                    help="pip install 'netspec[lsp]' (or: pip install 'pygls>=2' lsprotocol)",
                )
            ]
        )


def serve() -> None:
    """Run the language server on stdin and stdout."""
    require()
    from .server import serve as run

    run()
