"""Batches of one split for one epoch: by index from tensors already on the device, or from a DataLoader.

The order is a permutation drawn from a generator seeded by (seed, epoch), so any epoch can be
replayed (and resumed part-way) without the history before it. Under DDP each process takes
every `world`-th index of it, padded to equal length so all processes step together.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from .data import InMemory, Split
from .samples import SampleError, Samples, sample_seed


class Batches:
    """An epoch's batches of `split` for this process, from batch `start` on."""

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: torch.device,
        *,
        shuffle: bool,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        num_workers: int | None = None,
    ) -> None:
        self.split, self.batch_size, self.device = split, batch_size, device
        self.shuffle, self.drop_last, self.seed, self.rank, self.world = shuffle, drop_last, seed, rank, world
        n = len(split)
        # training pads to a multiple of `world` (every process must take the same number of steps);
        # evaluation needs no collective per batch, so each process takes its share of the exact set
        self.samples = math.ceil(n / world) if shuffle else len(range(rank, n, world))
        full, rest = divmod(self.samples, batch_size)
        self.sizes = [batch_size] * full + ([rest] if rest and not drop_last else [])
        self.loader: DataLoader[tuple[Tensor, Tensor]] | None = None
        if isinstance(split, Samples):
            workers = min(4, os.cpu_count() or 1) if num_workers is None else num_workers
            self.keys = _Keys()
            self.loader = DataLoader(
                split,
                batch_sampler=self.keys,
                num_workers=workers,
                pin_memory=device.type == "cuda",
                persistent_workers=workers > 0,
                worker_init_fn=_ignore_sigint,
                # each iterator draws a base seed for its workers; from a generator of its own, not torch's
                # global one, which would shift the dropout masks by how often iterators are made (per
                # epoch without workers, once with persistent ones, again after a resume). The seed is
                # unused: every sample seeds its own augmentation.
                generator=torch.Generator(),
            )

    def __len__(self) -> int:
        return len(self.sizes)

    def order(self, epoch: int) -> Tensor:
        """This process's sample indices for `epoch`, in the order they are visited."""
        n = len(self.split)
        if not self.shuffle:
            return torch.arange(self.rank, n, self.world)
        g = torch.Generator().manual_seed(sample_seed(self.seed, epoch, -1))
        order = torch.randperm(n, generator=g)
        if self.world > 1:
            order = torch.cat([order, order[: self.samples * self.world - n]])  # pad as DistributedSampler does
            order = order[self.rank :: self.world]
        return order

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """(x, y) on the device for batches `start`, `start + 1`, ... of `epoch`."""
        order = self.order(epoch)
        bounds = [(b * self.batch_size, b * self.batch_size + size) for b, size in enumerate(self.sizes)][start:]
        split = self.split
        if isinstance(split, InMemory):
            if not self.shuffle and self.world == 1:  # evaluation: slices are views, no copy
                for lo, hi in bounds:
                    yield split.x[lo:hi], split.y[lo:hi]
                return
            order = order.to(self.device)
            for lo, hi in bounds:
                idx = order[lo:hi]
                yield split.x[idx], split.y[idx]  # (B, ...): indexing keeps channels_last, index_select does not
            return
        assert self.loader is not None
        self.keys.batches = [
            [(int(i), sample_seed(self.seed, epoch, int(i))) for i in order[lo:hi]] for lo, hi in bounds
        ]
        try:
            for x, y in self.loader:
                yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        except SampleError as e:  # raised in a worker, rebuilt here
            raise e.error() from None


class _Keys:
    """The DataLoader's batch sampler: lists of (index, seed), set before each epoch (read in this process)."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _ignore_sigint(worker_id: int) -> None:
    """Ctrl-C reaches the whole process group; only the main process acts on it, after the current batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
