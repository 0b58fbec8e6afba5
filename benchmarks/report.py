"""The results as the table `make bench` prints and the README's Performance section shows."""

from __future__ import annotations

from typing import Any

from . import check_blocks, check_scale, draw, lsp


def _row(name: str, ours: str, theirs: str, result: str, goal: str, met: bool | None) -> tuple[str, ...]:
    verdict = ("skipped" if goal else "") if met is None else ("met" if met else "NOT MET")
    return (name, ours, theirs, result, goal, verdict)


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    out = []
    for b in results["benchmarks"]:
        name = b["name"]
        if name == "check latency":
            out.append(
                _row(
                    name,
                    f"{b['netspec_s'] * 1000:.0f} ms",
                    f"{b['torch_torchinfo_s'] * 1000:.0f} ms",
                    f"{b['speedup']:.1f}x faster",
                    b["goal"],
                    b["met"],
                )
            )
            if "full_command_s" in b:
                out.append(
                    _row(
                        "check latency: the full command line", f"{b['full_command_s'] * 1000:.0f} ms", "", "", "", None
                    )
                )
                out.append(
                    _row(
                        "check latency: no bytecode yet",
                        f"{b['netspec_no_bytecode_s'] * 1000:.0f} ms",
                        "",
                        "",
                        "",
                        None,
                    )
                )
        elif name == "check at scale":
            for r in b["rows"]:
                timed = r["layers"] == 10_000  # the one size with a time goal
                out.append(
                    _row(
                        f"check {r['layers']:,} layers",
                        f"{r['check_s'] * 1000:.1f} ms",
                        "",
                        f"peak {r['peak_rss_mib']:.0f} MiB",
                        f"< {check_scale.GOAL_10K_S:g} s" if timed else "",
                        r["check_s"] < check_scale.GOAL_10K_S if timed else None,
                    )
                )
            growth = ", ".join(f"{g:.1f}x" for g in b["growth_per_10x"])
            goal = f"<= {check_scale.GOAL_GROWTH:g}x"
            out.append(
                _row(
                    "check time per 10x layers",
                    "",
                    "",
                    growth,
                    goal,
                    all(g <= check_scale.GOAL_GROWTH for g in b["growth_per_10x"]),
                )
            )
        elif name == "check with blocks":
            out.append(
                _row(
                    "check specs/resnet50.yaml",
                    f"{b['resnet50_s'] * 1000:.0f} ms",
                    f"{b['lenet_s'] * 1000:.0f} ms (lenet)",
                    f"{b['ratio']:.2f}x LeNet's time",
                    f"<= {check_blocks.GOAL_RATIO:g}x",
                    b["ratio"] <= check_blocks.GOAL_RATIO,
                )
            )
            for r in b["rows"]:
                timed = r["blocks"] == 10_000
                out.append(
                    _row(
                        f"check {r['blocks']:,} residual blocks",
                        f"{r['check_s'] * 1000:.0f} ms",
                        "",
                        f"{r['nodes']:,} nodes" + (f"; {b['growth_per_10x'][-1]:.1f}x per 10x" if timed else ""),
                        f"< {check_blocks.GOAL_10K_S:g} s" if timed else "",
                        r["check_s"] < check_blocks.GOAL_10K_S if timed else None,
                    )
                )
        elif name == "language server":
            for r in b["rows"]:
                out.append(
                    _row(
                        f"lsp: re-check {r['spec']} after an edit",
                        f"{r['median_ms']:.1f} ms",
                        "",
                        f"p90 {r['p90_ms']:.1f} ms; {r['final_rss_mib']:.0f} MiB resident,"
                        f" {r['growth_mib']:+.1f} MiB over edits {min(100, r['edits'])} to {r['edits']:,}",
                        f"median <= {lsp.GOAL_MS:g} ms, memory flat",
                        r["median_ms"] <= lsp.GOAL_MS and r["growth_mib"] <= lsp.GOAL_GROWTH_MIB,
                    )
                )
        elif name == "draw":
            for r in b["rows"]:
                timed = r["spec"] == "tower-200"
                out.append(
                    _row(
                        f"draw {r['spec']} (every block)",
                        f"{r['draw_s'] * 1000:.0f} ms",
                        f"{r['check_s'] * 1000:.0f} ms (check)",
                        f"{r['draw_cpu_s'] * 1000:.0f} ms CPU; {r['in_process_s'] * 1000:.0f} ms in process;"
                        f" SVG {r['svg_kb']:.0f} KB",
                        f"< {draw.GOAL_S * 1000:g} ms, < {draw.GOAL_KB} KB" if timed else "",
                        r["draw_s"] < draw.GOAL_S and r["svg_kb"] < draw.GOAL_KB if timed else None,
                    )
                )
        elif name.startswith("trainer:"):
            out.append(
                _row(
                    name,
                    f"{b['netspec_samples_per_s']:,.0f} samples/s",
                    f"{b['handwritten_samples_per_s']:,.0f} samples/s",
                    f"{b['speedup']:.2f}x; val acc {b['netspec_val_acc']:.3f} vs {b['handwritten_val_acc']:.3f}",
                    b["goal"],
                    b["met"],
                )
            )
            out.append(
                _row(
                    f"{name}: time to first batch",
                    f"{b['netspec_startup_s']:.2f} s",
                    f"{b['handwritten_startup_s']:.2f} s",
                    "",
                    "",
                    None,
                )
            )
        elif name.startswith("cuda"):
            if b.get("skipped"):
                out.append(_row(name, "", "", b["skipped"], b["goal"], None))
            else:
                out.append(
                    _row(
                        name,
                        f"{b['netspec_samples_per_s']:,.0f} samples/s",
                        f"{b['fp32_samples_per_s']:,.0f} samples/s",
                        f"{b['speedup']:.2f}x; {100 * b['fraction_of_peak']:.1f}% of peak",
                        b["goal"],
                        b["met"],
                    )
                )
    return out


def table(results: dict[str, Any]) -> str:
    head = ("benchmark", "netspec", "baseline", "result", "goal", "")
    body = rows(results)
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (head, *body)]
    m = results["machine"]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines.append(
        f"{results['date']} · {m['cpu']}, {m['cores']} cores · Python {m['python']} · torch {m['torch']}"
        f" · {'CUDA' if m['cuda'] else 'no GPU'} · {results['seconds']:.0f} s in all"
    )
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    """The same table in Markdown, for the README."""
    head = ("benchmark", "netspec", "baseline", "result", "goal", "")
    body = rows(results)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
    return "\n".join(lines)
