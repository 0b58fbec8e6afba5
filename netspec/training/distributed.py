"""DistributedDataParallel under torchrun: the process group, and the few collectives the loop needs.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; with more than one process, netspec trains with
DDP (NCCL on CUDA, gloo on the CPU). Control decisions (stop on Ctrl-C, stop on a NaN loss) are
agreed through a gloo group on CPU tensors, so every process leaves the loop at the same batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    """This process's place in the job."""

    rank: int
    world: int
    local_rank: int
    control: Any  # the gloo process group for control flags


def setup(use_cuda: bool) -> Dist | None:
    """Join the torchrun job, or None when running as a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    control = dist.new_group(backend="gloo") if use_cuda else dist.group.WORLD
    return Dist(dist.get_rank(), world, local_rank, control)


def barrier(d: Dist | None) -> None:
    if d is not None:
        dist.barrier(group=d.control)


def teardown(d: Dist | None) -> None:
    if d is not None and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], d: Dist | None) -> list[float]:
    """The element-wise sum of `values` over all processes (epoch totals: once per epoch)."""
    if d is None:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=d.control)
    return t.tolist()


def all_max(values: list[float], d: Dist | None) -> list[float]:
    """The element-wise maximum of `values` over all processes."""
    if d is None:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=d.control)
    return t.tolist()
