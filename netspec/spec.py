"""The spec document: its pydantic model, and loading it from YAML with positioned errors."""

from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    SerializeAsAny,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from . import inputs
from .blocks import Origins, expand
from .diagnostics import Diagnostic, SpecError
from .inputs import Input
from .kinds import branches_of, first_duplicate
from .layers import InitArg, LayerBase, LayerItem
from .source import SourceMap, at, gc_paused, load_yaml, named, read_spec
from .validation import translate
from .values import INT64_MAX, SPEC_NAME, count, spec_name


def _unique_names(layers: list[LayerBase]) -> list[LayerBase]:
    """Names are unique within each scope: the top level, each Sequential, each block (all its branches)."""
    found = first_duplicate(layers)
    if found is not None:
        raise _duplicate(*found)
    return layers


def _duplicate(
    where: tuple[Any, ...], first: tuple[Any, ...], second: tuple[Any, ...], name: str
) -> PydanticCustomError:
    return PydanticCustomError(
        "duplicate-name",
        "{what} are both named `{name}`",
        {
            "what": f"layers {first[-1]} and {second[-1]}"
            if len(first) == len(second) == len(where) + 1
            else f"two layers of this block ({_dotted(first)} and {_dotted(second)})",
            "name": name,
            "at": (*second, "name"),
        },
    )


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


class LazyModel:
    """Field metadata: the model that validates the field, imported the first time a spec has the field.

    `validation.py` follows it to word errors inside the section; `schema.py` writes its JSON Schema.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def model(self) -> type[BaseModel]:
        model: type[BaseModel] = getattr(importlib.import_module(self.module), self.name)
        return model


_TRAIN = LazyModel("netspec.training.config", "TrainConfig")


def _train(v: Any) -> Any:
    """The `train:` section, validated by the trainer's models: imported only for a spec that has one."""
    if v is None:
        return None
    model = _TRAIN.model()
    return v if isinstance(v, model) else model.model_validate(v)


if TYPE_CHECKING:
    from typing import TypeAlias

    from .training.config import TrainConfig

    TrainSection: TypeAlias = TrainConfig | None
else:
    TrainSection = Annotated[
        SerializeAsAny[Any],
        PlainValidator(_train),
        _TRAIN,
        WithJsonSchema({"anyOf": [{"x-netspec-definition": "TrainConfig"}, {"type": "null"}]}),
    ]


# A block definition as editors see it; netspec checks them itself while expanding (see blocks.py).
_BLOCKS_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "description": "a block kind of the spec's own: `params` and the `layer` (or `layers`) one instance is",
                "properties": {
                    "params": {
                        "type": "array",
                        "items": {
                            "anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]
                        },
                    },
                    "layer": {},
                    "layers": {"type": "array"},
                    "description": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        {"type": "null"},
    ]
}

# The annotated types (bounds included) are what `netspec schema` shows editors; the validators run first.
InputShape = Annotated[
    Input,
    PlainValidator(inputs.parse),
    PlainSerializer(inputs.dump),
    WithJsonSchema(inputs.JSON_SCHEMA),
]
SpecName = Annotated[str, Field(pattern=SPEC_NAME.pattern, max_length=100), BeforeValidator(spec_name)]
Seed = Annotated[int, Field(ge=0, le=INT64_MAX), BeforeValidator(count)]


class Spec(BaseModel):
    """A network: its name, one sample's input shape, and its layers in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SpecName = "model"
    description: str | None = None
    input: InputShape
    layers: Annotated[list[LayerItem], Field(min_length=1), AfterValidator(_unique_names)]
    blocks: Annotated[dict[str, Any] | None, WithJsonSchema(_BLOCKS_SCHEMA)] = None  # the spec's own block kinds
    init: InitArg | None = None  # for every Conv2d and Linear without an `init` of its own
    seed: Seed | None = None  # makes two builds give identical weights
    train: TrainSection = None  # how `netspec train` trains it

    _source: SourceMap | None = PrivateAttr(default=None)
    _origins: Origins = PrivateAttr(default_factory=Origins)
    _written_layers: list[Any] | None = PrivateAttr(default=None)  # `layers` before expansion, when it differs

    def __eq__(self, other: object) -> bool:
        """Specs are equal when their contents are; where they were read from does not matter."""
        return isinstance(other, Spec) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # layers is a list: a Spec is a value, not a key

    def with_input(self, shape: tuple[int, ...]) -> Spec:
        """The same spec checked with another input shape (what `--input` does); SpecError for a bad shape.

        The dims keep their names and a token input its vocabulary, where the rank stays the same.
        """
        try:
            checked = inputs.parse(list(shape))
        except PydanticCustomError as e:
            raise SpecError([Diagnostic("invalid-value", f"`input` {e.message()}", path=("input",))]) from None
        return self.model_copy(update={"input": self.input.resized(tuple(checked))})

    @property
    def source(self) -> SourceMap | None:
        """Where the spec was read from (None for a spec built in Python)."""
        return self._source

    def at(self, path: tuple[Any, ...], d: Diagnostic, *, key: bool = False) -> Diagnostic:
        """`d` positioned at `path` of this spec: its span in the file, and the blocks it came through."""
        return at(self._source, path, d, key=key, origins=self._origins)

    @property
    def origins(self) -> Origins:
        """Where each layer of the expanded spec is written (in a block's template, for a block's layers)."""
        return self._origins


def parse_spec(text: str, source: str = "<string>") -> Spec:
    """Parse a YAML spec from a string; raises SpecError with every schema error found."""
    data, smap = load_yaml(text, source)
    return spec_from_data(data, smap)


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read and parse a spec file; raises SpecError (code `io-error` when it can't be read)."""
    p = Path(path)
    text = read_spec(p)
    data_, smap = load_yaml(text, str(p))
    return spec_from_data(named(data_, p), smap)


def spec_to_data(spec: Spec, *, expanded: bool = False) -> dict[str, Any]:
    """The spec as plain data (lists, not tuples; arguments left at torch's defaults omitted).

    `spec_from_data(spec_to_data(s)) == s`; checkpoints and exports store this form, with the spec's
    `blocks`, `repeat` and `when` as written. `expanded=True` gives the layers they expand to instead.
    """
    data = {"name": spec.name, **spec.model_dump(mode="json", exclude_defaults=True)}  # the default name too, first
    if expanded:
        data.pop("blocks", None)
    if spec._written_layers is not None and not expanded:  # blocks and repeats as written: they expand to .layers
        data["layers"] = copy.deepcopy(spec._written_layers)
    else:
        data["layers"] = [_with_types(layer, d) for layer, d in zip(spec.layers, data["layers"])]
    return data


def _with_types(layer: LayerBase, data: dict[str, Any]) -> dict[str, Any]:
    """A layer's dump with `type` put back (exclude_defaults drops it), in its blocks' layers too."""
    out = {"type": layer.type, **data}
    if out.get("norm") == {}:  # a TransformerEncoder's LayerNorm at its defaults, as a spec writes it
        out["norm"] = "LayerNorm"
    for sub, children in branches_of(layer):
        key = sub[0]
        if key == "branches":
            out[key] = [[_with_types(c, d) for c, d in zip(b, bd)] for b, bd in zip(getattr(layer, key), data[key])]
        elif key in data:
            out[key] = [_with_types(c, d) for c, d in zip(children, data[key])]
    return out


def spec_from_data(data: Any, smap: SourceMap | None = None) -> Spec:
    """Validate already-loaded data (a dict, as from YAML or JSON) into a Spec."""
    if data is None or data == {}:
        raise SpecError(
            [
                at(
                    smap,
                    (),
                    Diagnostic(
                        "missing-field",
                        "the spec is empty: it needs `input` and `layers`",
                        help="start from an example such as specs/lenet.yaml",
                    ),
                )
            ]
        )
    if not isinstance(data, dict):
        raise SpecError(
            [
                at(
                    smap,
                    (),
                    Diagnostic(
                        "invalid-value",
                        f"the spec must be a mapping with `input` and `layers`, got {_kind(data)}",
                        help="write `input: [C, H, W]` and `layers:` at the top level of the file",
                    ),
                )
            ]
        )
    with gc_paused():
        return _validated(data, smap)


def _validated(data: dict[str, Any], smap: SourceMap | None) -> Spec:
    try:
        expanded, origins = expand(data)
    except SpecError as e:  # the diagnostics carry written paths
        # an unknown key is pointed at itself, as the schema's unknown-field errors are
        raise SpecError(_unique([at(smap, d.path, d, key=d.code == "unknown-field") for d in e.diagnostics])) from None
    try:
        spec = Spec.model_validate(expanded)
    except ValidationError as e:
        raise SpecError(_unique(translate(e, expanded, smap, Spec, origins))) from None
    spec._source = smap
    spec._origins = origins
    if expanded is not data:
        spec._written_layers = copy.deepcopy(data.get("layers"))
    return spec


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per place and message: a mistake in a block's template is reported once, not per instance."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diagnostics:
        slot = (d.code, d.message, d.span, d.path)
        if slot not in seen:
            seen.add(slot)
            out.append(d)
    return out


def _kind(v: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(v), type(v).__name__
    )
