"""Argument validators: plain functions, shared by the pydantic records and the fast path.

Each is strict (a bool is not an int, 6.5 channels is not 6) and returns the value as the record
holds it, or raises `invalid(...)`, whose message reads as the end of a sentence starting with the
argument's name: "must be a positive integer, got 6.5". `spec.py` turns these into diagnostics.

Nothing here imports pydantic until a value is wrong: `netspec check` on a correct spec never loads
it (see fastpath.py). `fields.py` wraps these as the records' annotated types.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic_core import PydanticCustomError

INT64_MAX = 2**63 - 1  # torch sizes are int64; anything larger cannot be built


SHOW_LIMIT = 120  # characters: aliases can repeat a huge value thousands of times in one message


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """A value as the user wrote it in YAML, cut off with … past `limit` characters."""
    parts: list[str] = []
    room = limit

    def put(text: str) -> bool:
        nonlocal room
        parts.append(text[: max(room, 0)])
        room -= len(text)
        return room >= 0

    def walk(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return put("[") and all((i == 0 or put(", ")) and walk(x) for i, x in enumerate(v)) and put("]")
        if isinstance(v, dict):
            items = enumerate(v.items())
            return (
                put("{")
                and all((i == 0 or put(", ")) and put(f"{_scalar(k, room)}: ") and walk(x) for i, (k, x) in items)
                and put("}")
            )
        return put(_scalar(v, room, quote=True))

    walk(value)
    return "".join(parts) + ("…" if room < 0 else "")


def _scalar(value: Any, room: int, quote: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value[: max(room, 0) + 1]  # enough to overflow the budget, never the whole string
        return f'"{text}"' if quote else text
    if isinstance(value, int) and value.bit_length() > 200:
        return f"a {len(str(value)):,}-digit integer"
    return str(value)


def custom_error(kind: str, message: str, context: dict[str, Any] | None = None) -> PydanticCustomError:
    """The error a validator raises: pydantic's, imported here so that a spec without errors never loads it."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError(kind, message, context)


def invalid(expected: str, value: Any) -> PydanticCustomError:
    return custom_error("invalid-value", "must be {expected}, got {got}", {"expected": expected, "got": show(value)})


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int(v: Any, lo: int, expected: str) -> int:
    if not _is_int(v) or v < lo or v > INT64_MAX:
        if _is_int(v) and v > INT64_MAX:
            expected += " no larger than 2^63 - 1 (torch's int64 limit)"
        raise invalid(expected, v)
    return int(v)


def _int_or_tuple(v: Any, n: int, lo: int, expected: str, none_ok: bool = False) -> int | tuple[Any, ...]:
    if isinstance(v, (list, tuple)):
        if len(v) != n or not all((none_ok and x is None) or (_is_int(x) and lo <= x <= INT64_MAX) for x in v):
            raise invalid(expected, v)
        return tuple(v)
    return _int(v, lo, expected)


# The validators, by the name `fields.py` and the fast path's table use (one per argument type)


def positive(v: Any) -> int:
    return _int(v, 1, "a positive integer")


def non_negative_int(v: Any) -> int:
    return _int(v, 0, "an integer ≥ 0")


# How an argument with one value per spatial axis is written: `3` for all, or one per axis
_PER_AXIS = {1: "a [length] list", 2: "a [height, width] pair", 3: "a [depth, height, width] triple"}


class _PerAxis:
    """One value for every axis or one per axis (kernel_size, stride, padding, output_size, ...)."""

    def __init__(self, n: int, lo: int, expected: str, none_ok: bool = False) -> None:
        self.n, self.lo, self.expected, self.none_ok = n, lo, expected, none_ok

    def __call__(self, v: Any) -> Any:
        return _int_or_tuple(v, self.n, self.lo, self.expected, none_ok=self.none_ok)


class _ConvPadding(_PerAxis):
    def __call__(self, v: Any) -> Any:
        if v in ("same", "valid"):
            return str(v)
        return super().__call__(v)


def _sizes(n: int) -> _PerAxis:
    return _PerAxis(n, 1, f"a positive integer or {_PER_AXIS[n]} of them")


def _pads(n: int) -> _PerAxis:
    return _PerAxis(n, 0, f"an integer ≥ 0 or {_PER_AXIS[n]} of them")


def _conv_paddings(n: int) -> _ConvPadding:
    return _ConvPadding(n, 0, f'an integer ≥ 0, {_PER_AXIS[n]} of them, "same" or "valid"')


def _output_sizes(n: int) -> _PerAxis:
    return _PerAxis(n, 1, f"a positive integer or {_PER_AXIS[n]} (null keeps the input size)", none_ok=True)


size1, size2, size3 = _sizes(1), _sizes(2), _sizes(3)
pad1, pad2, pad3 = _pads(1), _pads(2), _pads(3)
conv_padding1, conv_padding2, conv_padding3 = _conv_paddings(1), _conv_paddings(2), _conv_paddings(3)
output_size1, output_size2, output_size3 = _output_sizes(1), _output_sizes(2), _output_sizes(3)
pad4 = _PerAxis(4, 0, "an integer ≥ 0 or a [left, right, top, bottom] list of them")


MAX_DIM = 64  # a dimension index beyond any tensor a spec can make


def dim(v: Any) -> int:
    if not _is_int(v) or abs(v) > MAX_DIM:
        raise invalid("an integer dimension index", v)
    return int(v)


def real(v: Any, expected: str = "a finite number") -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        raise invalid(expected, v)
    return float(v)


def probability(v: Any) -> float:
    x = real(v, "a probability between 0 and 1")
    if not 0.0 <= x <= 1.0:
        raise invalid("a probability between 0 and 1", v)
    return x


def positive_real(v: Any) -> float:
    x = real(v, "a number > 0")
    if x <= 0:
        raise invalid("a number > 0", v)
    return x


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise invalid("true or false", v)
    return v


def pair(v: int | tuple[Any, ...]) -> tuple[Any, Any]:
    """torch's `_pair`: 3 -> (3, 3); (3, 5) stays."""
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def ntuple(v: int | tuple[Any, ...] | None, n: int) -> tuple[Any, ...]:
    """torch's `_ntuple(n)`: 3 -> (3,) * n; a tuple stays."""
    return (v,) * n if isinstance(v, int) or v is None else tuple(v)


# -- arguments of one layer kind ----------------------------------------------------------


def size_list(v: Any) -> Any:
    """Upsample's `size`: a positive integer for every axis, or one per axis."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if not 1 <= len(v) <= 3:
            raise invalid("a positive integer or a list of one per spatial axis", v)
        return tuple(_size_item(x) for x in v)
    return _size_item(v)


def _size_item(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= INT64_MAX:
        raise invalid("a positive integer or a list of one per spatial axis", v)
    return v


def scale_factor(v: Any) -> Any:
    """Upsample's `scale_factor`: a number > 0, or one per axis."""
    if v is None:
        return None
    values = v if isinstance(v, (list, tuple)) else [v]
    if isinstance(v, (list, tuple)) and not 1 <= len(v) <= 3:
        raise invalid("a number > 0 or a list of one per spatial axis", v)
    for x in values:
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x) or x <= 0:
            raise invalid("a number > 0 or a list of one per spatial axis", v)
    return tuple(float(x) for x in v) if isinstance(v, (list, tuple)) else float(v)


def unflattened_size(v: Any) -> Any:
    """Unflatten's sizes: positive integers, at most one -1 (inferred, as torch infers it)."""
    if (
        not isinstance(v, (list, tuple))
        or not v
        or not all(isinstance(x, int) and not isinstance(x, bool) and (1 <= x <= INT64_MAX or x == -1) for x in v)
        or list(v).count(-1) > 1
    ):
        raise invalid("a list of positive sizes, one of which may be -1", v)
    return tuple(v)


def normalized_shape(v: Any) -> Any:
    """LayerNorm's `normalized_shape`: a size, or the sizes of the last dims."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if not v or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= INT64_MAX for x in v):
            raise invalid("a positive integer or a list of the last dims' sizes", v)
        return tuple(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= INT64_MAX:
        raise invalid("a positive integer or a list of the last dims' sizes", v)
    return v


def token_index(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not -INT64_MAX <= v <= INT64_MAX:
        raise invalid("an integer (a token id; negative counts from the end of the vocabulary)", v)
    return v


def count(v: Any) -> int:
    """An integer ≥ 0: LSTM's `proj_size`, a spec's `seed`, the trainer's `seed` and `num_workers`."""
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= INT64_MAX:
        raise invalid("an integer ≥ 0", v)
    return v


# -- the spec's own ---------------------------------------------------------------------------

SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def spec_name(v: Any) -> str:
    if not isinstance(v, str) or not SPEC_NAME.fullmatch(v) or len(v) > 100:
        raise invalid("a short name of letters, digits, '.', '_' and '-' (it names the run directory)", v)
    return v
