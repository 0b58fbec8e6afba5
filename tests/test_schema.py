"""The JSON Schema for editors: committed, draft-07, accepts every spec netspec accepts and catches broken ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings

import netspec
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.schema import schema_text

from .conftest import ROOT, SPECS
from .test_torch_oracle import spec_dicts

COMMITTED = ROOT / "schema" / "netspec.schema.json"
MODELINE = "# yaml-language-server: $schema=../schema/netspec.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)  # a well-formed draft-07 schema
    return jsonschema.Draft7Validator(schema)


def test_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "schema/netspec.schema.json is out of date: regenerate it with `netspec schema -o schema/netspec.schema.json`"
    )


def test_schema_is_draft_07_without_2020_12_keywords() -> None:
    text = COMMITTED.read_text(encoding="utf-8")
    assert json.loads(text)["$schema"] == "http://json-schema.org/draft-07/schema#"
    for keyword in ("$defs", "prefixItems", "discriminator", "unevaluated", "$dynamicRef"):
        assert keyword not in text


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_specs_validate_and_start_with_the_modeline(path: Path, validator: jsonschema.Draft7Validator) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE
    assert (path.parent / MODELINE.split("=", 1)[1]).resolve() == COMMITTED
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(text))]
    assert errors == []


BROKEN = {
    "unknown type": "layers: [{type: Dense, out_features: 10}]",
    "unknown bare type": "layers: [Relu]",
    "wrong argument type": "layers: [{type: Conv2d, out_channels: 6.5, kernel_size: 3}]",
    "boolean as size": "layers: [{type: Linear, out_features: true}]",
    "unknown argument": "layers: [{type: Conv2d, out_channels: 6, kernal_size: 3, kernel_size: 3}]",
    "missing out_channels": "layers: [{type: Conv2d, kernel_size: 3}]",
    "bare layer that needs arguments": "layers: [Conv2d]",
    "layer without type": "layers: [{out_features: 10}]",
    "three-element kernel": "layers: [{type: MaxPool2d, kernel_size: [2, 2, 2]}]",
    "bad padding mode": "layers: [{type: Conv2d, out_channels: 6, kernel_size: 3, padding_mode: zero}]",
    "probability above 1": "layers: [{type: Dropout, p: 1.5}]",
    "name not an identifier": "layers: [{type: ReLU, name: 1st}]",
    "unknown init": "init: kaiming\nlayers: [ReLU]",
    "unknown top-level key": "layer: [ReLU]",
}


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_broken_specs_fail_the_schema_and_netspec(body: str, validator: jsonschema.Draft7Validator) -> None:
    text = "input: [1, 28, 28]\n" + body + "\n"
    assert list(validator.iter_errors(yaml.safe_load(text))), "the schema accepts it"
    with pytest.raises(SpecError):
        netspec.parse_spec(text)


BEYOND_LIMITS = {  # netspec's bounds on sizes, names and dims, which the schema used to leave out
    "five input sizes": "input: [3, 8, 8, 8, 8]\nlayers: [ReLU]",
    "input beyond int64": "input: [9223372036854775808]\nlayers: [ReLU]",
    "seed beyond int64": "input: [3]\nseed: 9223372036854775808\nlayers: [ReLU]",
    "name over 100 characters": f"name: {'a' * 101}\ninput: [3]\nlayers: [ReLU]",
    "dim out of range": "input: [3]\nlayers: [{type: Softmax, dim: 65}]",
    "start_dim out of range": "input: [3]\nlayers: [{type: Flatten, start_dim: -65}]",
}


@pytest.mark.parametrize("text", BEYOND_LIMITS.values(), ids=BEYOND_LIMITS.keys())
def test_the_schema_keeps_netspecs_limits(text: str, validator: jsonschema.Draft7Validator) -> None:
    with pytest.raises(SpecError) as e:
        netspec.parse_spec(text)
    assert e.value.diagnostics[0].code == "invalid-value"
    assert list(validator.iter_errors(yaml.safe_load(text))), "the schema accepts it"


@pytest.mark.parametrize(
    "text",
    [
        "input: [3]\nlayers: [ReLU]",
        "input: [3, 32, 32]\nseed: 9223372036854775807\nlayers: [{type: Softmax, dim: -64}]",
        f"name: {'a' * 100}\ninput: [9223372036854775807]\nlayers: [{{type: Flatten, start_dim: 64}}]",
    ],
)
def test_the_schema_accepts_values_at_the_limits(text: str, validator: jsonschema.Draft7Validator) -> None:
    netspec.spec_from_data(yaml.safe_load(text))  # valid for netspec (start_dim 64 only fails the checker)
    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def test_shorthands_are_accepted(validator: jsonschema.Draft7Validator) -> None:
    text = "input: [1, 28, 28]\ninit: kaiming_normal\nseed: 0\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"
    netspec.parse_spec(text)
    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def _json(value: Any) -> Any:
    """What a YAML file holds: lists, not tuples."""
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


@settings(max_examples=200)
@given(data=spec_dicts())
def test_the_schema_accepts_every_spec_netspec_accepts(
    data: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    netspec.spec_from_data(data)  # the generator draws valid arguments (shapes may still fail the checker)
    errors = [e.message for e in validator.iter_errors(_json(data))]
    assert errors == []


def test_cli_schema_prints_the_committed_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == COMMITTED.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["schema", "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 0
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


def test_cli_schema_does_not_import_torch() -> None:
    probe = (
        "import sys; from netspec.cli import main; sys.argv = ['netspec', 'schema']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["title"] == "netspec spec"
