"""Constant folding for the static check: the values of small constant integer expressions and the
lengths of literal sequences, so that ``10 ** 10 ** 10`` or ``"a" * 10**12`` is refused before it runs.

Nothing is evaluated that could be large: a result above the limits of
:mod:`engines.strategy.sandbox.policy` is simply not folded.
"""

from __future__ import annotations

import ast

from engines.strategy.sandbox.policy import MAX_CONSTANT_BITS

__all__ = ["fold_constants", "pow_bits"]


def pow_bits(base: int, exponent: int) -> int:
    """An upper bound on the bit length of ``base ** exponent`` (exponent >= 0)."""
    if abs(base) <= 1:
        return 1
    return exponent * abs(base).bit_length()


def _fold_int(node: ast.AST, ints: dict[int, int]) -> int | None:
    """The value of a constant integer expression (children already folded), if small enough."""
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) is int else None
    if isinstance(node, ast.UnaryOp):
        operand = ints.get(id(node.operand))
        if operand is None:
            return None
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        return ~operand if isinstance(node.op, ast.Invert) else None
    if not isinstance(node, ast.BinOp):
        return None
    left, right = ints.get(id(node.left)), ints.get(id(node.right))
    if left is None or right is None:
        return None
    op = node.op
    if isinstance(op, ast.Add | ast.Sub) and max(left.bit_length(), right.bit_length()) < MAX_CONSTANT_BITS:
        return left + right if isinstance(op, ast.Add) else left - right
    if isinstance(op, ast.Mult) and left.bit_length() + right.bit_length() <= MAX_CONSTANT_BITS:
        return left * right
    if isinstance(op, ast.FloorDiv | ast.Mod) and right != 0:
        return left // right if isinstance(op, ast.FloorDiv) else left % right
    if isinstance(op, ast.Pow) and right >= 0 and pow_bits(left, right) <= MAX_CONSTANT_BITS:
        return int(left**right)
    if isinstance(op, ast.LShift) and 0 <= right <= MAX_CONSTANT_BITS - left.bit_length():
        return left << right
    if isinstance(op, ast.RShift) and right >= 0:
        return left >> min(right, MAX_CONSTANT_BITS + 1)
    if isinstance(op, ast.BitAnd):
        return left & right
    if isinstance(op, ast.BitOr):
        return left | right
    if isinstance(op, ast.BitXor):
        return left ^ right
    return None


def _fold_len(node: ast.AST, ints: dict[int, int], lens: dict[int, int]) -> int | None:
    """The length of a literal sequence expression (str, bytes, list or tuple display), if known."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return len(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        if any(isinstance(element, ast.Starred) for element in node.elts):
            return None
        return len(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = lens.get(id(node.left)), lens.get(id(node.right))
        return None if left is None or right is None else left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            length, times = lens.get(id(seq)), ints.get(id(count))
            if length is not None and times is not None:
                return length * max(times, 0)
    return None


def fold_constants(tree: ast.AST, ints: dict[int, int], lens: dict[int, int]) -> None:
    """Fold constant integers and literal sequence lengths bottom-up, without recursion."""
    order: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    for node in reversed(order):  # every child comes before its parent
        value = _fold_int(node, ints)
        if value is not None:
            ints[id(node)] = value
        length = _fold_len(node, ints, lens)
        if length is not None:
            lens[id(node)] = length
