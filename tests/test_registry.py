"""The tables that must stay in step: layer kinds, rules, torch classes, reserved names, codes, docs and goldens."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import typing
from collections import OrderedDict
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

import netspec
from netspec import shapes
from netspec.diagnostics import CODES
from netspec.kinds import BLOCK_NAMES, BRANCH_FIELDS, INIT_FIELDS, INIT_FUNCTIONS, RESERVED_NAMES
from netspec.layers import BLOCK_TYPES, KINDS, LAYER_TYPES, Init

from .conftest import ROOT

torch = pytest.importorskip("torch")
build = pytest.importorskip("netspec.builder")

SPEC_DOC = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
ERRORS_DOC = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
GOLDEN = ROOT / "tests" / "golden"


def test_every_kind_has_a_rule_and_a_torch_class() -> None:
    assert set(shapes.RULES) == set(LAYER_TYPES)
    for kind in LAYER_TYPES:
        assert issubclass(build.torch_class(kind), torch.nn.Module), kind  # `type` is the torch class name, always
    assert set(KINDS) == set(LAYER_TYPES) | set(BLOCK_TYPES)
    assert set(BLOCK_TYPES) == set(BRANCH_FIELDS) == set(BLOCK_NAMES)  # every block says which fields hold its layers
    assert not set(BLOCK_TYPES) & {n for n in dir(torch.nn) if n != "Sequential"}  # the joins are netspec's own


def test_every_kind_appears_in_the_layer_table() -> None:
    table = SPEC_DOC[SPEC_DOC.index("## Layer kinds") : SPEC_DOC.index("## What the checker computes")]
    documented = set(re.findall(r"`([A-Z][A-Za-z0-9]+)`", table))
    assert set(KINDS) <= documented


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_arguments_have_torchs_names_and_defaults(kind: str) -> None:
    record = LAYER_TYPES[kind]
    torch_params = inspect.signature(build.torch_class(kind).__init__).parameters
    for arg, field in record.model_fields.items():
        if arg in ("type", "name") or (arg == "init" and record.weight_init):
            continue
        assert arg in torch_params, f"{kind} has `{arg}`, torch.nn.{kind} does not"
        torch_default = torch_params[arg].default
        if field.default is PydanticUndefined:  # required in netspec, so required in torch
            assert torch_default is inspect.Parameter.empty, f"{kind}.{arg}"
        elif inspect.isfunction(torch_default):  # a function torch takes by name too (TransformerEncoderLayer's)
            assert field.default == torch_default.__name__, f"{kind}.{arg}"
        elif field.default is not None:  # None marks an inferred input size or torch's own None
            assert field.default == torch_default, f"{kind}.{arg}: netspec {field.default!r}, torch {torch_default!r}"


def test_recurrent_modules_take_torchs_arguments_and_defaults() -> None:
    """netspec's RNN, LSTM and GRU spell out the arguments torch's take as *args (RNNBase's, with its defaults)."""
    from netspec.modules import RECURRENT

    base = inspect.signature(torch.nn.RNNBase.__init__).parameters
    for kind, cls in RECURRENT.items():
        assert issubclass(cls, getattr(torch.nn, kind))
        own = inspect.signature(cls.__init__).parameters
        for arg, p in own.items():
            if arg in ("self", "output", "nonlinearity"):
                continue
            assert arg in base, f"{kind}.{arg}"
            assert p.default == base[arg].default, f"{kind}.{arg}"
        missing = {a for a in base if a not in own} - {"self", "mode", "device", "dtype"}
        assert missing == ({"proj_size"} if kind != "LSTM" else set()), kind
    assert inspect.signature(RECURRENT["RNN"].__init__).parameters["nonlinearity"].default == "tanh"


def test_every_init_has_torchs_function_with_those_arguments() -> None:
    """`builder.initialise` and `netspec export` both call INIT_FUNCTIONS: every Init type and field must be in it."""
    kinds = set(typing.get_args(Init.model_fields["type"].annotation))
    assert set(INIT_FUNCTIONS) == kinds
    assert tuple(f for f in Init.model_fields if f != "type") == INIT_FIELDS  # the shorthand's check reads these
    used: set[str] = set()
    for kind, (function, args) in INIT_FUNCTIONS.items():
        if function is None:
            assert kind == "default"
            continue
        # torch's names, in torch's order (the defaults differ on purpose: relu for kaiming, std 0.01 for normal)
        params = list(inspect.signature(getattr(torch.nn.init, function)).parameters)
        assert params[1 : len(args) + 1] == list(args), kind
        used |= set(args)
    assert used == set(Init.model_fields) - {"type"}  # no Init field that no function takes


def test_inferred_sizes_are_the_optional_input_arguments() -> None:
    """A record declares what its rule infers; those arguments are optional, and the rule returns each of them."""
    sizes = (
        "in_channels",
        "in_features",
        "num_features",
        "num_channels",
        "normalized_shape",
        "input_size",
        "d_model",
        "num_embeddings",
    )
    for kind, record in LAYER_TYPES.items():
        inputs = {a for a in record.model_fields if a in sizes}
        assert inputs == set(record.input_sizes), kind
        for arg in record.input_sizes:
            assert record.model_fields[arg].default is None, f"{kind}.{arg} is inferred, so it may be left out"
    spec = netspec.parse_spec(
        "input: [3, 8, 8]\nlayers: [{type: Conv2d, out_channels: 4, kernel_size: 3}, BatchNorm2d, Flatten,"
        " {type: Linear, out_features: 2}]"
    )
    args = {node.kind: node.args for node in netspec.check(spec).walk()}
    assert (args["Conv2d"]["in_channels"], args["BatchNorm2d"]["num_features"], args["Linear"]["in_features"]) == (
        3,
        4,
        4 * 6 * 6,
    )


def test_reserved_names_cover_sequentials_attributes() -> None:
    public = {n for n in dir(torch.nn.Sequential()) if not n.startswith("_")}
    assert public <= RESERVED_NAMES, sorted(public - RESERVED_NAMES)
    from netspec.modules import JOIN_MODULES  # a block's layers are attributes of its module too

    for cls in JOIN_MODULES.values():
        public = {n for n in dir(cls(OrderedDict(), [[], []], [])) if not n.startswith("_")}
        assert public <= RESERVED_NAMES, (cls.__name__, sorted(public - RESERVED_NAMES))


@pytest.mark.parametrize("name", ["T_destination", "training", "forward", "state_dict", "to"])
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(netspec.SpecError) as e:
        netspec.parse_spec(f"input: [3]\nlayers: [{{type: ReLU, name: {name}}}]")
    (d,) = e.value.diagnostics
    assert d.code == "invalid-value"
    assert d.message == (
        f"`name` must be a name that nn.Module does not use itself (`{name}` is an attribute of nn.Sequential),"
        f' got "{name}"'
    )
    with pytest.raises(KeyError, match="already exists"):  # what torch would have said, late
        torch.nn.Sequential().add_module(name, torch.nn.ReLU())


def _documented_codes() -> list[str]:
    return re.findall(r"^## (\S+)$", ERRORS_DOC, flags=re.MULTILINE)


def test_error_index_matches_codes() -> None:
    documented = _documented_codes()
    assert len(documented) == len(set(documented)), "a code is documented twice"
    assert set(documented) == set(CODES)


def test_codes_are_kebab_case_with_a_meaning() -> None:
    for code, meaning in CODES.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code), code
        assert meaning and meaning[0].islower() and not meaning.endswith("."), code


def checker_modules() -> list[str]:
    """The netspec modules that loading and checking a spec imports, found in a fresh interpreter."""
    code = (
        "import sys, json, netspec.spec, netspec.report, netspec.commands.check; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('netspec.'))))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    modules: list[str] = json.loads(run.stdout)
    return [m for m in modules if m != "netspec.diagnostics"]


def emitted_codes(module: str) -> set[str]:
    """Codes passed as call arguments in a module's source: Diagnostic("io-error", ...), _issue("empty-output", ...)."""
    path = Path(sys.modules[module].__file__ or "") if module in sys.modules else None
    if path is None:
        __import__(module)
        path = Path(sys.modules[module].__file__ or "")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in CODES:
                    found.add(arg.value)
    return found


def test_every_code_the_checker_emits_has_a_golden_example() -> None:
    emitted = set().union(*(emitted_codes(m) for m in checker_modules()))
    assert {"shape-mismatch", "unsupported-yaml", "io-error"} <= emitted  # the scan finds what it should
    goldens = {p.stem for p in GOLDEN.glob("*.out")}
    covered = {c for c in emitted if any(g == c or g.startswith(c + "-") for g in goldens)}
    assert covered == emitted, f"no golden example for {sorted(emitted - covered)}"


def test_every_public_name_is_lazy_and_resolves() -> None:
    import netspec

    assert set(netspec.__all__) == set(netspec._LAZY)
    for name in netspec.__all__:
        assert getattr(netspec, name) is not None, name
