"""Loss and accuracy curves of a run, drawn from its metrics.csv with matplotlib (an optional dependency)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, SpecError
from ..files import atomic_path
from .run import COLUMNS, read_metrics


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Draw `run_dir`'s loss and accuracy per epoch into `out` (default: run_dir/curves.png)."""
    return plot_runs([run_dir], out)


def plot_runs(run_dirs: list[Path], out: Path | None = None) -> Path:
    """Loss and accuracy per epoch of one run (train and validation), or of several overlaid, one colour each.

    Default `out`: RUN_DIR/curves.png for one run, curves.png in the current folder for several.
    """
    default = run_dirs[0] / "curves.png" if len(run_dirs) == 1 else Path("curves.png")
    return save_figure(curves_figure(run_dirs), out if out is not None else default)


def curves_figure(run_dirs: list[Path]) -> Any:
    """The matplotlib figure `plot_runs` writes: loss (left) and accuracy (right), a line per run and split."""
    curves = []
    for run_dir in run_dirs:
        csv_path = run_dir / "metrics.csv"
        if not csv_path.is_file():
            raise _not_a_run(run_dir, f"{run_dir} has no metrics.csv")
        curves.append(_curves(csv_path))  # every run read before matplotlib's slow import
    plt = pyplot("netspec plot")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    names = _labels(run_dirs)
    for i, (epochs, column) in enumerate(curves):
        colour = f"C{i % 10}"
        for split, style in (("train", "--"), ("val", "-")):
            who = "validation" if split == "val" else "train"
            label = who if len(run_dirs) == 1 else f"{names[i]} {who}"
            one = {"color": f"C{0 if split == 'train' else 1}"} if len(run_dirs) == 1 else {"color": colour}
            loss_ax.plot(epochs, column[f"{split}_loss"], marker="o", ls=style, label=label, **one)
            acc_ax.plot(epochs, column[f"{split}_acc"], marker="o", ls=style, label=label, **one)
    loss_ax.set(title="loss per sample", xlabel="epoch")
    acc_ax.set(title="accuracy", xlabel="epoch")
    for ax in (loss_ax, acc_ax):
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.suptitle(str(run_dirs[0]) if len(run_dirs) == 1 else f"{len(run_dirs)} runs")
    fig.tight_layout()
    return fig


def _labels(run_dirs: list[Path]) -> list[str]:
    """Each run's name in a legend: its path without the parts all of them share in front."""
    parts = [p.parts for p in run_dirs]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    return [str(Path(*p[common:])) for p in parts]


def pyplot(command: str) -> Any:
    """matplotlib.pyplot drawing into files (no display), or a diagnostic naming `command` when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(
            [
                Diagnostic(
                    "missing-dependency",
                    f"`{command}` needs matplotlib, which is not installed",
                    help="pip install matplotlib (or pip install 'netspec[plot]')",
                )
            ]
        ) from None
    return plt


def save_figure(fig: Any, target: Path) -> Path:
    """Write `fig` to `target` (its format from the extension) and close it; failures are `io-error`s."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(target, make_folder=False) as tmp:  # a full disk leaves the old picture, not half a new one
            fig.savefig(tmp, dpi=100, format=target.suffix[1:] or None)
    except SpecError:  # the io-error of a folder that is missing or read-only (a SpecError is a ValueError)
        raise
    except ValueError as e:  # an extension matplotlib has no writer for: "Format 'txt' is not supported (...)"
        raise SpecError(
            [
                Diagnostic(
                    "io-error", f"cannot write {target}: {e}", source=str(target), help="name a .png, .pdf or .svg"
                )
            ]
        ) from None
    finally:
        plt.close(fig)
    return target


def _curves(csv_path: Path) -> tuple[list[int], dict[str, list[float]]]:
    """The epochs of a metrics.csv and its columns by name (before matplotlib's slow import)."""
    try:
        rows = read_metrics(csv_path)
        epochs = [int(r["epoch"]) for r in rows]
        columns = {c: [float(r[c]) if r[c] else math.nan for r in rows] for c in COLUMNS[1:]}
    except (ValueError, TypeError, KeyError, csv.Error) as e:  # text that is not numbers, too few columns, binary
        reason = f"no `{e.args[0]}` column" if isinstance(e, KeyError) else (str(e).splitlines() or [""])[0]
        raise _not_a_run(csv_path, f"{csv_path} is not a metrics.csv netspec wrote ({reason})") from None
    if not rows:
        raise _not_a_run(
            csv_path, f"{csv_path} holds no epochs yet", help="plot the run once its first epoch has finished"
        )
    return epochs, columns


def _not_a_run(
    path: Path, message: str, help: str = "pass a run directory written by `netspec train` (runs/<name>/<timestamp>)"
) -> SpecError:
    return SpecError([Diagnostic("io-error", message, source=str(path), help=help)])
