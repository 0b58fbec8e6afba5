"""Loss and accuracy curves of a run, drawn from its metrics.csv with matplotlib (an optional dependency)."""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, SpecError
from .run import read_metrics


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Draw `run_dir`'s loss and accuracy per epoch into `out` (default: run_dir/curves.png)."""
    csv_path = run_dir / "metrics.csv"
    if not csv_path.is_file():
        raise SpecError(
            [
                Diagnostic(
                    "io-error",
                    f"{run_dir} has no metrics.csv",
                    source=str(run_dir),
                    help="pass a run directory written by `netspec train` (runs/<name>/<timestamp>)",
                )
            ]
        )
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
    rows = read_metrics(csv_path)
    epochs = [int(r["epoch"]) for r in rows]

    def column(name: str) -> list[float]:
        return [float(r[name]) if r[name] else float("nan") for r in rows]

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, column("train_loss"), marker="o", label="train")
    loss_ax.plot(epochs, column("val_loss"), marker="o", label="validation")
    loss_ax.set(title="loss per sample", xlabel="epoch")
    acc_ax.plot(epochs, column("train_acc"), marker="o", label="train")
    acc_ax.plot(epochs, column("val_acc"), marker="o", label="validation")
    acc_ax.set(title="accuracy", xlabel="epoch")
    for ax in (loss_ax, acc_ax):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(str(run_dir))
    fig.tight_layout()
    target = out if out is not None else run_dir / "curves.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
