"""Loss and accuracy curves of a run, drawn from its metrics.csv with matplotlib (an optional dependency)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..diagnostics import Diagnostic, SpecError
from ..files import atomic_path
from .run import COLUMNS, read_metrics


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Draw `run_dir`'s loss and accuracy per epoch into `out` (default: run_dir/curves.png)."""
    csv_path = run_dir / "metrics.csv"
    if not csv_path.is_file():
        raise _not_a_run(run_dir, f"{run_dir} has no metrics.csv")
    epochs, column = _curves(csv_path)
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(
            [
                Diagnostic(
                    "missing-dependency",
                    "`netspec plot` needs matplotlib, which is not installed",
                    help="pip install matplotlib (or pip install 'netspec[plot]')",
                )
            ]
        ) from None
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, column["train_loss"], marker="o", label="train")
    loss_ax.plot(epochs, column["val_loss"], marker="o", label="validation")
    loss_ax.set(title="loss per sample", xlabel="epoch")
    acc_ax.plot(epochs, column["train_acc"], marker="o", label="train")
    acc_ax.plot(epochs, column["val_acc"], marker="o", label="validation")
    acc_ax.set(title="accuracy", xlabel="epoch")
    for ax in (loss_ax, acc_ax):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(str(run_dir))
    fig.tight_layout()
    target = out if out is not None else run_dir / "curves.png"
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
