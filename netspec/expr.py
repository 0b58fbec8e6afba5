"""The expressions of block templates: a closed language over integers, booleans and parameter names.

`$width`, `${width * 4}`, `${stride != 1 or inp != oup}`, `${2 if i == 0 else 1}`, and text with
parts to fill in (`denselayer${i + 1}`). Python's parser reads the text; only the node types below
are evaluated (no calls, attributes, subscripts or powers), so nothing but arithmetic ever runs,
and every intermediate integer stays within torch's int64 range.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from .values import INT64_MAX

MAX_LENGTH = 200  # characters in one expression: enough for any size formula, too few for a parser bomb
_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\Z")
_PART = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


class ExprError(ValueError):
    """What is wrong with an expression, worded as a diagnostic message; `help` says how to fix it."""

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.help = help


def is_template(value: Any) -> bool:
    """Whether a value from a spec holds `$` parts to fill in."""
    return isinstance(value, str) and "$" in value


def substitute(text: str, env: Mapping[str, Any]) -> Any:
    """`$name` and `${expr}` alone give the value itself (an int stays an int); mixed with text, the text filled in."""
    whole = _WHOLE_NAME.match(text)
    if whole:
        return _lookup(whole[1], env)
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return evaluate(text[2:-1], env)
    out = []
    last = 0
    for m in _PART.finditer(text):
        out.append(text[last : m.start()])
        value = evaluate(m[1], env) if m[1] is not None else _lookup(m[2], env)
        out.append(_text(value))
        last = m.end()
    rest = text[last:]
    if "$" in rest:
        raise ExprError(
            f"`{text}` has a `$` that starts no parameter",
            help="write `$name` or `${expression}`, e.g. `${width * 4}`",
        )
    out.append(rest)
    return "".join(out)


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """The value of one expression (the text between `${` and `}`)."""
    if len(source) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(source):,} characters long; the limit is {MAX_LENGTH}")
    if not source.strip():
        raise ExprError("`${}` holds no expression", help="write e.g. `${width * 4}`")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(
            f"`{source.strip()}` is not an expression netspec can read",
            help="use integers, parameter names, + - * // %, comparisons, and/or/not, and `a if condition else b`",
        ) from None
    except (MemoryError, RecursionError):  # pragma: no cover - MAX_LENGTH keeps the parser well away from these
        raise ExprError("the expression nests too deeply") from None
    return _eval(tree.body, env)


def _lookup(name: str, env: Mapping[str, Any]) -> Any:
    if name in env:
        return env[name]
    if name in _CONSTANTS:
        return _CONSTANTS[name]
    known = ", ".join(f"`{k}`" for k in env if k.isidentifier())  # not netspec's own entries
    known = known or "none here (parameters exist inside a block's definition)"
    raise ExprError(f"unknown parameter `{name}`", help=f"the parameters are: {known}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_ARITHMETIC: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%"}
_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _eval(node: ast.expr, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and (isinstance(node.value, int) or node.value is None):
        return (
            _int_range(node.value) if isinstance(node.value, int) and not isinstance(node.value, bool) else node.value
        )
    if isinstance(node, ast.Name):
        return _lookup(node.id, env)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        a, b = _integer(_eval(node.left, env)), _integer(_eval(node.right, env))
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and b == 0:
            raise ExprError(f"division by zero in `{_SYMBOL[type(node.op)]} 0`")
        return _int_range(_ARITHMETIC[type(node.op)](a, b))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _int_range(-_integer(_eval(node.operand, env)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _boolean(_eval(node.operand, env))
    if isinstance(node, ast.BoolOp):
        values = (_boolean(_eval(v, env)) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, env)
            if isinstance(op, (ast.Eq, ast.NotEq)):
                same = left == right and type(left) is type(right)
                ok = same if isinstance(op, ast.Eq) else not same
            elif type(op) in _ORDER:
                ok = _ORDER[type(op)](_integer(left), _integer(right))
            else:
                raise _unsupported(op)
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _boolean(_eval(node.test, env)) else node.orelse, env)
    raise _unsupported(node)


def _unsupported(node: ast.AST) -> ExprError:
    what = {ast.Pow: "`**`", ast.Div: "`/` (use `//`)", ast.Call: "a call", ast.Attribute: "an attribute"}
    name = what.get(type(getattr(node, "op", node)), what.get(type(node), f"`{type(node).__name__}`"))
    return ExprError(
        f"block expressions cannot use {name}",
        help="use integers, parameter names, + - * // %, comparisons, and/or/not, and `a if condition else b`",
    )


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExprError(
            f"arithmetic needs integers, got {_text(value)!r}"
            if value is not None
            else "arithmetic needs integers, got null"
        )
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"a condition must be true or false, got {_text(value)}")
    return value


def _int_range(value: int) -> int:
    if abs(value) > INT64_MAX:
        raise ExprError(f"the expression's value exceeds 2^63 - 1 (torch's int64 limit): {str(value)[:40]}…")
    return value
