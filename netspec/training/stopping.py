"""Early stopping, decided from the metrics of the epochs so far (so a resumed run decides as a straight one would)."""

from __future__ import annotations

from ..diagnostics import Diagnostic, SpecError
from .config import EarlyStopping
from .run import EpochMetrics


def best_epoch(history: list[EpochMetrics], rule: EarlyStopping) -> EpochMetrics | None:
    """The first epoch after which `rule.metric` never improved by more than `min_delta`."""
    best: EpochMetrics | None = None
    for m in history:
        value = getattr(m, rule.metric)
        if value is None:
            continue
        if best is None:
            best = m
            continue
        ref = getattr(best, rule.metric)
        better = value > ref + rule.min_delta if rule.maximise else value < ref - rule.min_delta
        if better:
            best = m
    return best


def should_stop(history: list[EpochMetrics], rule: EarlyStopping) -> str | None:
    """Why training stops after the last epoch of `history`, or None to go on."""
    best = best_epoch(history, rule)
    if best is None or not history:
        return None
    waited = history[-1].epoch - best.epoch  # epochs since the best one
    if waited < rule.patience:
        return None
    by = f" by more than {rule.min_delta:g}" if rule.min_delta else ""
    return (
        f"early stopping: {rule.metric} has not improved{by} for {waited} epoch{'s' if waited != 1 else ''}"
        f" (best {getattr(best, rule.metric):.4f} at epoch {best.epoch})"
    )


def check_metric(rule: EarlyStopping | None, classes: list[str] | None) -> None:
    """An accuracy to watch needs class labels."""
    if rule is not None and rule.metric.endswith("_acc") and classes is None:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"`early_stopping.metric` is {rule.metric}, but the targets are float values: there is no accuracy",
                    path=("train", "early_stopping", "metric"),
                    help=f"watch `{rule.metric.replace('_acc', '_loss')}` instead",
                )
            ]
        )
