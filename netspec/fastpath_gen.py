"""Writes `fastpath_table.py`: the pydantic records (layers, `Init`, `train:`, the spec) as a table of checks.

    python -m netspec.fastpath_gen          # rewrite netspec/fastpath_table.py (`make fastpath`)

The fast path (fastpath.py) validates a spec from that table without importing pydantic. The table
is derived, never written by hand: each field becomes a check built from the same validator function
the record uses (values.py, kinds.py, inputs.py, training/values.py), with the bounds pydantic checks
after it, or `("no",)` where the field's type is something the fast path does not reproduce, so that
a spec using it takes the pydantic path. A record with a model validator other than the `checks` of
the `train:` records, or with configuration beyond `extra="forbid"`, is left out (`None`) for the
same reason. tests/test_fastpath.py fails when the table is not what this module writes from the
current records, and holds every field of every record to pydantic on values at their edges.
"""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, PlainValidator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from . import inputs, kinds, values
from . import layers as L
from . import spec as S
from .training import config as C
from .training import values as T

TABLE = Path(__file__).with_name("fastpath_table.py")
# What the table is written from: the fast path declines (and the full path answers) once any of these
# differs from what the table was written from, so that a record edited without `make fastpath` is never
# answered from the old table.
SOURCES = (
    "fastpath_gen.py",
    "values.py",
    "kinds.py",
    "inputs.py",
    "fields.py",
    "layers.py",
    "spec.py",
    "training/values.py",
    "training/transforms.py",
    "training/config.py",
)
# The modules whose functions the table may name (none imports pydantic), and the names the table gives them.
PURE = {"K": kinds, "V": values, "I": inputs, "T": T}
# Validators the fast path runs itself: the layer dispatcher, the `train:` section, unique names in each scope.
SPECIAL = {L._layer: ("layer",), S._train: ("opt", ("record", "TrainConfig")), S._unique_names: "unique"}
NO: tuple[Any, ...] = ("no",)


def _ref(f: Any) -> str | None:
    """`V.size2` for a pure validator: the name it has in its module; None for anything else."""
    for alias, module in PURE.items():
        for name, value in vars(module).items():
            if value is f and not name.startswith("__"):
                return f"{alias}.{name}"
    return None


def _scalar(tp: Any) -> bool:
    """Whether a type holds only numbers, strings, booleans and tuples of them: a complete validator before it
    leaves pydantic nothing to change or refuse (fields.py's types are built that way)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _scalar(get_args(tp)[0])
    if origin in (Union, types.UnionType, tuple):
        return all(a is Ellipsis or _scalar(a) for a in get_args(tp))
    if origin is Literal:
        return True
    return tp in (int, float, bool, str, type(None))


class _Writer:
    def __init__(self) -> None:
        self.records: dict[str, Any] = {}  # name -> (fields, class attributes, checks) or None
        self.models: dict[str, type[BaseModel]] = {}  # name -> the pydantic record it was written from
        self.pending: list[type[BaseModel]] = []

    def record(self, cls: type[BaseModel]) -> str:
        name = cls.__name__
        if name not in self.records and cls not in self.pending:
            self.pending.append(cls)
        return name

    def run(self, roots: list[type[BaseModel]]) -> None:
        self.pending = list(roots)
        while self.pending:
            cls = self.pending.pop(0)
            if cls.__name__ in self.records:
                continue
            self.records[cls.__name__] = None  # claimed: a record that holds itself is not expanded twice
            self.models[cls.__name__] = cls
            self.records[cls.__name__] = self.describe_record(cls)

    def describe_record(self, cls: type[BaseModel]) -> Any:
        cls.model_rebuild(force=True)  # resolve the block records' forward references
        decorators = cls.__pydantic_decorators__
        # the one model validator the table carries: the `checks` of a `train:` record (training/config.py)
        if set(decorators.model_validators) - {"_run_checks"} or decorators.field_validators:
            return None
        if cls.model_config.get("extra") != "forbid" or set(cls.model_config) - {"extra", "frozen", "defer_build"}:
            return None  # strict, validate_default, str_strip_whitespace, aliases...: pydantic's own behaviour
        checks = [_ref(f) for f in getattr(cls, "checks", ())] if decorators.model_validators else []
        if None in checks:
            return None
        fields = []
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                return None
            check = self.field(info)
            if info.default is PydanticUndefined:
                default: Any = ("required",)
            elif isinstance(info.default, BaseModel):
                default = ("data", info.default.model_dump(exclude_unset=True))
            else:
                default = ("value", info.default)
            fields.append((name, check, default))
        attributes = {k: getattr(cls, k) for k in sorted(cls.__class_vars__) if k != "checks"}
        return tuple(fields), attributes, checks

    def field(self, info: FieldInfo) -> Any:
        if info.alias or info.validation_alias or info.validate_default:
            return NO
        metadata = list(info.metadata)
        if info.discriminator is not None:
            metadata.append(_d(str(info.discriminator)))
        return self.check(info.annotation, metadata)

    def check(self, tp: Any, metadata: list[Any]) -> Any:
        while get_origin(tp) is Annotated:
            tp, *inner = get_args(tp)
            metadata = [*inner, *metadata]
        discriminator: str | None = None
        validators: list[Any] = []
        constraints: list[Any] = []
        for m in metadata:
            if isinstance(m, FieldInfo):
                constraints.extend(m.metadata)
                discriminator = str(m.discriminator) if m.discriminator is not None else discriminator
            elif isinstance(m, (BeforeValidator, PlainValidator, AfterValidator)):
                validators.append(m)
            elif isinstance(m, annotated_types.BaseMetadata) or type(m).__name__ == "_PydanticGeneralMetadata":
                constraints.append(m)
            # the rest (WithJsonSchema, SerializeAsAny, serializers, LazyModel) do not validate
        if len(validators) > 1:
            return NO
        if validators:
            (v,) = validators
            special = SPECIAL.get(v.func)
            ref = _ref(v.func)
            if isinstance(v, PlainValidator):  # it replaces pydantic's check: a bound beside it is not for us to read
                return NO if constraints else special or (("fn", ref) if ref else NO)
            if isinstance(v, AfterValidator):
                return ("unique", self.check(tp, constraints)) if special == "unique" else NO
            if ref is None:
                return NO
            if _scalar(tp):
                # the validator is complete: it returns what pydantic's check of `tp` passes, but for the bounds
                # beside it (`Field(ge=0)`), which the fast path checks again after it, as pydantic does
                bounds = [b for c in constraints if (b := _bound(c)) is not None]
                if len(bounds) < len(constraints):
                    return NO
                return ("fn", ref, tuple(bounds)) if bounds else ("fn", ref)
            inner = constraints if discriminator is None else [*constraints, _d(discriminator)]
            return ("before", ref, self.check(tp, inner))
        min_length = 0
        for c in constraints:
            if isinstance(c, annotated_types.MinLen):
                min_length = c.min_length
            else:
                return NO  # a bound or pattern without a validator of ours: pydantic's own check
        origin, args = get_origin(tp), get_args(tp)
        if origin is list and args:
            return ("list", self.check(args[0], []), min_length)
        if min_length:
            return NO
        if origin in (Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(rest) < len(args):
                one: Any = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
                return ("opt", self.check(one, [_d(discriminator)] if discriminator else []))
            if discriminator and all(isinstance(a, type) and issubclass(a, BaseModel) for a in rest):
                return ("union", discriminator, {t: self.record(a) for a in rest for t in _tags(a, discriminator)})
            return NO
        if origin is Literal:
            return ("lit", args) if all(isinstance(a, str) for a in args) else NO
        if origin is dict and args and args[0] is str and args[1] is Any:
            return ("strdict",)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return ("record", self.record(tp))
        if tp is str:
            return ("str",)
        return NO


def _bound(c: Any) -> tuple[str, Any] | None:
    """A constraint as the fast path checks it: ("ge", 0), ("max_length", 100), ("pattern", "..."); None if not."""
    for kind in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
        value = getattr(c, kind, None)
        if value is not None:
            return kind, value
    return None


def _d(discriminator: str) -> FieldInfo:
    return FieldInfo(discriminator=discriminator)


def _tags(cls: type[BaseModel], key: str) -> tuple[str, ...]:
    return tuple(str(tag) for tag in get_args(cls.model_fields[key].annotation))


def _code(value: Any) -> str:
    """Python source for a check or default: validators by name, everything else by repr."""
    if isinstance(value, tuple) and len(value) in (2, 3) and value[0] == "fn":
        return f'("fn", {value[1]}{"".join(f", {_code(v)}" for v in value[2:])})'
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "before":
        return f'("before", {value[1]}, {_code(value[2])})'
    if isinstance(value, tuple):
        items = [_code(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_code(k)}: {_code(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"  # `inf` is no Python literal
    return repr(value)


def _written() -> _Writer:
    writer = _Writer()
    writer.run([S.Spec, C.TrainConfig, *L.KINDS.values()])
    return writer


def models() -> dict[str, type[BaseModel]]:
    """The pydantic records the table is written from, by the names it gives them (for the tests)."""
    return _written().models


def table() -> str:
    """The text of fastpath_table.py for the records as they are now."""
    writer = _written()
    from .fastpath import source_digest

    lines = [
        '"""The spec\'s records as a table of checks, for the fast path: written by `python -m netspec.fastpath_gen`.',
        "",
        "Do not edit: change the records (layers.py, spec.py, training/) and run `make fastpath`.",
        '"""',
        "",
        "# ruff: noqa: E501, E741",
        "from typing import Any",
        "",
        "from . import inputs as I",
        "from . import kinds as K",
        "from . import values as V",
        "from .training import values as T",
        "",
        f"SOURCES = {SOURCES!r}",
        f"DIGEST = {source_digest(SOURCES)}  # of SOURCES as they were",
        "",
        "# record -> (fields, class attributes, checks across fields), or None where only pydantic can validate it;",
        "# a field is (name, check, default): default ('required',), ('value', v) or ('data', d) to validate",
        "RECORDS: dict[str, Any] = {",
    ]
    for name, entry in writer.records.items():
        if entry is None:
            lines.append(f"    {name!r}: None,")
            continue
        fields, attributes, checks = entry
        lines.append(f"    {name!r}: (")
        lines.append("        (")
        lines.extend(f"            ({n!r}, {_code(c)}, {_code(d)})," for n, c, d in fields)
        lines.append("        ),")
        lines.append(f"        {_code(attributes)},")
        lines.append(f"        ({''.join(f'{c}, ' for c in checks).rstrip()}),")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = table()
    if "--check" in sys.argv[1:]:
        current = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
        if current != text:
            print(f"{TABLE} is out of date: run `make fastpath`", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
