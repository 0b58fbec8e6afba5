"""An nn.Module whose forward is a chain of its submodules and functional ops, as a list of layers (torch.fx).

The tutorials' `class Net(nn.Module)` calls `self.conv1(x)`, `F.relu`, `F.max_pool2d`, `torch.flatten` and
`x.view(-1, n)` one after another. torch.fx traces the forward into a graph (submodules stay single nodes, so
their names become the layers' and the state_dict keys stay the module's); each functional op becomes the
torch.nn layer that computes the same (F.relu -> nn.ReLU()), and `from_torch` reads those back as it reads an
nn.Sequential. A node that is not such a step (two tensors combined, an op with no layer, a view that is not a
flatten) is named with the line of the forward that made it.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .diagnostics import Diagnostic, SpecError

Step = tuple[str, nn.Module]  # (the submodule's name, or "(F.relu at net.py:16)" for a functional op; the layer)


def _args(names: Sequence[str]) -> Callable[[fx.Node], dict[str, Any]]:
    """The op's arguments after the tensor, by torch's parameter names: positional ones bound in order."""

    def bind(node: fx.Node) -> dict[str, Any]:
        bound = dict(zip(names, node.args[1:]))
        bound.update({k: v for k, v in node.kwargs.items() if k in names})
        return bound

    return bind


_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


def _pool(cls: type[nn.Module], names: Sequence[str]) -> Callable[[fx.Node], nn.Module]:
    return lambda node: cls(**_args(names)(node))


def _plain(cls: type[nn.Module], names: Sequence[str] = ()) -> Callable[[fx.Node], nn.Module]:
    return lambda node: cls(**_args(names)(node))


def _dim(cls: type[nn.Module]) -> Callable[[fx.Node], nn.Module]:
    return lambda node: cls(dim=_args(("dim",))(node).get("dim"))


def _flatten(node: fx.Node) -> nn.Module:
    bound = _args(("start_dim", "end_dim"))(node)
    return nn.Flatten(bound.get("start_dim", 0), bound.get("end_dim", -1))  # torch.flatten's default start is 0


# torch.* and F.* functions, and Tensor methods, each with the layer that does the same
FUNCTIONS: dict[Any, Callable[[fx.Node], nn.Module]] = {
    F.relu: _plain(nn.ReLU),
    torch.relu: _plain(nn.ReLU),
    F.relu6: _plain(nn.ReLU6),
    torch.sigmoid: _plain(nn.Sigmoid),
    F.sigmoid: _plain(nn.Sigmoid),
    torch.tanh: _plain(nn.Tanh),
    F.tanh: _plain(nn.Tanh),
    F.gelu: _plain(nn.GELU, ("approximate",)),
    F.silu: _plain(nn.SiLU),
    F.elu: _plain(nn.ELU, ("alpha",)),
    F.leaky_relu: _plain(nn.LeakyReLU, ("negative_slope",)),
    F.softmax: _dim(nn.Softmax),
    torch.softmax: _dim(nn.Softmax),
    F.log_softmax: _dim(nn.LogSoftmax),
    torch.log_softmax: _dim(nn.LogSoftmax),
    F.max_pool1d: _pool(nn.MaxPool1d, _POOL),
    F.max_pool2d: _pool(nn.MaxPool2d, _POOL),
    F.max_pool3d: _pool(nn.MaxPool3d, _POOL),
    F.avg_pool1d: _pool(nn.AvgPool1d, _AVG[:5]),
    F.avg_pool2d: _pool(nn.AvgPool2d, _AVG),
    F.avg_pool3d: _pool(nn.AvgPool3d, _AVG),
    F.adaptive_avg_pool1d: _plain(nn.AdaptiveAvgPool1d, ("output_size",)),
    F.adaptive_avg_pool2d: _plain(nn.AdaptiveAvgPool2d, ("output_size",)),
    F.adaptive_max_pool2d: _plain(nn.AdaptiveMaxPool2d, ("output_size",)),
    torch.flatten: _flatten,
}
METHODS: dict[str, Callable[[fx.Node], nn.Module]] = {
    "relu": _plain(nn.ReLU),
    "sigmoid": _plain(nn.Sigmoid),
    "tanh": _plain(nn.Tanh),
    "softmax": _dim(nn.Softmax),
    "log_softmax": _dim(nn.LogSoftmax),
    "flatten": _flatten,
}
_RESHAPES = ("view", "reshape")  # a Flatten when it keeps the batch and flattens the rest, judged by the shapes
SUPPORTED = (
    "netspec turns these into layers: submodules called in turn, F.relu, torch.relu, F.relu6, torch.sigmoid,"
    " torch.tanh, F.gelu, F.silu, F.elu, F.leaky_relu, F.softmax, F.log_softmax, F.max_pool1d/2d/3d,"
    " F.avg_pool1d/2d/3d, F.adaptive_avg_pool1d/2d, F.adaptive_max_pool2d, torch.flatten, x.flatten(1),"
    " x.view(N, -1) and x.reshape(N, -1) that flatten a sample"
)


class _Tracer(fx.Tracer):
    """Every submodule is one node: its name is the layer's, and what it does is from_torch's to judge."""

    record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True


def traced_steps(module: nn.Module, input_shape: Sequence[int]) -> list[Step]:
    """The module's forward as steps in order, or SpecError naming each node a spec cannot express."""
    what = f"{type(module).__module__}.{type(module).__qualname__}"
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # data-dependent control flow, calls fx cannot record, ...
        raise _error(
            f"torch.fx cannot trace {what}.forward: {_first_line(e)}",
            help="netspec imports a forward that runs the same steps for every input (no `if` on tensor values)",
        ) from None
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    extra = [n for n in inputs[1:] if n.users or not n.args]  # an unused argument with a default is no input
    if extra:
        names = ", ".join(f"`{n.target}`" for n in extra)
        raise _error(
            f"{what}.forward takes more than one input ({names} besides `{inputs[0].target}`)",
            help="netspec imports a forward of one tensor, x -> layers -> output",
        )
    _run(fx.GraphModule(module, graph), input_shape)
    steps, problems = _steps(graph, what)
    if problems:
        raise SpecError(problems)
    if not steps:
        raise _error(f"{what}.forward runs no layers: it returns its input", help="import a module that computes")
    return steps


def _steps(graph: fx.Graph, what: str) -> tuple[list[Step], list[Diagnostic]]:
    """The chain's steps, and what breaks it or has no layer."""
    steps: list[Step] = []
    problems: list[Diagnostic] = []
    called: dict[int, fx.Node] = {}  # a submodule with weights, by id, and the node that called it first
    current: fx.Node = next(n for n in graph.nodes if n.op == "placeholder")  # the node holding the chain's tensor
    for node in graph.nodes:
        if node.op == "placeholder":
            continue
        if node.op == "output":
            if node.args[0] is not current:
                problems.append(_unsupported(f"{what}.forward returns something other than one tensor"))
            break
        if node.op == "get_attr":
            problems.append(
                _unsupported(
                    f"{_describe(node)} is a tensor the forward computes with itself, not a layer",
                    help="a spec's weights belong to its layers: make it a submodule (nn.Linear, nn.Conv2d, ...)",
                )
            )
            break
        if not _is_tensor(node):
            if node.op == "call_module":  # nn.LSTM's (output, state), ...
                problems.append(_unsupported(f"{_describe(node)} returns a {node.meta.get(_KIND)}, not a tensor"))
                break
            continue  # x.size(0) and the like: only used to say a view's shape, which is judged from the result
        inputs = [n for n in node.all_input_nodes if _is_tensor(n)]
        if inputs != [current]:
            problems.append(
                _unsupported(
                    f"{_describe(node)} takes {_count(len(inputs))}: {what}.forward is not a chain of layers",
                    help="netspec imports forwards that pass one tensor from step to step; write joins (x + y,"
                    " torch.cat) as a spec with Residual or Concat blocks",
                )
            )
            break
        layer = _layer(node, current)
        if isinstance(layer, nn.Module) and node.op == "call_module" and layer.state_dict():
            first = called.setdefault(id(layer), node)
            if first is not node:  # its second call would be a layer of its own, with weights of its own
                problems.append(
                    _unsupported(
                        f"{_describe(node)} is called a second time: shared weights, which a spec cannot express",
                        help="give each place a module of its own (a spec's layers each have their own weights)",
                    )
                )
        if isinstance(layer, Diagnostic):
            problems.append(layer)
        elif layer is not None:
            key = str(node.target) if node.op == "call_module" else f"({_describe(node)})"
            steps.append((key, layer))
        current = node
    return steps, problems


class _Shapes(fx.Interpreter):
    """Runs the traced forward once, keeping each node's output shape (None for what is not a tensor)."""

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as e:
            got = [tuple(a.meta[_SHAPE]) for a in n.all_input_nodes if a.meta.get(_SHAPE) is not None]
            raise _error(
                f"{_describe(n)} fails on its input {_shapes(got)}, from --input {_dims(self.input_shape)} with a"
                f" batch of 2: {_first_line(e)}",
                help="check --input: give the shape of one sample the module was made for",
            ) from None
        n.meta[_SHAPE] = tuple(result.shape) if isinstance(result, torch.Tensor) else None
        n.meta[_KIND] = type(result).__name__
        return result

    input_shape: Sequence[int] = ()


_SHAPE = "netspec_shape"
_KIND = "netspec_kind"  # the result's type, for what is not a tensor


def _run(gm: fx.GraphModule, input_shape: Sequence[int]) -> None:
    shapes = _Shapes(gm)
    shapes.input_shape = input_shape
    with torch.no_grad():
        shapes.run(torch.randn(2, *input_shape))


def _dims(shape: Sequence[int]) -> str:
    return ", ".join(str(d) for d in shape)


def _shapes(shapes: list[tuple[int, ...]]) -> str:
    return " and ".join(f"({_dims(s)})" for s in shapes) or "()"


def _layer(node: fx.Node, previous: fx.Node) -> nn.Module | Diagnostic | None:
    if node.op == "call_module":
        module = node.graph.owning_module.get_submodule(str(node.target)) if node.graph.owning_module else None
        return module if module is not None else _unsupported(f"{_describe(node)} is not a submodule")
    make = FUNCTIONS.get(node.target) if node.op == "call_function" else METHODS.get(str(node.target))
    if node.op == "call_method" and node.target in _RESHAPES:
        before, after = _shape(previous), _shape(node)
        if after == before:
            return None  # x.view(x.size(0), -1) on (N, 84) changes nothing: no layer
        if len(before) >= 2 and after == (before[0], math.prod(before[1:])):
            return nn.Flatten()
        return _unsupported(
            f"{_describe(node)} turns ({_dims(before)}) into ({_dims(after)}):"
            " only a reshape to (N, features) is a layer (Flatten)",
            help="reshape with x.view(x.size(0), -1) or torch.flatten(x, 1), or write the spec by hand",
        )
    if make is None and node.target is F.dropout:  # on in eval too, unless the forward passes self.training
        return _unsupported(
            f"{_describe(node)} has no netspec layer",
            help="use an nn.Dropout submodule (`self.drop = nn.Dropout(p)`), which netspec imports as Dropout",
        )
    if make is None:
        return _unsupported(f"{_describe(node)} has no netspec layer", help=SUPPORTED)
    if any(isinstance(a, fx.Node) for a in [*node.args[1:], *node.kwargs.values()]):
        return _unsupported(f"{_describe(node)} takes an argument computed in the forward, not a constant")
    try:
        return make(node)
    except (TypeError, ValueError) as e:
        return _unsupported(f"{_describe(node)} has arguments its layer does not take: {_first_line(e)}")


def _is_tensor(node: fx.Node) -> bool:
    return node.meta.get(_SHAPE) is not None


def _shape(node: fx.Node) -> tuple[int, ...]:
    return node.meta.get(_SHAPE) or ()


def _count(n: int) -> str:
    return "no tensor" if n == 0 else "one tensor" if n == 1 else f"{n} tensors"


def _describe(node: fx.Node) -> str:
    """How the forward wrote the node, and where: `F.max_pool2d at net.py:17`, `self.fc1`, `x.view`."""
    if node.op in ("call_module", "get_attr"):
        what = f"self.{node.target}"
    elif node.op == "call_method":
        what = f"x.{node.target}"
    elif node.op == "call_function" and node.target in _OPERATORS:
        what = f"`{_OPERATORS[node.target]}`"
    elif node.op == "call_function":
        name = getattr(node.target, "__name__", str(node.target))
        module = getattr(node.target, "__module__", None) or ""
        prefix = "F." if module.startswith("torch.nn.functional") else "torch." if module.startswith("torch") else ""
        what = f"{prefix}{name}" if not name.startswith("<") else str(node.target)
        if prefix == "" and getattr(torch, name, None) is node.target:
            what = f"torch.{name}"
        elif prefix == "" and getattr(F, name, None) is node.target:
            what = f"F.{name}"
    else:
        what = f"`{node.target}`"
    where = _where(node)
    return f"{what} at {where}" if where else what


_OPERATORS = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.matmul: "@",
    operator.getitem: "x[...]",
}


def _where(node: fx.Node) -> str | None:
    """file:line of the forward's line that made the node, from the stack fx recorded (torch's own frames left out)."""
    torch_dir = os.path.dirname(torch.__file__)
    for line in (node.stack_trace or "").splitlines():
        line = line.strip()
        if line.startswith('File "'):
            path, _, rest = line[len('File "') :].partition('", line ')
            if path.startswith(torch_dir):
                continue
            number = rest.split(",", 1)[0]
            return f"{os.path.relpath(path) if not os.path.relpath(path).startswith('..') else path}:{number}"
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


def _unsupported(message: str, help: str | None = None) -> Diagnostic:
    return Diagnostic("unknown-layer", message, help=help)


def _error(message: str, help: str | None = None) -> SpecError:
    return SpecError([Diagnostic("invalid-value", message, help=help)])
