"""Argument types shared by the layer records, with torch's accepted forms and clear errors.

Each type is a strict validator (a bool is not an int, 6.5 channels is not 6) whose error
reads as the end of a sentence starting with the argument's name: "must be a positive
integer, got 6.5". `spec.py` turns these into diagnostics.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
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


def invalid(expected: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "invalid-value", "must be {expected}, got {got}", {"expected": expected, "got": show(value)}
    )


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


def _positive(v: Any) -> int:
    return _int(v, 1, "a positive integer")


# How an argument with one value per spatial axis is written: `3` for all, or one per axis
_PER_AXIS = {1: "a [length] list", 2: "a [height, width] pair", 3: "a [depth, height, width] triple"}


def _sizes(n: int) -> Any:
    return lambda v: _int_or_tuple(v, n, 1, f"a positive integer or {_PER_AXIS[n]} of them")


def _pads(n: int) -> Any:
    return lambda v: _int_or_tuple(v, n, 0, f"an integer ≥ 0 or {_PER_AXIS[n]} of them")


def _conv_paddings(n: int) -> Any:
    def validate(v: Any) -> int | str | tuple[Any, ...]:
        if v in ("same", "valid"):
            return str(v)
        return _int_or_tuple(v, n, 0, f'an integer ≥ 0, {_PER_AXIS[n]} of them, "same" or "valid"')

    return validate


def _output_sizes(n: int) -> Any:
    return lambda v: _int_or_tuple(
        v, n, 1, f"a positive integer or {_PER_AXIS[n]} (null keeps the input size)", none_ok=True
    )


def _pad4(v: Any) -> int | tuple[Any, ...]:
    return _int_or_tuple(v, 4, 0, "an integer ≥ 0 or a [left, right, top, bottom] list of them")


MAX_DIM = 64  # a dimension index beyond any tensor a spec can make


def _dim(v: Any) -> int:
    if not _is_int(v) or abs(v) > MAX_DIM:
        raise invalid("an integer dimension index", v)
    return int(v)


def _real(v: Any, expected: str = "a finite number") -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        raise invalid(expected, v)
    return float(v)


def _prob(v: Any) -> float:
    x = _real(v, "a probability between 0 and 1")
    if not 0.0 <= x <= 1.0:
        raise invalid("a probability between 0 and 1", v)
    return x


def _positive_real(v: Any) -> float:
    x = _real(v, "a number > 0")
    if x <= 0:
        raise invalid("a number > 0", v)
    return x


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise invalid("true or false", v)
    return v


# Each validator runs before pydantic's own check of the annotated type, which then always
# passes; the annotated type (with its bounds) is what `netspec schema` shows editors.
_Pos = Annotated[int, Field(ge=1, le=INT64_MAX)]
_NonNeg = Annotated[int, Field(ge=0, le=INT64_MAX)]
PositiveInt = Annotated[_Pos, BeforeValidator(_positive)]
NonNegativeInt = Annotated[_NonNeg, BeforeValidator(lambda v: _int(v, 0, "an integer ≥ 0"))]
# One value per spatial axis, or one for all: the 1-d, 2-d and 3-d layers' kernel_size, stride, padding, ...
Size1 = Annotated[_Pos | tuple[_Pos], BeforeValidator(_sizes(1))]
Size2 = Annotated[_Pos | tuple[_Pos, _Pos], BeforeValidator(_sizes(2))]
Size3 = Annotated[_Pos | tuple[_Pos, _Pos, _Pos], BeforeValidator(_sizes(3))]
Pad1 = Annotated[_NonNeg | tuple[_NonNeg], BeforeValidator(_pads(1))]
Pad2 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg], BeforeValidator(_pads(2))]
Pad3 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg], BeforeValidator(_pads(3))]
_SameValid = Literal["same", "valid"]
ConvPadding1 = Annotated[_NonNeg | tuple[_NonNeg] | _SameValid, BeforeValidator(_conv_paddings(1))]
ConvPadding = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg] | _SameValid, BeforeValidator(_conv_paddings(2))]
ConvPadding3 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg] | _SameValid, BeforeValidator(_conv_paddings(3))]
Pad4 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg, _NonNeg], BeforeValidator(_pad4)]
OutputSize1 = Annotated[_Pos | tuple[_Pos | None], BeforeValidator(_output_sizes(1))]
OutputSize = Annotated[_Pos | tuple[_Pos | None, _Pos | None], BeforeValidator(_output_sizes(2))]
OutputSize3 = Annotated[_Pos | tuple[_Pos | None, _Pos | None, _Pos | None], BeforeValidator(_output_sizes(3))]
Dim = Annotated[int, Field(ge=-MAX_DIM, le=MAX_DIM), BeforeValidator(_dim)]
Real = Annotated[float, BeforeValidator(_real)]
Probability = Annotated[float, Field(ge=0, le=1), BeforeValidator(_prob)]
PositiveReal = Annotated[float, Field(gt=0), BeforeValidator(_positive_real)]
Bool = Annotated[bool, BeforeValidator(_bool)]


def pair(v: int | tuple[Any, ...]) -> tuple[Any, Any]:
    """torch's `_pair`: 3 -> (3, 3); (3, 5) stays."""
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def ntuple(v: int | tuple[Any, ...] | None, n: int) -> tuple[Any, ...]:
    """torch's `_ntuple(n)`: 3 -> (3,) * n; a tuple stays."""
    return (v,) * n if isinstance(v, int) or v is None else tuple(v)
