"""A spec's `input`: one sample's shape at any rank, the names of its dims, and token ids for Embedding.

    input: [784]                                   # (F): a vector
    input: [1, 16000]                              # (C, L): a signal (audio)
    input: [3, 32, 32]                             # (C, H, W): an image
    input: [3, 16, 112, 112]                       # (C, D, H, W): a volume (video, medical)
    input: {shape: [100, 64], dims: [L, F]}        # a sequence of 100 steps of 64 features
    input: {shape: [200], tokens: 20000}           # 200 token ids below 20,000 (int64), for Embedding

`Input` is the shape as a tuple (the batch N stays implicit), so `torch.zeros(2, *spec.input)`
works as before, with the dims' names and the vocabulary size beside it.
"""

from __future__ import annotations

import re
from typing import Any

from .values import INT64_MAX, custom_error, invalid, show

MAX_RANK = 4  # a sample of (C, D, H, W): a 5-D tensor with the batch, torch's largest convolution
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
_KEYS = ("shape", "dims", "tokens")
# the dims' names when the spec gives none, by rank; token ids are a sequence
DEFAULT_DIMS = {1: ("F",), 2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}
TOKEN_DIMS = {1: ("L",), 2: ("L", "K")}

EXPECTED = (
    "a list of 1 to 4 positive sizes ([features], [channels, length], [channels, height, width] or"
    " [channels, depth, height, width]), or a mapping {shape, dims, tokens}"
)


class Input(tuple[int, ...]):
    """One sample's shape (a tuple of ints), with `.dims` (their names) and `.tokens` (the vocabulary, or None)."""

    dims: tuple[str, ...]
    tokens: int | None

    def __new__(cls, shape: Any, dims: tuple[str, ...] | None = None, tokens: int | None = None) -> Input:
        self = super().__new__(cls, shape)
        self.dims = dims if dims is not None else default_dims(len(self), tokens)
        self.tokens = tokens
        return self

    def __eq__(self, other: object) -> bool:
        same = tuple.__eq__(self, other)
        if isinstance(other, Input) and same is True:
            return (self.dims, self.tokens) == (other.dims, other.tokens)
        return same  # against a plain tuple, the sizes alone

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        extra = f", dims={list(self.dims)}" if self.dims != default_dims(len(self), self.tokens) else ""
        extra += f", tokens={self.tokens}" if self.tokens is not None else ""
        return f"Input({list(self)}{extra})" if extra else repr(tuple(self))

    @property
    def plain(self) -> bool:
        """Sizes alone: written as a list."""
        return self.tokens is None and self.dims == default_dims(len(self), None)

    def resized(self, shape: tuple[int, ...]) -> Input:
        """The same kind of input with other sizes; the names are kept when the rank is."""
        return Input(shape, self.dims if len(shape) == len(self) else None, self.tokens)


def default_dims(rank: int, tokens: int | None) -> tuple[str, ...]:
    table = TOKEN_DIMS if tokens is not None else DEFAULT_DIMS
    return table.get(rank, tuple(f"d{i + 1}" for i in range(rank)))


def parse(value: Any) -> Input:
    """`input` as written, validated; raises pydantic's error whose text ends a sentence about `input`."""
    if isinstance(value, Input):
        return value
    if isinstance(value, dict):
        unknown = [k for k in value if k not in _KEYS]
        if unknown:
            raise custom_error(
                "invalid-value",
                "`input` takes `shape`, `dims` and `tokens`, not `{key}`",
                {"key": str(unknown[0])[:100], "at": (unknown[0],)},
            )
        if "shape" not in value:
            raise custom_error("invalid-value", "`input` needs `shape`: the sizes, which `dims` may name", {})
        shape = _sizes(value["shape"], ("shape",))
        tokens = value.get("tokens")
        if tokens is not None and (
            not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= INT64_MAX
        ):
            raise custom_error(
                "invalid-value",
                "`tokens` must be the vocabulary size, a positive integer, got {got}",
                {"got": show(tokens), "at": ("tokens",)},
            )
        if tokens is not None and len(shape) > 2:
            raise custom_error(
                "invalid-value",
                "`input` of token ids has shape [length] (or [length, k]), got {got}",
                {"got": show(list(shape)), "at": ("shape",)},
            )
        dims = value.get("dims")
        if dims is not None:
            if (
                not isinstance(dims, list)
                or len(dims) != len(shape)
                or not all(isinstance(d, str) and _NAME.fullmatch(d) for d in dims)
            ):
                raise custom_error(
                    "invalid-value",
                    "`dims` must name each of the {n} dims of `shape` (a short name such as L or F), got {got}",
                    {"n": len(shape), "got": show(dims), "at": ("dims",)},
                )
            if len(set(dims)) != len(dims):
                raise custom_error(
                    "invalid-value", "`dims` names a dim twice: {got}", {"got": show(dims), "at": ("dims",)}
                )
            return Input(shape, tuple(dims), tokens)
        return Input(shape, None, tokens)
    return Input(_sizes(value, ()))


def _sizes(value: Any, at: tuple[str, ...]) -> tuple[int, ...]:
    ok = isinstance(value, (list, tuple)) and 1 <= len(value) <= MAX_RANK
    if not ok or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= INT64_MAX for d in value):
        error = invalid(EXPECTED if not at else "a list of 1 to 4 positive sizes", value)
        if at:
            raise custom_error(error.type, "`shape` " + error.message(), {"at": at})
        raise error
    return tuple(value)


def dump(value: Input) -> Any:
    """As a spec writes it: a list, or the mapping when it has names or tokens."""
    if value.plain:
        return list(value)
    out: dict[str, Any] = {"shape": list(value)}
    if value.dims != default_dims(len(value), value.tokens):
        out["dims"] = list(value.dims)
    if value.tokens is not None:
        out["tokens"] = value.tokens
    return out


_SIZE = {"type": "integer", "minimum": 1, "maximum": INT64_MAX}
JSON_SCHEMA = {
    "anyOf": [
        {"type": "array", "items": _SIZE, "minItems": 1, "maxItems": MAX_RANK},
        {
            "type": "object",
            "properties": {
                "shape": {"type": "array", "items": _SIZE, "minItems": 1, "maxItems": MAX_RANK},
                "dims": {"type": "array", "items": {"type": "string", "pattern": f"^{_NAME.pattern}$"}},
                "tokens": {"type": "integer", "minimum": 1, "description": "token ids below this (int64)"},
            },
            "required": ["shape"],
            "additionalProperties": False,
        },
    ]
}


class Tokens(tuple[int | None, ...]):
    """The dims of a tensor of token ids (int64) below `vocab`, as the checker carries them to an Embedding."""

    vocab: int

    def __new__(cls, dims: Any, vocab: int) -> Tokens:
        self = super().__new__(cls, dims)
        self.vocab = vocab
        return self
