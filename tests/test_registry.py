"""The tables that must stay in step: layer kinds, rules, torch classes, reserved names, codes, docs and goldens."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

import netspec
from netspec import shapes
from netspec.diagnostics import CODES
from netspec.layers import INIT_FUNCTIONS, LAYER_TYPES, RESERVED_NAMES, Init

from .conftest import ROOT

torch = pytest.importorskip("torch")
build = pytest.importorskip("netspec.builder")

README = (ROOT / "README.md").read_text(encoding="utf-8")
GOLDEN = ROOT / "tests" / "golden"
NOT_ARGUMENTS = ("type", "name", "init")  # netspec's own fields, not the torch constructor's


def test_every_kind_has_a_rule_and_a_torch_class() -> None:
    assert set(shapes.RULES) == set(LAYER_TYPES.values())
    assert set(build.TORCH_CLASSES) == set(LAYER_TYPES)
    for kind, cls in build.TORCH_CLASSES.items():
        assert cls is getattr(torch.nn, kind), kind  # `type` is the torch class name, always


def test_every_kind_appears_in_the_readme_table() -> None:
    table = README[README.index("### Layer kinds") : README.index("## What the checker computes")]
    documented = set(re.findall(r"`([A-Z][A-Za-z0-9]+)`", table))
    assert set(LAYER_TYPES) <= documented


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_arguments_have_torchs_names_and_defaults(kind: str) -> None:
    record = LAYER_TYPES[kind]
    torch_params = inspect.signature(build.TORCH_CLASSES[kind].__init__).parameters
    for arg, field in record.model_fields.items():
        if arg in NOT_ARGUMENTS:
            continue
        assert arg in torch_params, f"{kind} has `{arg}`, torch.nn.{kind} does not"
        torch_default = torch_params[arg].default
        if field.default is PydanticUndefined:  # required in netspec, so required in torch
            assert torch_default is inspect.Parameter.empty, f"{kind}.{arg}"
        elif field.default is not None:  # None marks an inferred input size or torch's own None
            assert field.default == torch_default, f"{kind}.{arg}: netspec {field.default!r}, torch {torch_default!r}"


def test_every_init_has_torchs_function_with_those_arguments() -> None:
    """`builder.initialise` and `netspec export` both call INIT_FUNCTIONS: every Init type and field must be in it."""
    kinds = set(typing.get_args(Init.model_fields["type"].annotation))
    assert set(INIT_FUNCTIONS) == kinds
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
    for kind, record in LAYER_TYPES.items():
        inputs = {a for a in record.model_fields if a in ("in_channels", "in_features", "num_features")}
        assert inputs == ({build.INFERRED[kind][0]} if kind in build.INFERRED else set()), kind


def test_reserved_names_cover_sequentials_attributes() -> None:
    public = {n for n in dir(torch.nn.Sequential()) if not n.startswith("_")}
    assert public <= RESERVED_NAMES, sorted(public - RESERVED_NAMES)


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


def _readme_codes() -> list[str]:
    index = README[README.index("## Error index") :]
    index = index[: index.index("\n## ", 1)]
    return re.findall(r"^### (\S+)$", index, flags=re.MULTILINE)


def test_readme_error_index_matches_codes() -> None:
    documented = _readme_codes()
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
