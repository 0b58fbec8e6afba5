"""The check path never imports torch: `import netspec` and `netspec check` stay light and fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from .conftest import ROOT

# Runs in a fresh interpreter, so nothing the test session imported can hide an import.
PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys, time
    start = time.perf_counter()
    from netspec.cli import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["check", *sys.argv[1:]], prog_name="netspec", standalone_mode=False)
    seconds = time.perf_counter() - start
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "torchvision", "torchinfo", "numpy"})
    print(json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "heavy": heavy,
                      "seconds": seconds}))
    """
)


def probe(*args: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, object] = json.loads(run.stdout)
    return result


def test_check_prints_lenet_without_importing_torch() -> None:
    result = probe("specs/lenet.yaml")
    assert result["heavy"] == []
    assert result["code"] == 0
    stdout = str(result["stdout"])
    assert "61,706 params" in stdout
    assert stdout.rstrip().endswith("output (N, 10)")  # how fast: `make bench` (benchmarks/check_latency.py)


def test_every_shipped_spec_and_every_format_stays_torch_free() -> None:
    for args in (["specs"], ["specs", "--json"], ["specs", "--format", "concise"], ["tests/golden"]):
        result = probe(*args)
        assert result["heavy"] == [], args


def test_the_python_api_stays_torch_free() -> None:
    code = (
        "import sys, netspec; "
        "r = netspec.check(netspec.load_spec('specs/lenet5-d2l.yaml')); "
        "netspec.parse_spec('input: [4]\\nlayers: [ReLU]'); "
        "print(r.total_params, 'torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["44426", "False"], run.stderr
