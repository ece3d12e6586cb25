"""Hard constraints: ``hard: {u: "x*(1 - x)*N"}`` imposes conditions exactly by an output
transform. The field u is the expression, with ``N`` the network's own output for u
(DeepXDE's `apply_output_transform`); pinn_cli.model.nets.HardConstrained wraps the network
so that every loss term sees the transformed field."""
from typing import Callable, Dict, List, Tuple

import numpy as np
import sympy
import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.expressions import as_tensor_like, compile_torch, default_symbol, parse


class Hard:
    """An output transform u = f(inputs, N) of one field: `N` is the network's output for the
    field, and f may use the inputs, the constants and the functions of the equations. Partial
    derivatives of f (for the Taylor engine's chain rule) are taken by sympy on demand and
    compiled once."""

    def __init__(self, field: str, text: str, expr, constants):
        self.field, self.text, self.expr, self.constants = field, text, expr, constants
        self._compiled: Dict[Tuple[str, ...], Callable] = {}

    def partial(self, wrt: Tuple[str, ...] = ()) -> Callable[[Dict[str, torch.Tensor]],
                                                                torch.Tensor]:
        """∂f/∂wrt (wrt: names of inputs or "N"; () is f itself) as fn(scope) -> tensor like
        scope["N"]; scope maps each input name and "N" to a tensor (n,)."""
        if wrt not in self._compiled:
            expr = sympy.diff(self.expr, *(sympy.Symbol(w) for w in wrt)) if wrt else self.expr
            args = sorted(s.name for s in expr.free_symbols)
            f = compile_torch(expr, args)
            consts = self.constants

            def fn(scope, _f=f, _args=args):
                full = scope | consts
                return as_tensor_like(_f(*(full[a] for a in _args)), scope["N"])

            self._compiled[wrt] = fn
        return self._compiled[wrt]

    def __call__(self, scope: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.partial()(scope)


def parse_hard(field, text, inputs, outputs, constants, unknowns) -> Hard:
    """Parse pde.hard.<field>: an expression in the inputs, the constants and N."""
    where = f"pde.hard.{field}"
    example = f"pde.hard.{outputs[0]}: 'x*(1 - x)*N'"
    if field not in outputs:
        raise PinnFitError(f"{where}: '{field}' is not a field; fields are {outputs}. "
                           f"Give one transform per field, e.g. {example}")
    if "N" in inputs + outputs + list(constants) + list(unknowns):
        raise PinnFitError(f"{where}: the problem declares a name 'N', which hard "
                           "transforms use for the network's output; rename it")
    if isinstance(text, str) and "=" in text.replace("==", ""):
        raise PinnFitError(f"{where}: {text!r} has an '='; give only the right-hand side, "
                           f"the field as an expression in the inputs and N, e.g. {example}")
    allowed = set(inputs + list(constants) + ["N"])
    expr = parse(text, default_symbol(allowed), where, example)
    bad = sorted(s.name for s in expr.free_symbols if s.name not in allowed)
    if bad:
        raise PinnFitError(
            f"{where}: symbol '{bad[0]}' in {text!r} cannot be used: a hard transform may use "
            f"only the inputs {inputs}, the constants {list(constants)} and N (the "
            "network's output for the field); not unknowns, fields or their derivatives")
    n = sympy.Symbol("N")
    if n not in expr.free_symbols or sympy.diff(expr, n) == 0:
        raise PinnFitError(f"{where}: {text!r} does not depend on N, the network's output, so "
                           f"the field would be fixed; e.g. {example}")
    return Hard(field, text, expr, dict(constants))


def exact_conditions(problem) -> List[str]:
    """The conditions that the hard transforms satisfy identically (whatever N is): those
    whose equation, with each transformed field substituted and the condition's face
    fixed, simplifies to 0. Only equations in fields and inputs (no derivatives, no
    unknowns) are checked; the others are never listed."""
    out = []
    for eq, at in problem.conditions:
        if eq.expr is None or any(idx for _, idx in eq.needs):
            continue
        names = set(problem.inputs + problem.outputs + list(problem.constants))
        expr = eq.expr
        if any(s.name not in names for s in expr.free_symbols):
            continue
        n = sympy.Symbol("N")
        subs = {sympy.Symbol(f): h.expr.subs(n, sympy.Symbol(f"N_{f}"))
                for f, h in problem.hard.items()}
        expr = expr.subs(subs).subs({sympy.Symbol(k): sympy.nsimplify(v, [sympy.pi])
                                     for k, v in at.items()})
        expr = expr.subs({sympy.Symbol(k): v for k, v in problem.constants.items()})
        if sympy.simplify(expr) == 0 or _vanishes(expr, problem.domain):
            out.append(eq.name)
    return out


def _vanishes(expr, domain, n=32, seed=0) -> bool:
    """Whether expr is 0 to rounding at n random points: the inputs in their domain, every
    other symbol (the network outputs N_<field>) in [-3, 3]."""
    rng = np.random.default_rng(seed)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    f = sympy.lambdify(syms, expr, modules="numpy")
    vals = [rng.uniform(*domain.get(s.name, (-3.0, 3.0)), n) for s in syms]
    try:
        r = np.broadcast_to(np.asarray(f(*vals), dtype=float), (n,))
    except Exception:
        return False
    return bool(np.all(np.abs(r) <= 1e-12))
