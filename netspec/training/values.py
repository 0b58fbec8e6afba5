"""The validators of the `train:` section's arguments: plain functions (see netspec/values.py).

`config.py` and `transforms.py` wrap them as pydantic's annotated types; the fast path calls them as they are.
"""

from __future__ import annotations

import re
from typing import Any

from ..values import custom_error, invalid

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")  # the names `device` takes


def non_negative(v: Any) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < float("inf"):
        raise invalid("a number ≥ 0", v)
    return float(v)


def fraction(v: Any) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < 1:
        raise invalid("a fraction between 0 and 1 (exclusive)", v)
    return float(v)


def betas(v: Any) -> tuple[float, float]:
    expected = "a [beta1, beta2] pair of numbers in [0, 1)"
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise invalid(expected, v)
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in v):
        raise invalid(expected, v)
    return float(v[0]), float(v[1])


def path(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise invalid("a file or folder path", v)
    return v


def device(v: Any) -> str:
    if not isinstance(v, str) or not DEVICE.fullmatch(v):
        raise invalid('"auto", "cpu", "cuda", "cuda:N" or "mps"', v)
    return v


def one_test_split(record: Any) -> None:
    """A dataset names its test split once: `test_fraction` or `test_path`."""
    if record.test_fraction is not None and record.test_path is not None:
        raise custom_error(
            "invalid-value", "`test_fraction` and `test_path` both name a test split: give one", {"at": ("test_path",)}
        )


def nesterov_needs_momentum(record: Any) -> None:
    """SGD's `nesterov` needs momentum: torch refuses the combination when the optimizer is made."""
    if record.nesterov and record.momentum == 0:
        raise custom_error("invalid-value", "`nesterov` needs a `momentum` above 0", {"at": ("nesterov",)})


def type_shorthand(v: Any) -> Any:
    """`optimizer: Adam` is shorthand for `optimizer: {type: Adam}` (the same for `scheduler` and `loss`)."""
    return {"type": v} if isinstance(v, str) else v


def name_shorthand(v: Any) -> Any:
    """`dataset: digits` is shorthand for `dataset: {name: digits}`."""
    return {"name": v} if isinstance(v, str) else v


def class_weights(v: Any) -> tuple[float, ...]:
    expected = "a list of numbers ≥ 0, one per class"
    if not isinstance(v, (list, tuple)) or not v:
        raise invalid(expected, v)
    if not all(isinstance(w, (int, float)) and not isinstance(w, bool) and 0 <= w < float("inf") for w in v):
        raise invalid(expected, v)
    if not any(v):
        raise invalid("a list of numbers ≥ 0, one per class, not all 0", v)
    return tuple(float(w) for w in v)


def patience_shorthand(v: Any) -> Any:
    """`early_stopping: 5` is shorthand for `early_stopping: {patience: 5}`."""
    return {"patience": v} if isinstance(v, int) and not isinstance(v, bool) else v


# -- transforms----------------------------------------------------------------------


def _reals(v: Any, expected: str) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)) or not v:
        raise invalid(expected, v)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) != float("inf") for x in v):
        raise invalid(expected, v)
    return tuple(float(x) for x in v)


def channel_values(v: Any) -> tuple[float, ...]:
    return _reals([v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v, "a number per channel")


def positive_channel_values(v: Any) -> tuple[float, ...]:
    values = channel_values(v)
    if min(values) <= 0:
        raise invalid("a positive number per channel", v)
    return values


def value_range(v: Any) -> tuple[float, float]:
    expected = "a [low, high] pair of numbers with low ≤ high"
    values = _reals(v, expected)
    if len(values) != 2 or values[0] > values[1]:
        raise invalid(expected, v)
    return values[0], values[1]


def unit_range(v: Any) -> tuple[float, float]:
    lo, hi = value_range(v)
    if not 0 <= lo <= hi <= 1:
        raise invalid("a [low, high] pair between 0 and 1", v)
    return lo, hi


def degrees(v: Any) -> float | tuple[float, float]:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v < 0:
            raise invalid("a number of degrees ≥ 0, or a [min, max] pair", v)
        return float(v)
    return value_range(v)


def image_padding(v: Any) -> int | tuple[int, ...]:
    expected = "an integer ≥ 0, or [left/right, top/bottom], or [left, top, right, bottom]"
    if _is_size(v):
        return int(v)
    if isinstance(v, (list, tuple)) and len(v) in (2, 4) and all(_is_size(x) for x in v):
        return tuple(v)
    raise invalid(expected, v)


def _is_size(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def jitter(v: Any) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0:  # NaN is not ≥ 0
        raise invalid("a number ≥ 0", v)
    return float(v)
