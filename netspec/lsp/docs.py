"""What hover and completion say about a layer kind and its arguments: torch's own documentation, one line each.

torch's words come from its docstrings (the summary sentence, and each argument under `Args:`), extracted once by
`python -m netspec.lsp.docs` into torch_docs.json beside this file, so that the server never imports torch. Run it
again after adding a layer kind (a test says so when one is missing). Blocks, and the arguments netspec adds to
every layer, are netspec's own and described here.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..layers import BLOCK_TYPES, KINDS, LAYER_TYPES

DATA = Path(__file__).with_name("torch_docs.json")
URL = "https://docs.pytorch.org/docs/stable/generated/torch.nn.{}.html"

# What every layer may carry besides torch's arguments, and the blocks' own arguments.
NETSPEC_ARGS = {
    "name": "the submodule's name, its `state_dict` prefix (default: the kind's stem and a number, `conv1`)",
    "init": "how the weight is initialised (`kaiming_normal`, `xavier_uniform`, `normal`, `zeros`, ...);"
    " the bias then starts at zero",
    "repeat": "this many copies of the layer in its place (`$i` is the copy's index, from 0)",
    "when": "the layer exists only where this is true, e.g. `${stride != 1}`",
}
# What torch's docstrings leave out, in netspec's words.
_MORE = {
    ("ConstantPad2d", "value"): "the value the padding is filled with",
    ("SiLU", "inplace"): "can optionally do the operation in-place. Default: `False`",
    ("Mish", "inplace"): "can optionally do the operation in-place. Default: `False`",
    **{
        (f"ConvTranspose{n}d", "padding_mode"): "must be `zeros`, the only mode torch implements for transposed"
        " convolutions. Default: `zeros`"
        for n in (1, 2, 3)
    },
    **{
        (kind, "output"): "netspec's: what the layer passes on, `sequence` (every step, (N, L, D·H)) or `last`"
        " (each direction's final state, (N, D·H)). Default: `sequence`"
        for kind in ("RNN", "LSTM", "GRU")
    },
    ("TransformerEncoder", "mask_check"): "whether to check that a given source mask is well formed. Default: `True`",
    **{
        (f"LPPool{n}d", "norm_type"): "the power p of the norm: p = 1 is a sum pool, large p a max pool" for n in (1, 2)
    },
}
BLOCK_ARGS = {
    "layers": "the layers, run in order",
    "body": "the main branch: a list of layers",
    "shortcut": "the branch added to the body; the identity when empty",
    "after": "layers run on the joined tensor",
    "branches": "the branches, each a list of layers (`[]` is the identity)",
    "dim": "the dimension the branches are concatenated along (1: channels)",
}


@functools.cache
def _torch() -> dict[str, Any]:
    try:
        return dict(json.loads(DATA.read_text(encoding="utf-8"))["kinds"])
    except (OSError, ValueError, KeyError):  # an install without the data file: hover still shows the shapes
        return {}


def summary(kind: str) -> str | None:
    """One sentence on what the kind does: torch's, or for a block netspec's own."""
    if kind in BLOCK_TYPES:
        doc = BLOCK_TYPES[kind].__doc__ or ""
        return " ".join(doc.split()) or None
    entry = _torch().get(kind)
    return entry.get("summary") if entry else None


def argument(kind: str, name: str) -> str | None:
    """One line on an argument of the kind."""
    if kind in BLOCK_TYPES and name in BLOCK_ARGS:
        return BLOCK_ARGS[name]
    entry = _torch().get(kind)
    found = entry.get("args", {}).get(name) if entry else None
    return found or _MORE.get((kind, name)) or NETSPEC_ARGS.get(name)


def url(kind: str) -> str | None:
    return URL.format(kind) if kind in LAYER_TYPES else None


# -- extracting torch's docstrings (imports torch: only `python -m netspec.lsp.docs` runs this) ------------------

_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")  # :attr:`stride`, :class:`~nn.Sequential`, :ref:`x<y>`
_TEXT = re.compile(r"\\(?:text|mathrm)\{([^}]*)\}")
_SUBSCRIPT = re.compile(r"_\{(\w+)\}")  # H_{out} -> H_out
_SYMBOLS = {"\\times": "×", "\\alpha": "α", "\\log": "log", "\\exp": "exp", "\\_": "_"}
_ARG = re.compile(r"(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_MAX = 220  # characters of one argument's description


def _clean(text: str) -> str:
    text = _ROLE.sub(lambda m: f"`{m.group(1).strip()}`", text)
    text = _SUBSCRIPT.sub(r"_\1", _TEXT.sub(r"\1", text)).replace("``", "`")
    for symbol, plain in _SYMBOLS.items():
        text = text.replace(symbol, plain)
    return " ".join(text.split())


def _first_sentence(text: str) -> str:
    match = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    return text[: match.start() + 1] if match else text


def _shorten(text: str) -> str:
    """An argument's description, cut to its first sentence (and its `Default:`) when it is long."""
    if len(text) <= _MAX:
        return text
    default = re.search(r"Default:?\s*(.*)$", text)
    first = _first_sentence(text)
    return first + (f" Default: {default.group(1)}" if default and default.group(1) not in first else "")


def parse_docstring(doc: str) -> dict[str, Any]:
    """A torch.nn class docstring's summary sentence and its `Args:` entries, as plain text."""
    lines = doc.expandtabs().splitlines()
    if lines and lines[0].startswith("__init__("):  # the recurrent classes open with their signature
        lines = lines[1:]
    paragraph: list[str] = []
    for line in lines:
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    args: dict[str, str] = {}
    start = next((i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:")), None)
    if start is not None:
        head = len(lines[start]) - len(lines[start].lstrip())
        indent: int | None = None
        name = None
        for line in lines[start + 1 :]:
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            if depth <= head:
                break  # the next section (`Shape:`, `Examples::`)
            match = _ARG.fullmatch(line.strip())
            if (indent is None or depth == indent) and match:
                indent = depth
                name = match.group(1)
                args[name] = match.group(2)
            elif name is not None:
                args[name] += " " + line.strip()
    return {
        "summary": _first_sentence(_clean(" ".join(paragraph))),
        "args": {k: _shorten(_clean(v)) for k, v in args.items()},
    }


def generate() -> dict[str, Any]:
    """torch's documentation of every layer kind netspec has, from the installed torch's docstrings."""
    import torch
    from torch import nn

    kinds = {kind: parse_docstring(getattr(nn, kind).__doc__ or "") for kind in LAYER_TYPES}
    return {"torch": torch.__version__.split("+")[0], "kinds": kinds}


def text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> int:
    DATA.write_text(text(generate()), encoding="utf-8")
    missing = [f"{k}.{a}" for k in LAYER_TYPES for a in arguments(k) if argument(k, a) is None]
    print(f"wrote {DATA}" + (f"; torch documents no {', '.join(missing)}" if missing else ""))
    return 0


def arguments(kind: str) -> list[str]:
    """The arguments a spec may give the kind (torch's, and netspec's `name` and `init`), in the record's order."""
    return [f for f in KINDS[kind].model_fields if f != "type"]


if __name__ == "__main__":
    sys.exit(main())
