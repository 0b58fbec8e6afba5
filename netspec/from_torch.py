"""Torch modules -> Spec: each layer's constructor arguments read back from its attributes (`netspec import`).

An nn.Sequential is a spec's list of layers (nested ones are groups), netspec's own blocks
(netspec.modules) are blocks, and every other module must be a torch.nn class netspec knows.
A module of the user's own class is read from its forward, traced (`from_fx`), when that is a chain.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError
from torch import nn

from . import inputs
from .diagnostics import Diagnostic, SpecError, did_you_mean, path_str
from .inputs import Input
from .kinds import BRANCH_FIELDS, BRANCH_LISTS, index_names, kind_names
from .layers import KINDS, LAYER_TYPES, LayerName
from .modules import RECURRENT, Concat, Join, Multiply, Residual
from .report import check
from .spec import Spec, spec_from_data

_KINDS = {RECURRENT.get(kind, getattr(nn, kind)): kind for kind in LAYER_TYPES}  # netspec's own recurrent layers
_JOINS: dict[type[nn.Module], str] = {Residual: "Residual", Concat: "Concat", Multiply: "Multiply"}
_LAYER_NAME: TypeAdapter[str] = TypeAdapter(LayerName)


@dataclass
class _Leaf:
    path: str  # where the module sits in the model: `features.3`
    module: nn.Module


def from_module(module: nn.Module, input_shape: Sequence[int], *, name: str = "model") -> Spec:
    """The spec of an nn.Sequential, its nested Sequentials and netspec blocks kept as groups and blocks (so the
    built model has the module's state_dict keys), checked against `input_shape`, e.g. (1, 28, 28).

    A module of another class is read from its forward, traced with torch.fx, when that is a chain of its
    submodules and functional ops (`from_fx`)."""
    if _is_sequence(module):
        children = _children(module)
    elif type(module) in _JOINS or _class(module).startswith("nn."):
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"netspec imports an nn.Sequential or a module whose forward is a chain, got {_class(module)}",
                    help="pass the nn.Sequential part of the model (e.g. `model.features`), or rebuild it as one",
                )
            ]
        )
    else:  # a class of the user's own: its forward, traced, as the list of steps it runs
        from .from_fx import traced_steps

        children = traced_steps(module, input_shape)
    leaves = list(_leaves_of(children, ""))
    problems = [d for leaf in leaves for d in _unsupported(leaf)] + _shared(leaves)
    if problems:
        listed = next((i for i, d in enumerate(problems) if d.help == _SUPPORTED), None)
        raise SpecError(  # the list of supported classes once, not under every problem
            [replace(d, help=None) if d.help == _SUPPORTED and i != listed else d for i, d in enumerate(problems)]
        )
    where: dict[tuple[Any, ...], _Leaf] = {}  # a layer's path in the spec -> its module and where it sits
    layers = _layers(children, "", ("layers",), where, index=False)
    given: Any = inputs.dump(input_shape) if isinstance(input_shape, Input) else list(input_shape)
    first = leaves[0].module if leaves else None
    if isinstance(first, nn.Embedding) and isinstance(given, list):  # token ids below the table's rows
        given = {"shape": given, "tokens": first.num_embeddings}
    data = {"name": name, "input": given, "layers": layers}
    try:
        check(spec_from_data(data))  # the module's own input sizes, still in `layers`, checked against the input
    except SpecError as e:
        raise SpecError([_imported(d, where, input_shape) for d in e.diagnostics]) from None
    _drop_input_sizes(layers)  # netspec infers them from the input, as in specs/
    tokens = given.get("tokens") if isinstance(given, dict) else None
    if layers and tokens is not None and layers[0].get("num_embeddings") == tokens:
        del layers[0]["num_embeddings"]  # a table of one row per token id: what netspec infers
    return spec_from_data(data)


def _children(module: nn.Module) -> list[tuple[str, nn.Module]]:
    # not named_children(), which yields a module used twice (`act` in `conv, act, conv, act`) only once
    return [(key, child) for key, child in module._modules.items() if child is not None]


def _layers(
    children: list[tuple[str, nn.Module]],
    prefix: str,
    path: tuple[Any, ...],
    where: dict[tuple[Any, ...], _Leaf],
    *,
    index: bool,
) -> list[dict[str, Any]]:
    """A list of layers, named as the module names them: a name is written only where netspec's own would differ."""
    items = [_layer(child, f"{prefix}{key}", (*path, i), where) for i, (key, child) in enumerate(children)]
    keys = [_key(key) for key, _ in children]
    for item, n in zip(items, _names([_prefix(item) for item in items], keys, index=index)):
        if n is not None:
            item["name"] = n
    return items


def _layer(module: nn.Module, at: str, path: tuple[Any, ...], where: dict[tuple[Any, ...], _Leaf]) -> dict[str, Any]:
    where[path] = _Leaf(at, module)
    if _is_sequence(module):
        return {
            "type": "Sequential",
            "layers": _layers(_children(module), f"{at}.", (*path, "layers"), where, index=True),
        }
    if type(module) in _JOINS:
        kind = _JOINS[type(module)]
        members = dict(_children(module))
        assert isinstance(module, Join)
        branches = [[(n, members[n]) for n in branch] for branch in module._branches]
        after = [(n, members[n]) for n in module._after]
        # one scope for all of a block's layers: names are decided over the whole block, in the order they run
        fields = ["body", "shortcut"] if kind == "Residual" else [f"branches.{j}" for j in range(len(branches))]
        flat = [(f, i, n, m) for f, b in zip([*fields, "after"], [*branches, after]) for i, (n, m) in enumerate(b)]
        items = [_layer(m, f"{at}.{n}", (*path, *_field_path(f), i), where) for f, i, n, m in flat]
        for item, n in zip(
            items, _names([_prefix(item) for item in items], [_key(n) for _, _, n, _ in flat], index=False)
        ):
            if n is not None:
                item["name"] = n
        grouped: dict[str, list[dict[str, Any]]] = {f: [] for f in [*fields, "after"]}
        for (f, _, _, _), item in zip(flat, items):
            grouped[f].append(item)
        out: dict[str, Any] = {"type": kind}
        if kind == "Residual":
            out["body"] = grouped["body"]
            if grouped["shortcut"]:
                out["shortcut"] = grouped["shortcut"]
        else:
            out["branches"] = [grouped[f] for f in fields]
            if isinstance(module, Concat) and module._dim != 1:
                out["dim"] = module._dim
        if grouped["after"]:
            out["after"] = grouped["after"]
        return out
    kind = _KINDS[type(module)]
    return {"type": kind, **_arguments(kind, module)}


def _field_path(field: str) -> tuple[Any, ...]:
    head, _, index = field.partition(".")
    return (head, int(index)) if index else (head,)


def _prefix(item: dict[str, Any]) -> str:
    cls = KINDS[item["type"]]
    return cls.prefix or item["type"].lower()


def _names(prefixes: list[str], keys: list[str | None], *, index: bool) -> list[str | None]:
    """Each layer's `name`: its submodule's, dropped where netspec's automatic name would be the same."""
    seen: set[str] = set()
    names: list[str | None] = []
    for key in keys:  # a name repeated in one scope is kept only the first time
        names.append(key if key not in seen else None)
        seen.update([key] if key else [])
    auto = index_names if index else kind_names
    target = auto(list(zip(prefixes, names)))
    for i, n in enumerate(names):
        trial = [*names[:i], None, *names[i + 1 :]]
        if n is not None and auto(list(zip(prefixes, trial))) == target:
            names = trial
    return names


def _drop_input_sizes(layers: list[dict[str, Any]]) -> None:
    """Leave out `in_channels`, `in_features`, `num_features`: netspec infers them, as specs/ do."""
    for layer in layers:
        for arg in KINDS[layer["type"]].input_sizes:
            # LayerNorm over several dims is no inferred size; a table may have more rows than the input's tokens
            if arg != "num_embeddings" and not isinstance(layer.get(arg), list):
                layer.pop(arg, None)
        if layer["type"] == "TransformerEncoder":  # its layer's width, and its norm's
            _drop_input_sizes([v for v in (layer["encoder_layer"], layer.get("norm")) if v is not None])
        for key, value in layer.items():  # a block's branches: lists of layers, or (Concat, Multiply) lists of them
            if key in BRANCH_FIELDS.get(layer["type"], ()):
                _drop_input_sizes(value)
            elif key == BRANCH_LISTS.get(layer["type"]):
                for branch in value:
                    _drop_input_sizes(branch)


def _is_sequence(module: object) -> bool:
    """An nn.Sequential, or a subclass running its layers in order (torchvision's Conv2dNormActivation)."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _leaves(module: nn.Module, path: str) -> Iterator[_Leaf]:
    """The modules that must be layers: every one below Sequentials and netspec blocks."""
    return _leaves_of(_children(module), path)


def _leaves_of(children: list[tuple[str, nn.Module]], path: str) -> Iterator[_Leaf]:
    for key, child in children:
        where = f"{path}.{key}" if path else key
        if _is_sequence(child) or type(child) in _JOINS:
            yield from _leaves(child, where)
        else:
            yield _Leaf(where, child)


def _class(module: object) -> str:
    cls = type(module)
    return f"nn.{cls.__name__}" if getattr(nn, cls.__name__, None) is cls else f"{cls.__module__}.{cls.__qualname__}"


def _imported(d: Diagnostic, where: dict[tuple[Any, ...], _Leaf], input_shape: Sequence[int]) -> Diagnostic:
    """A checker's diagnostic about the module's spec, said in terms of the module and the input given."""
    path = d.path
    while path and path not in where:
        path = path[:-1]
    if not path:
        return d
    layer = f"layer {path[1]}" if len(path) == 2 else f"layer {path_str(path)}"
    if where[path].path.startswith("("):  # a functional op of a traced forward: `(F.relu at net.py:16)`
        d = d.with_note(f"{layer} is the forward's {where[path].path[1:-1]}: {where[path].module}")
    else:
        d = d.with_note(f"{layer} is the module's `{where[path].path}`: {where[path].module}")
    if d.code != "shape-mismatch":
        return d
    return replace(d, help=f"the module was made for another input than {list(input_shape)}: check the input shape")


_SUPPORTED = "netspec supports these torch.nn classes: " + ", ".join(LAYER_TYPES)


def _unsupported(leaf: _Leaf) -> list[Diagnostic]:
    kind = _KINDS.get(type(leaf.module))
    if kind is None and type(leaf.module) in (nn.RNN, nn.LSTM, nn.GRU):  # torch's own, returning a pair
        name = type(leaf.module).__name__
        return [
            Diagnostic(
                "unknown-layer",
                f"the module's `{leaf.path}` is nn.{name}, which returns (output, state): no next layer in an"
                " nn.Sequential takes that",
                help=f"use netspec.modules.{name} (the same arguments and weights, returning one tensor:"
                " `output='sequence'` or `'last'`)",
            )
        ]
    if kind is None and _class(leaf.module).startswith("nn."):
        return [
            Diagnostic(
                "unknown-layer",
                f"the module's `{leaf.path}` is {_class(leaf.module)}, which netspec does not support",
                help=_SUPPORTED,
            )
        ]
    if kind is None:
        return [
            Diagnostic(
                "unknown-layer",
                f"the module's `{leaf.path}` is {_class(leaf.module)}, a custom module a spec cannot express",
                help="netspec cannot see what its forward does: rewrite it as netspec layers",
            )
        ]
    if getattr(leaf.module, "return_indices", False):  # the layer returns a tuple, which no next layer takes
        return [
            Diagnostic(
                "invalid-value",
                f"the module's `{leaf.path}` ({kind}) has return_indices=True, which netspec does not support",
                help="set return_indices=False",
            )
        ]
    return []


def _shared(leaves: list[_Leaf]) -> list[Diagnostic]:
    """A module with weights or buffers at two places: its layers would be built apart, with weights of their own."""
    first: dict[int, str] = {}
    problems = []
    for leaf in leaves:
        where = first.setdefault(id(leaf.module), leaf.path)
        if where != leaf.path and leaf.module.state_dict():  # a shared ReLU is as good as two
            problems.append(
                Diagnostic(
                    "invalid-value",
                    f"the module's `{leaf.path}` is the same {_class(leaf.module)} as `{where}`: shared weights,"
                    " which a spec cannot express",
                    help="give each place a module of its own (a spec's layers each have their own weights)",
                )
            )
    return problems


def _key(path: str) -> str | None:
    """A submodule's own name, when it can be a layer `name` (`0` or `train` cannot)."""
    if path.startswith("("):  # a traced forward's functional op: named as netspec names it
        return None
    key = path.rsplit(".", 1)[-1]
    try:
        return _LAYER_NAME.validate_python(key)
    except ValidationError:
        return None


def _arguments(kind: str, module: nn.Module) -> dict[str, Any]:
    """The record's fields that differ from torch's defaults, read from the module's attributes."""
    record = LAYER_TYPES[kind]
    own = ("type", "name", "init") if record.weight_init else ("type", "name")  # PReLU's `init` is torch's
    fields = {k: f for k, f in record.model_fields.items() if k not in own}
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerEncoder)):
        values = _transformer(module)
    else:
        values = {k: _value(k, _bias(module) if k == "bias" else getattr(module, k)) for k in fields}
    if kind == "LayerNorm" and not values["elementwise_affine"]:
        values["bias"] = True  # without affine weights torch makes no bias either way: the argument is moot
    if "stride" in fields and fields["stride"].default is None and values["stride"] == values["kernel_size"]:
        values["stride"] = None  # torch stores a pooling stride left out as kernel_size
    return {k: v for k, v in values.items() if fields[k].is_required() or v != fields[k].default}


def _bias(module: nn.Module) -> bool:
    bias = getattr(module, "bias", None)
    return bias if isinstance(bias, bool) else bias is not None  # a recurrent layer keeps a flag, others a tensor


def _transformer(module: nn.TransformerEncoderLayer | nn.TransformerEncoder) -> dict[str, Any]:
    """The arguments of a transformer encoder (layer), read off its submodules: torch keeps no copy of them."""
    if isinstance(module, nn.TransformerEncoder):
        first = module.layers[0]
        assert isinstance(first, nn.TransformerEncoderLayer)
        norm = module.norm
        return {
            "encoder_layer": {"type": "TransformerEncoderLayer", **_transformer(first)},
            "num_layers": module.num_layers,
            "norm": {"type": "LayerNorm", **_arguments("LayerNorm", norm)} if norm is not None else None,
            "enable_nested_tensor": module.enable_nested_tensor,
            "mask_check": module.mask_check,
        }
    attention, linear1 = module.self_attn, module.linear1
    values = {
        "d_model": attention.embed_dim,
        "nhead": attention.num_heads,
        "dim_feedforward": linear1.out_features,
        "dropout": module.dropout.p,
        "activation": "gelu" if module.activation_relu_or_gelu == 2 else "relu",
        "layer_norm_eps": module.norm1.eps,
        "batch_first": attention.batch_first,
        "norm_first": module.norm_first,
        "bias": linear1.bias is not None,
    }
    defaults = LAYER_TYPES["TransformerEncoderLayer"].model_fields
    return {k: v for k, v in values.items() if defaults[k].is_required() or v != defaults[k].default}


# Arguments with one value per spatial axis: `(3, 3)` is written `3`. Others keep their lists
# (`unflattened_size: [2, 2]`, `normalized_shape: [5, 5]` mean something else as one number).
_PER_AXIS = {"kernel_size", "stride", "padding", "dilation", "output_size", "output_padding", "size", "scale_factor"}


def _value(arg: str, value: Any) -> Any:
    if arg in _PER_AXIS:
        return _compact(value)
    if arg == "normalized_shape" and len(value) == 1:  # the last dim alone: what netspec infers
        return value[0]
    return list(value) if isinstance(value, tuple) else value


def _compact(value: Any) -> Any:
    """torch's normalised forms as a person writes them: (5, 5) -> 5, (1, 1, 1, 1) -> 1, tuples -> lists."""
    if isinstance(value, (tuple, list)):
        if value and value[0] is not None and all(v == value[0] for v in value):
            return value[0]
        return list(value)
    return value


# -- where a module comes from: a .pt file or python:package.module:attribute ---------------------


def load_source(source: str, *, trust: bool = False) -> Spec | nn.Module:
    """What `netspec import SOURCE` reads: a netspec checkpoint's spec, a pickled module, or a Python object."""
    if source.startswith("python:"):
        module_name, _, attr = source.removeprefix("python:").partition(":")
        return import_object(module_name, attr)
    return _load_file(Path(source), trust)


def import_object(module_name: str, attr: str) -> nn.Module:
    """`module_name.attr`, called when it is a zero-argument factory (a function or class), as an nn.Module."""
    where = f"python:{module_name}:{attr}"
    dotted = module_name.removesuffix(".py").strip("./\\").replace("/", ".").replace("\\", ".")
    from_file = f"give the module's name, as `import` takes it from the working directory: python:{dotted}:{attr}"
    if module_name.startswith(".") or "/" in module_name or "\\" in module_name:  # import_module would raise TypeError
        raise _error("io-error", f"`{module_name}` is a path, not a module name", help=from_file)
    if os.getcwd() not in sys.path:  # as `python -m` does, so modules next to the user's specs are found
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not (module_name == e.name or module_name.startswith(e.name + ".")):
            raise _error("io-error", f"importing `{module_name}` failed: {_exception(e)}") from None
        raise _error(
            "io-error",
            f"no Python module named `{module_name}`",
            help=from_file
            if module_name.endswith(".py")
            else "run netspec from the folder holding it, or install its package",
        ) from None
    except (Exception, SystemExit) as e:  # the user's module raised (or exited) while importing: say so, and go on
        raise _error("io-error", f"importing `{module_name}` failed: {_exception(e)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            guess = did_you_mean(part, [n for n in dir(obj) if not n.startswith("_")])
            raise _error(
                "io-error",
                f"`{module_name}` has no attribute `{attr}`",
                help=f"did you mean `{guess}`?" if guess else None,
            )
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, nn.Module):
        try:
            obj = obj()
        except (Exception, SystemExit) as e:
            raise _error(
                "invalid-value",
                f"calling {where}() failed: {_exception(e)}",
                help="point at an nn.Module, or at a function or class that makes one without arguments",
            ) from None
    if not isinstance(obj, nn.Module):
        raise _error(
            "invalid-value",
            f"{where} is a {type(obj).__name__}, not an nn.Module",
            help="point at an nn.Module, or at a function or class that makes one without arguments",
        )
    return obj


def _load_file(path: Path, trust: bool) -> Spec | nn.Module:
    from .checkpoint import FORMAT, ZIP_MAGIC, from_payload

    if not path.is_file():
        what = "a directory" if path.is_dir() else "not found"
        raise _error("io-error", f"{path} is {what}", help="pass a .pt file, or python:package.module:attribute")
    with path.open("rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if head != ZIP_MAGIC and not head.startswith(b"\x80"):  # torch.save's zip, or its older format: a pickle
        what = "empty" if not head else "not a torch file (torch.save writes a zip archive)"
        raise _error(
            "checkpoint", f"{path} is {what}", help="pass a file written by torch.save or netspec", source=path
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trust and "Unsupported global" not in str(e):  # junk fails this way too, but names no class
            raise _unreadable(path, e) from None
        if not trust:
            raise _error(
                "checkpoint",
                f"{path} holds pickled Python objects, and unpickling them can run arbitrary code",
                help="pass --trust if you trust whoever made the file (or import the code instead: python:module:attr)",
                source=path,
            ) from None
        payload = _unpickle(path)
    except Exception as e:  # not a torch file at all: torch raises many kinds
        raise _unreadable(path, e) from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        return from_payload(payload, path).spec  # validated as `netspec.load_model` does, without reading it again
    if isinstance(payload, nn.Module):
        return payload
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise _error(
            "checkpoint",
            f"{path} holds only weights (a state_dict), not the layers they belong to",
            help="save the module itself with torch.save(model, path), or import the code: python:module:attr",
            source=path,
        )
    raise _error(
        "checkpoint",
        f"{path} holds a {type(payload).__name__}, not a module or a netspec checkpoint",
        help="save the module with torch.save(model, path)",
        source=path,
    )


def _unpickle(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ModuleNotFoundError) as e:  # the classes it pickled are not importable here
        raise _error(
            "checkpoint",
            f"{path} refers to code that is not importable here: {_exception(e)}",
            help="run netspec where the model's code can be imported, or import it directly: python:module:attr",
            source=path,
        ) from None
    except Exception as e:
        raise _unreadable(path, e, weights_only=False) from None


def _unreadable(path: Path, e: BaseException, weights_only: bool = True) -> SpecError:
    # weights-only loading words every refusal as "Weights only load failed. In PyTorch 2.6, ...": say it shortly
    refused = weights_only and isinstance(e, pickle.UnpicklingError)
    reason = "weights-only loading refused it" if refused else _exception(e)
    return _error(
        "checkpoint",
        f"cannot read {path} as a torch file ({reason})",
        help="pass a file written by torch.save or netspec",
        source=path,
    )


def _exception(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def _error(code: str, message: str, help: str | None = None, source: Path | None = None) -> SpecError:
    return SpecError([Diagnostic(code, message, help=help, source=str(source) if source else None)])
