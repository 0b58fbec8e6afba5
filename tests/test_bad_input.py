"""Every kind of bad input ends in one clean diagnostic and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import netspec
import netspec.source
from netspec.cli import cli

from .conftest import ROOT

LAYERS = "layers:\n  - {type: Conv2d, out_channels: 6, kernel_size: 5}\n"
BILLION_LAUGHS = (
    'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    + "input: *i\nlayers: [ReLU]\n"
)  # 9 levels of 9: 387,420,489 strings once expanded

# (id, file contents, code, message): the first diagnostic netspec gives for that file
CASES: list[tuple[str, bytes, str, str]] = [
    ("empty", b"", "missing-field", "the spec is empty: it needs `input` and `layers`"),
    (
        "only-comments",
        b"# a spec\n\n   # nothing yet\n",
        "missing-field",
        "the spec is empty: it needs `input` and `layers`",
    ),
    (
        "root-list",
        b"- Conv2d\n- ReLU\n",
        "invalid-value",
        "the spec must be a mapping with `input` and `layers`, got a list",
    ),
    ("root-string", b"lenet\n", "invalid-value", "the spec must be a mapping with `input` and `layers`, got a string"),
    ("root-number", b"42\n", "invalid-value", "the spec must be a mapping with `input` and `layers`, got a number"),
    (
        "yaml-syntax",
        b"input: [1, 28, 28\n" + LAYERS.encode(),
        "yaml-syntax",
        "expected `,` or `]` in the list, found `:`",
    ),
    (
        "tab-indent",
        b"input: [1, 28, 28]\nlayers:\n\t- ReLU\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
    ),
    (
        "tab-in-mapping",
        b"input: [1, 28, 28]\nlayers:\n  - type: ReLU\n\tinplace: true\n",
        "yaml-syntax",
        "a tab character where YAML expects indentation or a value",
    ),
    (
        "gbk",
        "# 卷积层的输出通道数\ninput: [1, 28, 28]\n".encode("gbk") + LAYERS.encode(),
        "encoding",
        "the file is not valid UTF-8: byte 0xbe at line 1 cannot be decoded",
    ),
    (
        "latin-1",
        "input: [1, 28, 28]\ndescription: café\n".encode("latin-1") + LAYERS.encode(),
        "encoding",
        "the file is not valid UTF-8: byte 0xe9 at line 2 cannot be decoded",
    ),
    (
        "binary-nul",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        "encoding",
        "this looks like a binary file, not a YAML spec (it contains NUL bytes)",
    ),
    (
        "binary-bytes",
        bytes(range(0x80, 0x100)),
        "encoding",
        "the file is not valid UTF-8: byte 0x80 at line 1 cannot be decoded",
    ),
    (
        "control-character",
        b"input: [1, 28, 28]\x07\n" + LAYERS.encode(),
        "yaml-syntax",
        "the character U+0007 is not allowed in a YAML file",
    ),
    (
        "python-tag",
        b'input: !!python/object/apply:os.system ["touch marker"]\n' + LAYERS.encode(),
        "unsupported-yaml",
        "the YAML tag `!!python/object/apply:os.system` is not allowed",
    ),
    (
        "python-name-tag",
        b"input: [1, 28, 28]\nlayers:\n  - !!python/name:os.system ReLU\n",
        "unsupported-yaml",
        "the YAML tag `!!python/name:os.system` is not allowed",
    ),
    (
        "two-documents",
        b"input: [1, 28, 28]\n" + LAYERS.encode() + b"---\ninput: [3, 32, 32]\n",
        "unsupported-yaml",
        "the file holds more than one YAML document",
    ),
    (
        "duplicate-key",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: 6, kernel_size: 3, kernel_size: 5}\n",
        "duplicate-key",
        "the key `kernel_size` appears twice in this mapping (first set on line 3)",
    ),
    (
        "duplicate-top-level-key",
        b"input: [1, 28, 28]\ninput: [3, 32, 32]\n" + LAYERS.encode(),
        "duplicate-key",
        "the key `input` appears twice in this mapping (first set on line 1)",
    ),
    (
        "bool-for-int",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: true, kernel_size: 5}\n",
        "invalid-value",
        "`out_channels` must be a positive integer, got true",
    ),
    (
        "fractional-channels",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: 6.5, kernel_size: 5}\n",
        "invalid-value",
        "`out_channels` must be a positive integer, got 6.5",
    ),
    (
        "word-for-int",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: five, kernel_size: 5}\n",
        "invalid-value",
        '`out_channels` must be a positive integer, got "five"',
    ),
    (
        "zero-size",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Conv2d, out_channels: 0, kernel_size: 5}\n",
        "invalid-value",
        "`out_channels` must be a positive integer, got 0",
    ),
    (
        "negative-kernel",
        b"input: [1, 28, 28]\nlayers:\n  - {type: MaxPool2d, kernel_size: -2}\n",
        "invalid-value",
        "`kernel_size` must be a positive integer or a [height, width] pair of them, got -2",
    ),
    (
        "zero-input",
        b"input: [0, 28, 28]\n" + LAYERS.encode(),
        "invalid-value",
        "`input` must be a list of 1 to 4 positive sizes ([features], [channels, length], [channels, height, width] or"
        " [channels, depth, height, width]), or a mapping {shape, dims, tokens}, got [0, 28, 28]",
    ),
    (
        "10**30",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Linear, out_features: 1000000000000000000000000000000}\n",
        "invalid-value",
        "`out_features` must be a positive integer no larger than 2^63 - 1 (torch's int64 limit),"
        " got 1000000000000000000000000000000",
    ),
    (
        "5000-digits",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Linear, out_features: " + b"7" * 5000 + b"}\n",
        "invalid-value",
        "this integer has 5,000 digits, too many to read",
    ),
    (
        "4000-digit-input",
        b"input: [" + b"7" * 4000 + b"]\nlayers: [ReLU]\n",
        "invalid-value",
        "`input` must be a list of 1 to 4 positive sizes ([features], [channels, length], [channels, height, width] or"
        " [channels, depth, height, width]), or a mapping {shape, dims, tokens}, got [a 4,000-digit integer]",
    ),
    (
        "yaml-1.1-octal",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Linear, out_features: 010}\n",
        "invalid-value",
        "YAML reads `010` as 8 (a leading 0 means octal)",
    ),
    (
        "yaml-1.1-base-60",
        b"input: [1, 28, 28]\nlayers:\n  - {type: Linear, out_features: 1:20}\n",
        "invalid-value",
        "YAML reads `1:20` as 80 (colons mean base 60)",
    ),
    (
        "number-as-key",
        b"input: [1, 28, 28]\nlayers:\n  - {type: ReLU, 3: 4}\n",
        "unknown-field",
        "`ReLU` has no argument `3`",
    ),
    (
        "null-as-key",
        b"input: [1, 28, 28]\nlayers:\n  - {type: ReLU, null: 4}\n",
        "unknown-field",
        "`ReLU` has no argument `null`",
    ),
    (
        "billion-laughs",
        BILLION_LAUGHS.encode(),
        "unsupported-yaml",
        "aliases expand to more than 100,000 values (an alias bomb?)",
    ),
    ("deep-flow", b"input: " + b"[" * 100_000 + b"\n", "unsupported-yaml", "the document nests deeper than 64 levels"),
    (
        "deep-block",
        b"input:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 5000)),
        "unsupported-yaml",
        "the document nests deeper than 64 levels",
    ),
]


@pytest.mark.parametrize(("case", "content", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_library_raises_one_clear_error(tmp_path: Path, case: str, content: bytes, code: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(netspec.SpecError) as e:
        netspec.check(netspec.load_spec(path))
    first = e.value.diagnostics[0]
    assert (first.code, first.message) == (code, message)
    assert first.source == str(path)


@pytest.mark.parametrize(("case", "content", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_cli_exits_1_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, content: bytes, code: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_bytes(content)
    for fmt in ("full", "concise"):
        result = CliRunner().invoke(cli, ["check", "--format", fmt, "bad.yaml"])
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines()[0].startswith("bad.yaml:")
    assert f": error[{code}]: {message}" in result.stderr.splitlines()[0]


def test_python_tags_never_run(tmp_path: Path) -> None:
    """The tag would create `marker` under yaml.unsafe_load; netspec refuses it in a real process."""
    (tmp_path / "evil.yaml").write_text('input: !!python/object/apply:os.system ["touch marker"]\nlayers: [ReLU]\n')
    (tmp_path / "evil2.yaml").write_text(
        "input: [1]\nlayers:\n  - !!python/object/new:subprocess.Popen [[touch, marker]]\n"
    )
    result = run_cli(["check", "evil.yaml", "evil2.yaml"], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("error[unsupported-yaml]") == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "marker").exists()


def test_the_usual_yaml_loaders_would_be_fooled(tmp_path: Path) -> None:
    """Why netspec composes YAML itself: yaml.safe_load keeps the last duplicate key without a word."""
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load("{kernel_size: 3, kernel_size: 5}") == {"kernel_size": 5}
    with pytest.raises(netspec.SpecError, match="duplicate-key"):
        netspec.parse_spec("input: [1]\nlayers: [{type: Linear, out_features: 3, out_features: 5}]")


def _limit_memory() -> None:
    limit = 512 * 2**20  # address space: Python, pydantic and yaml take about 100 MiB of it
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("billion-laughs", BILLION_LAUGHS.encode(), "aliases expand to more than 100,000 values"),
        # one 1 MB string quoted 2,000 times: a 2 GB message if values were rendered in full
        (
            "quadratic",
            b's: &s "' + b"A" * 1_000_000 + b'"\ninput: [' + b", ".join([b"*s"] * 2000) + b"]\nlayers: [ReLU]\n",
            "`input` must be a list of 1 to 4 positive sizes",
        ),
        ("deep-flow", b"input: " + b"[" * 100_000 + b"\n", "the document nests deeper than 64 levels"),
        # 12 MB on one line: took 52 s and 3.8 GB to check (24 MB: MemoryError); refused as it streams in
        (
            "long-list",
            b"input: [4]\nlayers: [" + b", ".join([b"ReLU"] * 2_000_000) + b"]\n",
            "the document holds more than 150,000 values",
        ),
    ],
)
def test_hostile_files_cost_bounded_time_and_memory(tmp_path: Path, case: str, content: bytes, message: str) -> None:
    (tmp_path / "bomb.yaml").write_bytes(content)
    start = time.perf_counter()
    result = run_cli(["check", "bomb.yaml"], cwd=tmp_path, preexec_fn=_limit_memory, timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode == 1, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr) < 20_000  # values are quoted in part, not in full
    assert elapsed < 15, f"took {elapsed:.1f} s"


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["check", "lenet.yml"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error[io-error]: no such file: lenet.yml\n")
    assert "help: check the path" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_with_cli_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check", "--format", "concise", "nowhere/lenet.yaml"])
    assert result.exit_code == 2
    assert result.stderr == "nowhere/lenet.yaml:1:1: error[io-error]: no such file: nowhere/lenet.yaml\n"


def test_directory_without_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    (Path("empty") / "notes.txt").write_text("not a spec")
    result = CliRunner().invoke(cli, ["check", "empty"])
    assert result.exit_code == 2
    assert "error[io-error]: empty is a directory, not a spec file" in result.stderr
    assert "help: it holds no .yaml or .yml files: pass a spec file" in result.stderr
    with pytest.raises(netspec.SpecError) as e:
        netspec.load_spec(ROOT / "specs")
    assert e.value.diagnostics[0].help == f"pass the spec files in it, e.g. {ROOT / 'specs'}/*.yaml"


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("input: [1]\nlayers: [ReLU]\n")
    path.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("this container may not drop capabilities")
    result = run_cli(["check", str(path), str(ROOT / "specs" / "lenet.yaml")], cwd=ROOT, prefix=prefix)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error[io-error]: cannot read {path}: Permission denied\n")
    assert "help: check the file's permissions" in result.stderr
    assert "Traceback" not in result.stderr
    assert "61,706 params" in result.stdout  # the readable file is still checked


def test_a_file_that_fails_to_read(tmp_path: Path) -> None:
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux's /proc")
    with pytest.raises(netspec.SpecError) as e:
        netspec.load_spec("/proc/self/mem")  # reading at offset 0 fails with EIO
    (d,) = e.value.diagnostics
    assert (d.code, d.message) == ("io-error", "cannot read /proc/self/mem: Input/output error")


def run_cli(
    args: list[str], cwd: Path, preexec_fn: object = None, timeout: float = 60, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "netspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,  # type: ignore[arg-type]
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.parametrize("kind", ["sparse-file", "dev-zero"])
def test_oversized_input_is_refused_without_reading_it_all(tmp_path: Path, kind: str) -> None:
    if kind == "dev-zero":
        if not Path("/dev/zero").exists():
            pytest.skip("needs /dev/zero")
        path = Path("/dev/zero")  # endless: reading it whole would never finish
    else:
        path = tmp_path / "huge.yaml"
        with path.open("wb") as f:
            f.truncate(64 * 2**20 + 10)  # sparse: 64 MiB and a bit, instantly
    start = time.perf_counter()
    with pytest.raises(netspec.SpecError) as e:
        netspec.load_spec(path)
    (d,) = e.value.diagnostics
    assert (d.code, d.message) == ("unsupported-yaml", "the file is larger than 67,108,864 bytes, the limit for a spec")
    assert time.perf_counter() - start < 5


def test_control_characters_in_values_are_escaped_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer type holding ESC [2J would clear the terminal if echoed raw in the message."""
    monkeypatch.chdir(tmp_path)
    Path("esc.yaml").write_text('input: [3]\nlayers: [{type: "\\e[2JReLU"}, "\\u202eReLU"]\n')
    for fmt in ("full", "concise"):
        result = CliRunner().invoke(cli, ["check", "--format", fmt, "esc.yaml"])
        assert result.exit_code == 1
        assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
        assert "unknown layer type `\\x1b[2JReLU`" in result.stderr
        assert "unknown layer type `\\u202eReLU`" in result.stderr


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_control_characters_through_either_parser(monkeypatch: pytest.MonkeyPatch, loader: str) -> None:
    """The pure-Python reader refuses a control character when the loader is made, libyaml while parsing."""
    yaml = pytest.importorskip("yaml")
    if not hasattr(yaml, loader):
        pytest.skip("this PyYAML was built without libyaml")
    monkeypatch.setattr(netspec.source, "_Loader", getattr(yaml, loader))
    with pytest.raises(netspec.SpecError) as e:
        netspec.parse_spec("input: [1, 28, 28]\x07\nlayers: [ReLU]\n")
    (d,) = e.value.diagnostics
    assert (d.code, d.message) == ("yaml-syntax", "the character U+0007 is not allowed in a YAML file")
    assert d.span is not None and (d.span.line, d.span.col) == (1, 19)


def test_a_control_character_past_a_syntax_error() -> None:
    """libyaml reports the syntax error before it reads that far; netspec's second look must not trip on it."""
    text = "input: [1, 28, 28\nlayers: " + "x" * 20_000 + " \x07\n"
    with pytest.raises(netspec.SpecError) as e:
        netspec.parse_spec(text)
    (d,) = e.value.diagnostics
    assert d.code == "yaml-syntax"
    assert d.span is not None and (d.span.line, d.span.col) == (2, 7)  # the `:` after `layers`


def test_yaml_1_1_numbers_that_read_the_same_are_fine(tmp_path: Path) -> None:
    report = netspec.check(netspec.parse_spec("input: [07]\nlayers: [{type: Linear, out_features: 0x10}]"))
    assert report.output_shape == ("N", 16)
    assert report.input_shape == ("N", 7)
