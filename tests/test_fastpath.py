"""The fast path of `netspec check` (netspec/fastpath.py), held to the pydantic path it stands in for.

It must never differ: where it accepts a spec, its records are pydantic's field for field and the
command prints byte for byte what the full command prints; where pydantic refuses a spec, it declines.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from netspec import fastpath, fastpath_gen, render
from netspec.blocks import expand
from netspec.cli import cli
from netspec.diagnostics import SpecError
from netspec.inputs import Input
from netspec.layers import KINDS
from netspec.report import check
from netspec.spec import load_spec, spec_from_data

from .conftest import ROOT, SPECS
from .test_fuzz import VALUES, _mutate
from .test_torch_oracle import spec_dicts

RECORDS = fastpath.records()
GOLDEN = sorted((ROOT / "tests" / "golden").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("**/*.yaml"))


def test_the_table_is_what_the_records_give() -> None:
    """fastpath_table.py is generated from the pydantic records; a record changed without `make fastpath` fails."""
    assert fastpath_gen.table() == fastpath_gen.TABLE.read_text(encoding="utf-8"), "run `make fastpath`"


def test_every_record_and_nearly_every_field_has_a_check() -> None:
    """What the table leaves to pydantic is listed here, so that it only shrinks on purpose."""
    left = sorted(name for name, entry in RECORDS.items() if entry is None)
    no = sorted(f"{name}.{f}" for name, entry in RECORDS.items() if entry for f, c, _ in entry[0] if c == ("no",))
    assert left == []
    # a bound pydantic checks (`Field(ge=0, le=0.5)`) with no validator of netspec's before it
    assert no == ["ColorJitter.hue", "Grayscale.num_output_channels"]
    assert set(KINDS) <= set(RECORDS)


def same(fast: Any, slow: Any, where: str = "spec") -> None:
    """`fast` (the fast path's) holds what `slow` (pydantic's) holds, with the same types: 1.0 is not 1."""
    if isinstance(slow, BaseModel):
        assert isinstance(fast, fastpath.Record), where
        assert type(fast).__name__ == type(slow).__name__, where
        assert fast.field_names == tuple(type(slow).model_fields), where
        for name in type(slow).model_fields:
            same(getattr(fast, name), getattr(slow, name), f"{where}.{name}")
        for name in type(slow).__class_vars__ - {"checks"}:  # prefix, input_sizes, spatial, ...
            assert getattr(fast, name) == getattr(slow, name), f"{where}: class attribute {name}"
        return
    assert type(fast) is type(slow), f"{where}: {type(fast).__name__} against {type(slow).__name__}"
    if isinstance(slow, (list, tuple)) and not isinstance(slow, Input):
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(slow, dict):
        assert list(fast) == list(slow), where
        for k in slow:
            same(fast[k], slow[k], f"{where}.{k}")
    elif isinstance(slow, float) and math.isnan(slow):
        assert math.isnan(fast), where
    elif isinstance(slow, float) and slow == 0:
        assert math.copysign(1, fast) == math.copysign(1, slow), where  # -0.0 stays -0.0
    else:
        assert fast == slow, where


def both(data: Any) -> tuple[Any, Any]:
    """The spec `data` validated both ways: (the fast path's record or None, pydantic's Spec or None)."""
    try:
        slow = spec_from_data(data)
    except SpecError:
        slow = None
    try:
        expanded, _ = expand(data)
        fast = fastpath.record("Spec", expanded)
    except (fastpath.Decline, SpecError):
        fast = None
    return fast, slow


def agree(data: Any) -> Any:
    """Where the fast path accepts, pydantic accepts the same; where pydantic refuses, the fast path declines."""
    fast, slow = both(data)
    if fast is not None:
        assert slow is not None, "the fast path accepted a spec pydantic refuses"
        same(fast, slow)
    return fast, slow


@pytest.mark.parametrize("path", [*SPECS, *EXAMPLES, *GOLDEN], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_spec_in_the_repository_reads_the_same_both_ways(path: Path) -> None:
    try:
        slow = load_spec(path)
    except SpecError:
        slow = None
    fast = fastpath.load(str(path))
    if slow is None:
        assert fast is None
        return
    assert fast is not None, "a valid spec in the repository should take the fast path"
    same(fast, slow)
    assert fast.source == slow.source and fast.origins == slow.origins


@settings(max_examples=300)
@given(spec_dicts(blocks=True))
def test_random_specs_read_the_same_and_check_the_same(data: dict[str, Any]) -> None:
    fast, slow = agree(data)
    assert fast is not None, "the generator draws valid specs: the fast path should take them"
    try:
        expected: Any = render.table(check(slow))
    except SpecError as e:
        expected = [render.concise(d) for d in e.diagnostics]
    try:
        got: Any = render.table(check(fast))
    except SpecError as e:
        got = [render.concise(d) for d in e.diagnostics]
    assert got == expected


@settings(max_examples=500)
@given(
    spec_dicts(), st.sampled_from(sorted({f for entry in RECORDS.values() if entry for f, _, _ in entry[0]})), VALUES
)
def test_a_wrong_argument_is_left_to_pydantic(data: dict[str, Any], key: str, value: Any) -> None:
    """One argument set to anything: refused by pydantic means declined here; accepted means accepted alike."""
    mutated = _mutate(data, key, value)
    fast, slow = agree(mutated)
    event("refused" if slow is None else "accepted, and taken" if fast is not None else "accepted, declined")
    if slow is not None and fast is None:  # pydantic takes it: the fast path should too, unless the table can't
        layer = mutated["layers"][len(key) % len(mutated["layers"])]
        entry = RECORDS.get(layer.get("type")) if isinstance(layer, dict) else None
        checks = {f: c for f, c, _ in entry[0]} if entry else {}
        assert checks.get(key) == ("no",) or not _plain(value), f"declined a spec pydantic takes: {key}={value!r}"


# values near the edges of what arguments take: sizes, probabilities, the strings of torch's choices, lists of them
EDGES = st.one_of(
    st.integers(1, 8),
    st.sampled_from([-1, 0, 64, 65, 2**63 - 1, 2**63, True, False, None]),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 1e-5, -0.1, float("nan"), float("inf")]),
    st.sampled_from(["same", "valid", "kaiming_normal", "LayerNorm", "ReLU", "x", ""]),
)
NEAR = st.recursive(
    EDGES,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["type", "a", "p"]), inner)),
    max_leaves=6,
)


def _values(check: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Values for a field of the table: its choices for a literal, sizes and lists of them, anything else too."""
    if check[0] == "opt":
        return st.one_of(st.none(), _values(check[1]))
    if check[0] == "lit":
        return st.one_of(st.sampled_from(check[1]), st.sampled_from(check[1]), NEAR)
    return st.one_of(EDGES, st.lists(st.integers(1, 8), min_size=1, max_size=4), NEAR)


@settings(max_examples=1000)
@given(spec_dicts(), st.data())
def test_any_value_of_a_real_argument_reads_the_same(data: dict[str, Any], draw: Any) -> None:
    """An argument the layer has, set to values near its edges: most are valid, and must read alike."""
    layers = list(data["layers"])
    i = draw.draw(st.integers(0, len(layers) - 1))
    layer = layers[i] if isinstance(layers[i], dict) else {"type": layers[i]}
    fields, _, _ = RECORDS[layer["type"]]
    key, check, _ = draw.draw(st.sampled_from([f for f in fields if f[0] != "type"]))
    layers[i] = {**layer, key: draw.draw(_values(check))}
    fast, slow = agree({**data, "layers": layers})
    event("refused" if slow is None else "accepted, and taken" if fast is not None else "accepted, declined")
    if slow is not None:
        assert fast is not None, f"declined a spec pydantic takes: {layers[i]}"


def _plain(value: Any) -> bool:
    """Data as YAML gives it (no tuples): the fast path declines what YAML cannot write."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, float, str))


@pytest.mark.parametrize(
    "data",
    [
        {"input": [1, 8, 8], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "stride": True}]},
        {"input": [1, 8, 8], "layers": [{"type": "Conv2d", "out_channels": 2.0, "kernel_size": 3}]},
        {"input": [1, 8, 8], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "extra": 1}]},
        {"input": [1, 8, 8], "layers": [{"type": "Conv2d", "kernel_size": 3}]},
        {"input": [1, 8, 8], "layers": [{"type": "ReLU", "name": "a"}, {"type": "ReLU", "name": "a"}]},
        {"input": [1, 8, 8], "layers": [{"type": "Dropout", "p": 1.5}]},
        {"input": [1, 8, 8], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "init": "bad"}]},
        {"input": [1, 8, 8], "layers": ["Flatten"], "train": {"optimizer": {"type": "SGD", "nesterov": True}}},
        {
            "input": [1, 8, 8],
            "layers": ["Flatten"],
            "train": {"dataset": {"name": "tensors", "path": "x.npz", "test_fraction": 0.1, "test_path": "t.npz"}},
        },
        {"input": [1, 8, 8], "layers": ["Flatten"], "train": {"epochs": 0}},
        {"input": [0, 8], "layers": ["Flatten"]},
        {"input": [1, 8, 8], "layers": []},
    ],
    ids=lambda d: str(d)[:60],
)
def test_what_pydantic_refuses_the_fast_path_declines(data: dict[str, Any]) -> None:
    with pytest.raises((SpecError, ValidationError)):
        spec_from_data({"name": "x", **data})
    assert both({"name": "x", **data})[0] is None


# Values at the edges of every kind of argument, and the shorthands: each is tried in every field of every record.
EDGE_VALUES = [
    *[-(2**63), -3, -1, 0, 1, 2, 3, 5, 7, 64, 65, 2**63 - 1, 2**63, True, False, None],
    *[0.0, -0.0, 0.3, 0.5, 0.999, 1.0, 1.5, 3.0, -0.5, 1e-5, 1e-300, 1e19, 1e308],
    *[float("nan"), float("inf"), float("-inf")],
    *["", " ", "x", "x" * 200, "a\n", "same", "valid", "zeros", "auto", "cpu", "cuda:0", "cuda:0\n", " cuda"],
    *["mean", "sum", "none", "relu", "nearest", "fan_in", "fan_out", "leaky_relu", "kaiming_normal", "default"],
    *["ReLU", "LayerNorm", "digits", "Adam", "StepLR", "MSELoss", b"x"],
    *[[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [0, 0], [0, 1], [2, 1], [-1, 2], [1, -1], [None, 2], [[1]]],
    *[[0.5, 0.6], [0.1, 0.2, 0.3], [1.0, 2.0, 3.0, 4.0], [float("nan")], [float("nan"), 1.0], [1.0, float("nan")]],
    *[{}, {"type": "ReLU"}, {"type": "LayerNorm"}, {"patience": 3}, ["ReLU"], [{"type": "ReLU"}]],
    *[{"name": "mnist"}, {"name": "tensors", "path": "a", "test_fraction": 0.5}, {"type": "StepLR", "step_size": 2}],
    *[{"type": "SGD", "momentum": 0.9, "nesterov": True}, {"type": "SGD", "nesterov": True}],
    *[[{"type": "ColorJitter", "brightness": float("nan")}], ["RandomHorizontalFlip"]],
]


def _base(model: Any, fields: tuple[Any, ...]) -> dict[str, Any]:
    """Values for a record's required fields that pydantic takes (the first that fits from EDGE_VALUES)."""
    base: dict[str, Any] = {}
    for name, field_check, default in fields:
        if default != ("required",):
            continue
        tags = list(field_check[1]) if field_check[0] == "lit" else []
        extra = [[["ReLU"], ["ReLU"]], {"d_model": 8, "nhead": 2}, [1, 8, 8], "x.npz", 8]
        for value in [*tags, *EDGE_VALUES, *extra]:
            try:
                model.model_validate({**base, name: value})
            except ValidationError as e:
                if any(err["loc"][:1] == (name,) for err in e.errors()):
                    continue
            base[name] = value
            break
    return base


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_field_of_every_record_reads_as_pydantic_reads_it(name: str) -> None:
    """Each field of the record set to each edge value: accepted alike (and equal), or declined."""
    model = fastpath_gen.models()[name]
    fields = RECORDS[name][0]
    base = _base(model, fields)
    taken = 0
    tries = [(None, None)] + [(field, value) for field, _, _ in fields for value in EDGE_VALUES]
    for field, value in tries:
        data = base if field is None else {**base, field: value}
        try:
            fast = fastpath.record(name, data)
        except fastpath.Decline:
            continue
        try:
            slow = model.model_validate(data)
        except ValidationError as e:
            pytest.fail(f"the fast path takes {field}={value!r}, which pydantic refuses: {e.errors()[0]['msg']}")
        same(fast, slow, f"{name}.{field}={value!r}")
        taken += 1
    assert taken, "no value was taken: the sweep tests nothing for this record"


# -- the command ------------------------------------------------------------------------------

VARIANTS = [[], ["--format", "concise"], ["--depth", "1"], ["--depth=0"], ["--json"], ["--format=full", "--json"]]


@pytest.mark.parametrize("variant", VARIANTS, ids=" ".join)
def test_the_fast_command_prints_what_the_full_command_prints(
    variant: list[str], monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.chdir(ROOT)
    taken = shape_errors = 0
    for path in [*SPECS, *GOLDEN]:
        name = str(path.relative_to(ROOT))
        code = fastpath.run_check([name, *variant])
        fast = capsys.readouterr()
        full = CliRunner().invoke(cli, ["check", name, *variant])
        if code is None:  # declined: a schema error, which pydantic words (and only the full command prints)
            assert full.exit_code != 0 and fastpath.load(name) is None, name
            continue
        taken += 1
        shape_errors += code != 0
        assert (code, fast.out, fast.err) == (full.exit_code, full.stdout, full.stderr), name
    assert taken >= len(SPECS) and shape_errors >= 10  # the golden files' shape errors are the fast path's too


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["a.yaml"], (["a.yaml"], "full", None, False)),
        (["a.yaml", "b.yaml", "--format", "concise"], (["a.yaml", "b.yaml"], "concise", None, False)),
        (["--depth", "2", "a.yaml", "--json"], (["a.yaml"], "full", 2, True)),
        ([], None),
        (["a.yaml", "--input", "1,28,28"], None),
        (["a.yaml", "--sizes"], None),
        (["a.yaml", "--depth", "-1"], None),
        (["a.yaml", "--depth"], None),
        (["a.yaml", "--format", "fancy"], None),
        (["a.yaml", "--help"], None),
        (["./a.yaml"], None),  # pathlib would show it as `a.yaml`: the full command, for the same file name
        (["specs//a.yaml"], None),
        (["specs/"], (["specs"], "full", None, False)),
        (["/"], None),
        (["--", "a.yaml"], None),
    ],
)
def test_the_fast_path_parses_only_what_it_is_sure_of(argv: list[str], expected: Any) -> None:
    assert fastpath._options(argv) == expected


def _netspec(*args: str, fast: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_NO_FASTPATH"}
    if not fast:
        env["NETSPEC_NO_FASTPATH"] = "1"
    return subprocess.run([sys.executable, "-m", "netspec", *args], cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "specs/lenet.yaml", "specs/resnet18.yaml"],
        ["check", "./specs/lenet.yaml"],
        ["check", "specs/", "--format", "concise"],
        ["check", "specs", "tests/golden"],
        ["check", "specs/lenet.yaml", "--input", "1,28,28"],
        ["check", "tests/golden/branch-mismatch.yaml"],
        ["check", "no/such/file.yaml"],
        ["check", "specs/lenet.yaml", "--format", "fancy"],
        ["check", "specs/lenet.yaml", "--depth", "1" * 5000],
    ],
    ids=" ".join,
)
def test_the_command_is_the_same_with_and_without_the_fast_path(args: list[str]) -> None:
    fast, full = _netspec(*args), _netspec(*args, fast=False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr)


def test_a_clean_check_loads_neither_pydantic_nor_click_nor_torch() -> None:
    code = (
        "import sys; sys.argv = ['netspec', 'check', 'specs/lenet.yaml', 'specs/resnet50.yaml']\n"
        "from netspec.entry import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pydantic_core', 'click', 'torch'})\n"
        "print('loaded:', loaded, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stderr
    assert "resnet50" in done.stdout


def test_a_table_older_than_the_records_is_not_used(monkeypatch: Any) -> None:
    """A record edited without `make fastpath`: the full command answers until the table is written again."""
    from netspec import fastpath_table

    assert fastpath.load(str(ROOT / "specs" / "lenet.yaml")) is not None
    monkeypatch.setattr(fastpath_table, "DIGEST", fastpath_table.DIGEST + 1)
    monkeypatch.setattr(fastpath, "_records", None)
    assert fastpath.records() == {}
    assert fastpath.load(str(ROOT / "specs" / "lenet.yaml")) is None
    assert fastpath.run_check([str(ROOT / "specs" / "lenet.yaml")]) is None


@pytest.mark.parametrize(
    "spec", ["specs/lenet.yaml", "tests/golden/implicit-dim.yaml", "tests/golden/shape-mismatch.yaml"]
)
def test_a_spec_on_a_pipe_is_read_once(spec: str) -> None:
    """`netspec check /dev/stdin`: a pipe cannot be read twice, so the fast path leaves it to the full command."""
    text = (ROOT / spec).read_text(encoding="utf-8")
    runs = [
        subprocess.run(
            [sys.executable, "-m", "netspec", "check", "/dev/stdin", "--format", "concise"],
            cwd=ROOT,
            input=text,
            capture_output=True,
            text=True,
            env={**os.environ, "NETSPEC_NO_FASTPATH": flag},
        )
        for flag in ("", "1")
    ]
    fast, full = ((r.returncode, r.stdout, r.stderr) for r in runs)
    assert fast == full
    assert "/dev/stdin" in runs[0].stdout + runs[0].stderr and "is empty" not in runs[0].stderr


def test_terminal_styles_in_a_file_name_are_left_out_as_click_leaves_them(tmp_path: Path) -> None:
    odd = tmp_path / "a\033[31mb.yaml"
    odd.write_text((ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    fast, full = (
        subprocess.run(
            [sys.executable, "-m", "netspec", "check", odd.name, "--format", "concise"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "NETSPEC_NO_FASTPATH": flag, "PYTHONPATH": str(ROOT)},
        )
        for flag in ("", "1")
    )
    assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout)
    assert full.returncode == 0 and full.stdout.startswith("ab.yaml: ok")


def test_a_closed_stdout_is_the_full_commands_business() -> None:
    runs = [
        subprocess.run(
            f"{sys.executable} -m netspec check specs/lenet.yaml >&-",
            shell=True,
            cwd=ROOT,
            capture_output=False,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NETSPEC_NO_FASTPATH": flag},
        )
        for flag in ("", "1")
    ]
    assert (runs[0].returncode, runs[0].stderr) == (runs[1].returncode, runs[1].stderr)
    assert "Traceback" not in runs[0].stderr


def _on_a_terminal(args: list[str], fast: bool) -> tuple[int, bytes]:
    """`python -m netspec ARGS` with stdout and stderr on one pseudo-terminal: what a user sees, styles and order."""
    pty = pytest.importorskip("pty")
    main, side = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_NO_FASTPATH"} | (
        {} if fast else {"NETSPEC_NO_FASTPATH": "1"}
    )
    process = subprocess.Popen([sys.executable, "-m", "netspec", *args], stdout=side, stderr=side, cwd=ROOT, env=env)
    os.close(side)
    seen = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the terminal closed: the process has exited
            break
        if not data:
            break
        seen += data
    os.close(main)
    return process.wait(timeout=60), seen


@pytest.mark.parametrize(
    "args",
    [
        ["check", "specs/lenet.yaml", "tests/golden/shape-mismatch.yaml", "tests/golden/implicit-dim.yaml"],
        ["check", "tests/golden/branch-mismatch.yaml", "--format", "concise"],
    ],
    ids=" ".join,
)
def test_on_a_terminal_the_styles_and_the_order_are_the_full_commands(args: list[str]) -> None:
    fast, full = _on_a_terminal(args, fast=True), _on_a_terminal(args, fast=False)
    assert fast == full
    assert b"\x1b[" in fast[1] or "--format" in args  # styled: it was a terminal
