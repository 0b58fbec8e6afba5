"""The transforms a spec may name: torchvision.transforms.v2 classes, looked up in an allow-list.

Each record has the v2 class's name and argument names; `compose` turns a list of them into
a v2 pipeline (importing torchvision only then). `random` marks augmentations: they run per
sample during training and are left out of the validation pipeline by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..fields import Bool, Probability, Real, Size2, invalid

if TYPE_CHECKING:  # torch only in annotations: the schema imports this module without torch
    from torch import Tensor


def _reals(v: Any, expected: str) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)) or not v:
        raise invalid(expected, v)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) != float("inf") for x in v):
        raise invalid(expected, v)
    return tuple(float(x) for x in v)


def _channel_values(v: Any) -> tuple[float, ...]:
    return _reals([v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v, "a number per channel")


def _positive_channel_values(v: Any) -> tuple[float, ...]:
    values = _channel_values(v)
    if min(values) <= 0:
        raise invalid("a positive number per channel", v)
    return values


def _range(v: Any) -> tuple[float, float]:
    expected = "a [low, high] pair of numbers with low ≤ high"
    values = _reals(v, expected)
    if len(values) != 2 or values[0] > values[1]:
        raise invalid(expected, v)
    return values[0], values[1]


def _unit_range(v: Any) -> tuple[float, float]:
    lo, hi = _range(v)
    if not 0 <= lo <= hi <= 1:
        raise invalid("a [low, high] pair between 0 and 1", v)
    return lo, hi


def _degrees(v: Any) -> float | tuple[float, float]:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v < 0:
            raise invalid("a number of degrees ≥ 0, or a [min, max] pair", v)
        return float(v)
    return _range(v)


def _image_padding(v: Any) -> int | tuple[int, ...]:
    expected = "an integer ≥ 0, or [left/right, top/bottom], or [left, top, right, bottom]"
    if _is_size(v):
        return int(v)
    if isinstance(v, (list, tuple)) and len(v) in (2, 4) and all(_is_size(x) for x in v):
        return tuple(v)
    raise invalid(expected, v)


def _is_size(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _jitter(v: Any) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
        raise invalid("a number ≥ 0", v)
    return float(v)


Values = Annotated[tuple[float, ...], BeforeValidator(_channel_values)]
PositiveValues = Annotated[tuple[float, ...], BeforeValidator(_positive_channel_values)]
Range = Annotated[tuple[float, float], BeforeValidator(_range)]
UnitRange = Annotated[tuple[float, float], BeforeValidator(_unit_range)]
Degrees = Annotated[float | tuple[float, float], BeforeValidator(_degrees)]
ImagePadding = Annotated[int | tuple[int, ...], BeforeValidator(_image_padding)]
Jitter = Annotated[float, Field(ge=0), BeforeValidator(_jitter)]
PaddingMode = Literal["constant", "edge", "reflect", "symmetric"]


class TransformBase(BaseModel):
    """Fields every transform has; `random` says whether it draws random numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    random: ClassVar[bool] = False


class Resize(TransformBase):
    type: Literal["Resize"]
    size: Size2  # an int resizes the shorter side, keeping the aspect ratio (torchvision's rule)
    antialias: Bool = True


class CenterCrop(TransformBase):
    type: Literal["CenterCrop"]
    size: Size2


class Pad(TransformBase):
    type: Literal["Pad"]
    padding: ImagePadding
    fill: Real = 0.0
    padding_mode: PaddingMode = "constant"


class Grayscale(TransformBase):
    type: Literal["Grayscale"]
    num_output_channels: Literal[1, 3] = 1


class Normalize(TransformBase):
    type: Literal["Normalize"]
    mean: Values
    std: PositiveValues


class RandomCrop(TransformBase):
    type: Literal["RandomCrop"]
    random = True
    size: Size2
    padding: ImagePadding | None = None
    pad_if_needed: Bool = False
    fill: Real = 0.0
    padding_mode: PaddingMode = "constant"


class RandomResizedCrop(TransformBase):
    type: Literal["RandomResizedCrop"]
    random = True
    size: Size2
    scale: UnitRange = (0.08, 1.0)
    ratio: Range = (3 / 4, 4 / 3)
    antialias: Bool = True


class RandomHorizontalFlip(TransformBase):
    type: Literal["RandomHorizontalFlip"]
    random = True
    p: Probability = 0.5


class RandomVerticalFlip(TransformBase):
    type: Literal["RandomVerticalFlip"]
    random = True
    p: Probability = 0.5


class RandomRotation(TransformBase):
    type: Literal["RandomRotation"]
    random = True
    degrees: Degrees
    fill: Real = 0.0


class RandomAffine(TransformBase):
    type: Literal["RandomAffine"]
    random = True
    degrees: Degrees
    translate: UnitRange | None = None  # the largest shift as a fraction of width and height
    scale: Range | None = None
    fill: Real = 0.0


class ColorJitter(TransformBase):
    type: Literal["ColorJitter"]
    random = True
    brightness: Jitter = 0.0
    contrast: Jitter = 0.0
    saturation: Jitter = 0.0
    hue: Annotated[float, Field(ge=0, le=0.5)] = 0.0


class RandomGrayscale(TransformBase):
    type: Literal["RandomGrayscale"]
    random = True
    p: Probability = 0.1


class RandomErasing(TransformBase):
    type: Literal["RandomErasing"]
    random = True
    p: Probability = 0.5
    scale: UnitRange = (0.02, 0.33)
    ratio: Range = (0.3, 3.3)
    value: Real = 0.0


def _bare(v: Any) -> Any:
    """`- RandomHorizontalFlip` is shorthand for `- {type: RandomHorizontalFlip}`."""
    return {"type": v} if isinstance(v, str) else v


Transform = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads best spelled out
        Resize,
        CenterCrop,
        Pad,
        Grayscale,
        Normalize,
        RandomCrop,
        RandomResizedCrop,
        RandomHorizontalFlip,
        RandomVerticalFlip,
        RandomRotation,
        RandomAffine,
        ColorJitter,
        RandomGrayscale,
        RandomErasing,
    ],
    Field(discriminator="type"),
    BeforeValidator(_bare),
]

# type name -> record: the allow-list; torchvision is only ever asked for these names
TRANSFORM_TYPES: dict[str, type[TransformBase]] = {cls.__name__: cls for cls in TransformBase.__subclasses__()}


def compose(transforms: Sequence[TransformBase]) -> Callable[[Tensor], Tensor]:
    """A torchvision v2 pipeline for float images in [0, 1], (C, H, W) or batched (N, C, H, W)."""
    from torchvision.transforms import v2

    steps = []
    for t in transforms:
        cls = getattr(v2, type(t).__name__)  # a name from TRANSFORM_TYPES, never from the spec directly
        kwargs = {k: getattr(t, k) for k in type(t).model_fields if k != "type"}
        steps.append(cls(**kwargs))
    pipeline: Callable[[Tensor], Tensor] = v2.Compose(steps) if steps else v2.Identity()  # Compose refuses []
    return pipeline
