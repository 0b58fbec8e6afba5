"""The torch modules of netspec's blocks: where a spec's branches meet (add, concatenate, multiply). Imports torch.

Each holds its layers as submodules of its own, named as the checked report names them
(`conv1`, `bn1`, `downsample`), so its state_dict keys are the spec's, and torchvision's where a
spec mirrors a torchvision model. The branches are lists of those names, run in order.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

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


# -- recurrent layers in a chain: torch's RNN, LSTM and GRU return (output, state); a chain passes on one tensor


class _Recurrent(nn.RNNBase):
    """torch's recurrent layer (same weights and state_dict keys) returning its output sequence (N, L, D·H), or
    with `output="last"` the top layer's final state (N, D·H): each direction's last step, concatenated."""

    output: str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, state = super().forward(x)
        if self.output == "sequence":
            return sequence  # type: ignore[no-any-return]  # (N, L, D·H_out)
        h_n = state[0] if isinstance(state, tuple) else state  # (num_layers·D, N, H_out); an LSTM's is (h_n, c_n)
        directions = 2 if self.bidirectional else 1
        last: torch.Tensor = h_n[-directions:].transpose(0, 1).flatten(1)  # (D, N, H_out) -> (N, D·H_out)
        return last

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", output={self.output!r}" if self.output != "sequence" else "")


class RNN(_Recurrent, nn.RNN):  # type: ignore[misc]  # forward: one tensor out, not torch's pair
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        output: str = "sequence",
    ) -> None:
        nn.RNN.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.output = output


class LSTM(_Recurrent, nn.LSTM):  # type: ignore[misc]  # forward: one tensor out, not torch's pair
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        output: str = "sequence",
    ) -> None:
        nn.LSTM.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            proj_size=proj_size,
        )
        self.output = output


class GRU(_Recurrent, nn.GRU):  # type: ignore[misc]  # forward: one tensor out, not torch's pair
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        output: str = "sequence",
    ) -> None:
        nn.GRU.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.output = output


RECURRENT: dict[str, type[nn.Module]] = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def transformer_encoder(
    encoder_layer: dict[str, Any],
    num_layers: int,
    norm: dict[str, Any] | None = None,
    enable_nested_tensor: bool = True,
    mask_check: bool = True,
) -> nn.TransformerEncoder:
    """nn.TransformerEncoder from the arguments of its layer and its norm, as a spec writes them."""
    with warnings.catch_warnings():
        # torch says when a layer's settings rule out nested tensors, which only a padding mask would use
        warnings.filterwarnings("ignore", message="enable_nested_tensor is True")
        return nn.TransformerEncoder(
            nn.TransformerEncoderLayer(**encoder_layer),
            num_layers,
            norm=nn.LayerNorm(**norm) if norm is not None else None,
            enable_nested_tensor=enable_nested_tensor,
            mask_check=mask_check,
        )
