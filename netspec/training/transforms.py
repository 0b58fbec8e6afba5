"""The transforms a spec may name: torchvision.transforms.v2 classes, looked up in an allow-list.

Each record has the v2 class's name and argument names; `compose` turns a list of them into
a v2 pipeline (importing torchvision only then). `random` marks augmentations: they run per
sample during training and are left out of the validation pipeline by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..fields import Bool, Probability, Real, Size2
from .values import (
    channel_values,
    degrees,
    image_padding,
    jitter,
    positive_channel_values,
    type_shorthand,
    unit_range,
    value_range,
)

if TYPE_CHECKING:  # torch only in annotations: the schema imports this module without torch
    from torch import Tensor


Values = Annotated[tuple[float, ...], BeforeValidator(channel_values)]
PositiveValues = Annotated[tuple[float, ...], BeforeValidator(positive_channel_values)]
Range = Annotated[tuple[float, float], BeforeValidator(value_range)]
UnitRange = Annotated[tuple[float, float], BeforeValidator(unit_range)]
Degrees = Annotated[float | tuple[float, float], BeforeValidator(degrees)]
ImagePadding = Annotated[int | tuple[int, ...], BeforeValidator(image_padding)]
Jitter = Annotated[float, Field(ge=0), BeforeValidator(jitter)]
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
    BeforeValidator(type_shorthand),  # `- RandomHorizontalFlip` for `- {type: RandomHorizontalFlip}`
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
