"""The argument types of the layer records: pydantic's annotated types over the validators in values.py.

Each validator runs before pydantic's own check of the annotated type, which then always passes;
the annotated type (with its bounds) is what `netspec schema` shows editors. The fast path
(fastpath.py) calls the same validators without pydantic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from . import values as V
from .values import INT64_MAX, invalid, ntuple, pair, show

__all__ = ["INT64_MAX", "invalid", "ntuple", "pair", "show"]  # and the types below

_Pos = Annotated[int, Field(ge=1, le=INT64_MAX)]
_NonNeg = Annotated[int, Field(ge=0, le=INT64_MAX)]
PositiveInt = Annotated[_Pos, BeforeValidator(V.positive)]
NonNegativeInt = Annotated[_NonNeg, BeforeValidator(V.non_negative_int)]
# One value per spatial axis, or one for all: the 1-d, 2-d and 3-d layers' kernel_size, stride, padding, ...
Size1 = Annotated[_Pos | tuple[_Pos], BeforeValidator(V.size1)]
Size2 = Annotated[_Pos | tuple[_Pos, _Pos], BeforeValidator(V.size2)]
Size3 = Annotated[_Pos | tuple[_Pos, _Pos, _Pos], BeforeValidator(V.size3)]
Pad1 = Annotated[_NonNeg | tuple[_NonNeg], BeforeValidator(V.pad1)]
Pad2 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg], BeforeValidator(V.pad2)]
Pad3 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg], BeforeValidator(V.pad3)]
_SameValid = Literal["same", "valid"]
ConvPadding1 = Annotated[_NonNeg | tuple[_NonNeg] | _SameValid, BeforeValidator(V.conv_padding1)]
ConvPadding = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg] | _SameValid, BeforeValidator(V.conv_padding2)]
ConvPadding3 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg] | _SameValid, BeforeValidator(V.conv_padding3)]
Pad4 = Annotated[_NonNeg | tuple[_NonNeg, _NonNeg, _NonNeg, _NonNeg], BeforeValidator(V.pad4)]
OutputSize1 = Annotated[_Pos | tuple[_Pos | None], BeforeValidator(V.output_size1)]
OutputSize = Annotated[_Pos | tuple[_Pos | None, _Pos | None], BeforeValidator(V.output_size2)]
OutputSize3 = Annotated[_Pos | tuple[_Pos | None, _Pos | None, _Pos | None], BeforeValidator(V.output_size3)]
Dim = Annotated[int, Field(ge=-V.MAX_DIM, le=V.MAX_DIM), BeforeValidator(V.dim)]
Real = Annotated[float, BeforeValidator(V.real)]
Probability = Annotated[float, Field(ge=0, le=1), BeforeValidator(V.probability)]
PositiveReal = Annotated[float, Field(gt=0), BeforeValidator(V.positive_real)]
Bool = Annotated[bool, BeforeValidator(V.boolean)]
