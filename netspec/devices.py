"""Devices and memory: which device a name means, and whether a model's weights fit there. Imports torch."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .diagnostics import Diagnostic, SpecError
from .render import fmt_bytes, fmt_int
from .report import ShapeReport

DEVICE_TYPES = ("cpu", "cuda", "mps", "meta")
MEMINFO = Path("/proc/meminfo")


def resolve_device(device: torch.device | str | None) -> torch.device:
    """`device` as a torch.device (None: the CPU); SpecError `invalid-value` for one this machine lacks."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES:
        raise SpecError(
            [Diagnostic("invalid-value", f"unknown device `{device}`", help="use cpu, cuda, cuda:N, mps or meta")]
        )
    count = torch.cuda.device_count() if dev.type == "cuda" else 0
    if dev.type == "cuda" and count == 0:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value", f"device `{device}` is not available: torch finds no CUDA GPU", help="use cpu"
                )
            ]
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= count:
        raise SpecError(
            [
                Diagnostic(
                    "invalid-value",
                    f"device `{device}` is not available: this machine has {count} CUDA GPU(s)",
                    help=f"use cuda:0 to cuda:{count - 1}",
                )
            ]
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(
            [Diagnostic("invalid-value", f"device `{device}` is not available on this machine", help="use cpu")]
        )
    return dev


def memory_needed(report: ShapeReport, dtype: torch.dtype, made_in: torch.dtype | None = None) -> int:
    """Peak bytes for the parameters in `dtype`; when they are made in `made_in` and then converted.

    `Module.to` converts one tensor at a time, freeing each old copy once its new one exists: at worst all
    the weights in the larger dtype, plus the largest layer's in the smaller.
    """
    need = report.total_params * dtype.itemsize
    if made_in is None or made_in == dtype:
        return need
    largest = max((layer.params for layer in report.leaves()), default=0)
    big, small = sorted((dtype.itemsize, made_in.itemsize), reverse=True)
    return report.total_params * big + largest * small


def ensure_fits(
    report: ShapeReport, dtype: torch.dtype, device: torch.device, *, made_in: torch.dtype | None = None
) -> None:
    """Refuse (SpecError `too-large`) when the parameters would not fit in `device`'s free memory."""
    need = memory_needed(report, dtype, made_in)
    free, where = free_memory(device)
    if free is None or need <= free:
        return
    name = str(dtype).removeprefix("torch.")
    size = f"need {fmt_bytes(need)} in {name}"
    if made_in is not None and made_in != dtype:
        size = (
            f"need {fmt_bytes(need)} to build in {name} (made in {str(made_in).removeprefix('torch.')}, then converted)"
        )
    help = "check the layer sizes with `netspec check`, which allocates nothing"
    if device.type == "cuda":  # only a GPU gains from a smaller dtype: the CPU makes the weights in float32 first
        help += "; in Python, `netspec.build(spec, dtype=torch.bfloat16)` needs half the GPU memory of float32"
    raise SpecError(
        [
            Diagnostic(
                "too-large",
                f"the model's {fmt_int(report.total_params)} parameters {size}, but only {fmt_bytes(free)} {where}",
                source=report.source,
                help=help,
            )
        ]
    )


def training_floor(report: ShapeReport, batch: int) -> int:
    """Bytes a training step needs at the least, in float32: a batch's activations, kept for the backward pass,
    and the weights with their gradients. (Optimizer state, workspaces and the activations' own gradients
    come on top: the floor only refuses what cannot possibly fit.)"""
    return report.activation_bytes * batch + 2 * report.total_params * 4


def free_memory(device: torch.device) -> tuple[int | None, str]:
    """Bytes free for new tensors on `device`, and how to say where."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0], f"is free on {device}"
    return available_memory(), "of memory is available"  # the CPU, and mps, whose memory is the machine's


def ensure_batch_fits(report: ShapeReport, batch: int, device: torch.device) -> None:
    """Refuse (SpecError `too-large`) a training batch whose activations could not fit, before anything is loaded.

    A 7 GiB-per-sample spec once asked torch for 2.8 TB at its first batch; this says so, with the batch that fits.
    """
    need = training_floor(report, batch)
    free, where = free_memory(device)
    if free is None or need <= free:
        return
    per_sample = max(report.activation_bytes, 1)
    fits = (free - 2 * report.total_params * 4) // per_sample
    help = (
        f"lower `batch_size` to {fits} or less (`--batch-size {fits}`)"
        if fits >= 1
        else "not even one sample fits: make the input or the layers smaller (`netspec check` shows each layer's"
        " activations)"
    )
    raise SpecError(
        [
            Diagnostic(
                "too-large",
                f"a training batch of {fmt_int(batch)} needs at least {fmt_bytes(need)}"
                f" ({fmt_bytes(report.activation_bytes)} of activations per sample, kept for the backward pass),"
                f" but only {fmt_bytes(free)} {where}",
                source=report.source,
                help=help,
            )
        ]
    )


def available_memory() -> int | None:
    """Bytes of RAM available to new allocations: MemAvailable on Linux, free pages elsewhere, None if unknown."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf, macOS no SC_AVPHYS_PAGES
        return None
