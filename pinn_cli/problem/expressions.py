"""Equation strings → sympy expressions, without evaluating any Python.

sympy's `parse_expr` runs `eval` on the text it is given, so an equation string from a config,
an override or a run folder could run arbitrary code. Here the string is parsed by Python's own
`ast.parse` (which only parses) and the tree is translated node by node into sympy: numbers,
names, + − × ÷ and powers, and calls of the functions listed in `FUNCTIONS`. Anything else
(attribute access, subscripts, keywords, lambdas, comprehensions, strings) is refused with one
message naming the construct.
"""
import ast
from typing import Callable, Dict

import sympy
import torch

from pinn_cli.errors import PinnFitError

# The functions equations may call, with the torch function each compiles to.
FUNCTIONS = {
    "sin": (sympy.sin, torch.sin), "cos": (sympy.cos, torch.cos), "tan": (sympy.tan, torch.tan),
    "exp": (sympy.exp, torch.exp), "log": (sympy.log, torch.log),
    "tanh": (sympy.tanh, torch.tanh), "sinh": (sympy.sinh, torch.sinh),
    "cosh": (sympy.cosh, torch.cosh), "Abs": (sympy.Abs, torch.abs),
    "sign": (sympy.sign, torch.sign), "sqrt": (sympy.sqrt, torch.sqrt),
    "abs": (sympy.Abs, torch.abs),
}
# What sympy's printer names them in compiled code (Abs prints as Python's abs, which torch
# tensors support).
TORCH_NAMESPACE = {name: fn for name, (_, fn) in FUNCTIONS.items() if name != "abs"}
CONSTANTS = {"pi": sympy.pi, "E": sympy.E}  # names that are numbers unless declared otherwise

_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}


def parse(text: str, symbol: Callable[[str], sympy.Symbol], where: str, example: str,
          noun: str = "") -> sympy.Expr:
    """The sympy expression of `text`; each name that is not a function or a constant becomes
    `symbol(name)` (which may refuse it). One PinnFitError naming `where` (and `noun`, what the
    text is, in the syntax error) on anything else."""
    if not isinstance(text, str) or not text.strip():
        raise PinnFitError(f"{where}: expected an expression string, got {text!r}; e.g. {example}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise PinnFitError(f"{where}: cannot parse {noun}{text!r} ({err.msg}); write it like "
                           f"{example}") from None
    return _Translate(text, symbol, where, example).visit(tree.body)


class _Translate(ast.NodeVisitor):
    def __init__(self, text, symbol, where, example):
        self.text, self.symbol, self.where, self.example = text, symbol, where, example

    def refuse(self, what: str):
        raise PinnFitError(f"{self.where}: {what} in {self.text!r} is not allowed in an equation: "
                           "use numbers, declared names, + - * / ** and the functions "
                           f"{', '.join(FUNCTIONS)}; e.g. {self.example}")

    def generic_visit(self, node):
        self.refuse(f"'{ast.get_source_segment(self.text.strip(), node) or type(node).__name__}'")

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.refuse(f"the literal {node.value!r}")
        return sympy.Integer(node.value) if isinstance(node.value, int) else \
            sympy.Float(node.value)

    def visit_Name(self, node):
        if node.id in FUNCTIONS:
            self.refuse(f"the function '{node.id}' without arguments")
        return self.symbol(node.id)

    def visit_BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            self.refuse(f"the operator '{type(node.op).__name__}'"
                        + (" (write powers as **)" if isinstance(node.op, ast.BitXor) else ""))
        return op(self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node):
        op = _UNARY.get(type(node.op))
        if op is None:
            self.refuse(f"the operator '{type(node.op).__name__}'")
        return op(self.visit(node.operand))

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = name or ast.get_source_segment(self.text.strip(), node.func)
            raise PinnFitError(f"{self.where}: function '{shown}' in {self.text!r} is not "
                               f"supported (use {', '.join(FUNCTIONS)}), or it is an undeclared "
                               "symbol: declare it under pde.unknowns or pde.constants")
        if node.keywords or len(node.args) != 1:
            self.refuse(f"the call '{ast.get_source_segment(self.text.strip(), node)}' (one "
                        "argument, no keywords)")
        return FUNCTIONS[name][0](self.visit(node.args[0]))


def default_symbol(declared) -> Callable[[str], sympy.Basic]:
    """A `parse` symbol map: declared names as symbols, then the constants (pi, E), then any
    other name as a symbol for the caller to check."""
    def symbol(name):
        if name in declared or name not in CONSTANTS:
            return sympy.Symbol(name)
        return CONSTANTS[name]
    return symbol


def compile_torch(expr: sympy.Expr, args) -> Callable:
    """`expr` as a function of the symbols named `args` (in order), on torch tensors. Numeric
    parts (sqrt(6), sin(2), pi) are evaluated first: torch's functions take tensors only."""
    return sympy.lambdify([sympy.Symbol(a) for a in args], sympy.nfloat(expr),
                          modules=[TORCH_NAMESPACE, "math"])


def as_tensor_like(r, ref: torch.Tensor) -> torch.Tensor:
    """`r` (a tensor or a number) broadcast to the shape, dtype and device of `ref`."""
    if torch.is_tensor(r) and r.shape == ref.shape:
        return r
    return torch.as_tensor(r, dtype=ref.dtype, device=ref.device) + torch.zeros_like(ref)


Scope = Dict[str, torch.Tensor]
