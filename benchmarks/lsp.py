"""Benchmark 5: the language server re-checking a ~200-layer spec after one edit, and its memory over 1,000 edits.

`python -m netspec lsp` runs as a subprocess, as an editor runs it; this module is its client, speaking JSON-RPC over
its stdin and stdout. After opening the spec, each edit is one incremental `didChange` of a few characters (the last
Linear's `out_features`, every fifth edit an invalid value, so the error path is measured too), and the time is from
writing the notification to reading the `publishDiagnostics` for that version. Edits are sent one at a time.
"""

from __future__ import annotations

import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 30.0  # median from the change notification to published diagnostics
GOAL_GROWTH_MIB = 5.0  # resident memory between the 100th and the last edit
EDITS = 1_000


def chain_text(layers: int) -> str:
    """A plain chain of `layers` layers (Conv2d, BatchNorm2d, ReLU, repeated; then the head)."""
    body = "".join(
        "  - {type: Conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}\n  - BatchNorm2d\n  - ReLU\n"
        for _ in range((layers - 3) // 3)
    )
    return (
        f"name: chain-{layers}\ninput: [3, 32, 32]\nlayers:\n{body}"
        "  - {type: AdaptiveAvgPool2d, output_size: 1}\n  - Flatten\n  - {type: Linear, out_features: 10}\n"
    )


class Client:
    """A minimal language client: framed JSON-RPC over the server's pipes, notifications queued with their time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "netspec", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        self.messages: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.next_id = 0

    def _read(self, out: IO[bytes]) -> None:
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            body = out.read(length)
            self.messages.put((time.perf_counter(), json.loads(body)))

    def send(self, method: str, params: Any, request: bool = False) -> float:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        assert self.process.stdin is not None
        sent = time.perf_counter()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()
        return sent

    def wait(self, match: Any) -> tuple[float, dict[str, Any]]:
        while True:
            at, message = self.messages.get(timeout=60)
            if match(message):
                return at, message

    def published(self, version: int) -> tuple[float, list[Any]]:
        at, message = self.wait(
            lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == version
        )
        return at, message["params"]["diagnostics"]

    def rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.send("shutdown", None, request=True)
        self.wait(lambda m: m.get("id") == self.next_id)
        self.send("exit", None)
        self.process.wait(timeout=10)


def _edit(client: Client, uri: str, version: int, line: int, col: int, old: str, new: str) -> float:
    change = {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + len(old)}}}
    return client.send(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{**change, "text": new}]},
    )


def measure(name: str, text: str, edits: int) -> dict[str, Any]:
    """Open `text`, then edit its last Linear's `out_features` `edits` times, one at a time."""
    client = Client()
    try:
        client.send("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, request=True)
        client.wait(lambda m: m.get("id") == client.next_id)
        client.send("initialized", {})
        uri = f"file:///bench/{name}.yaml"
        item = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        client.send("textDocument/didOpen", {"textDocument": item})
        _, first = client.published(1)
        assert first == [], f"{name} should check cleanly: {first}"
        lines = text.split("\n")
        row = max(i for i, line in enumerate(lines) if "out_features:" in line)
        col = lines[row].index("out_features:") + len("out_features: ")
        old = lines[row][col:].split("}")[0].split(",")[0]
        times: list[float] = []
        errors = 0
        rss: dict[str, float] = {}  # by edit number, as JSON keys
        for i in range(1, edits + 1):
            new = "0" if i % 5 == 0 else str(1000 + i % 7)  # `out_features: 0` is an invalid-value error
            sent = _edit(client, uri, i + 1, row, col, old, new)
            at, diagnostics = client.published(i + 1)
            times.append((at - sent) * 1000)
            errors += bool(diagnostics)
            old = new
            if i in (1, 100, edits // 2, edits):
                rss[str(i)] = client.rss_mib()
        client.close()
    finally:
        if client.process.poll() is None:
            client.process.kill()
    ordered = sorted(times)
    return {
        "spec": name,
        "edits": edits,
        "median_ms": statistics.median(times),
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
        "with_errors": errors,
        "rss_mib": rss,
        "final_rss_mib": rss[str(edits)],
        "growth_mib": rss[str(edits)] - rss[str(min(100, edits))],
    }


def run(edits: int = EDITS) -> dict[str, Any]:
    from netspec import check, parse_spec

    resnet = (ROOT / "specs" / "resnet50.yaml").read_text(encoding="utf-8")
    nodes = sum(1 for _ in check(parse_spec(resnet)).walk())
    rows = [measure("resnet50", resnet, edits), measure("chain-201", chain_text(201), edits)]
    return {
        "name": "language server",
        "workload": f"`netspec lsp` as a subprocess; specs/resnet50.yaml ({nodes} nodes, with block templates) and a"
        f" 201-layer chain; {edits:,} one-at-a-time incremental edits of the last Linear's out_features (every fifth"
        " invalid); time from writing didChange to reading publishDiagnostics for that version; resident memory of"
        " the server after edits 1, 100, the middle and the last",
        "rows": rows,
        "goal": f"median <= {GOAL_MS:g} ms; memory flat (<= {GOAL_GROWTH_MIB:g} MiB from edit 100 to the last)",
        "met": all(r["median_ms"] <= GOAL_MS and r["growth_mib"] <= GOAL_GROWTH_MIB for r in rows),
    }
