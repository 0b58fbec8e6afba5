"""The torch modules of netspec's blocks: where a spec's branches meet (add, concatenate, multiply). Imports torch.

Each holds its layers as submodules of its own, named as the checked report names them
(`conv1`, `bn1`, `downsample`), so its state_dict keys are the spec's, and torchvision's where a
spec mirrors a torchvision model. The branches are lists of those names, run in order.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class Join(nn.Module):
    """Branches run on one input, joined, then `after`: the shared part of Residual, Concat and Multiply."""

    def __init__(self, layers: OrderedDict[str, nn.Module], branches: list[list[str]], after: list[str]) -> None:
        super().__init__()
        for name, module in layers.items():
            self.add_module(name, module)
        # underscored: a layer's name is an identifier that starts with a letter, so these never collide
        self._branches = tuple(tuple(b) for b in branches)
        self._after = tuple(after)

    def _run(self, names: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
        for name in names:
            x = self._modules[name](x)  # type: ignore[misc]  # every name is a submodule added above
        return x

    def _join(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._after, self._join([self._run(branch, x) for branch in self._branches]))

    def extra_repr(self) -> str:
        return (
            "branches="
            + repr([list(b) for b in self._branches])
            + (f", after={list(self._after)}" if self._after else "")
        )


class Residual(Join):
    """body(x) + shortcut(x), then `after` (torchvision's BasicBlock and Bottleneck)."""

    def _join(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        body, shortcut = outputs
        return body + shortcut


class Concat(Join):
    """torch.cat of the branches' outputs along `dim` (Inception, DenseNet, U-Net)."""

    def __init__(
        self, layers: OrderedDict[str, nn.Module], branches: list[list[str]], after: list[str], dim: int = 1
    ) -> None:
        super().__init__(layers, branches, after)
        self._dim = dim

    def _join(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(outputs, dim=self._dim)

    def extra_repr(self) -> str:
        return f"dim={self._dim}, " + super().extra_repr()


class Multiply(Join):
    """The branches' outputs multiplied element-wise, broadcasting (squeeze-and-excitation)."""

    def _join(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        out = outputs[0]
        for other in outputs[1:]:
            out = out * other
        return out


JOIN_MODULES: dict[str, type[Join]] = {"Residual": Residual, "Concat": Concat, "Multiply": Multiply}
