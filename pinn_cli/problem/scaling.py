"""Nondimensional residuals (the top-level `scaling` setting).

Inputs are mapped to [-1, 1] and outputs rescaled by the data (pinn_cli.model.nets._Scaled),
unknowns by their transform and reference scale (pinn_cli.problem.unknowns.Unknown). What is
left is the residual's own magnitude: u_t − k u_xx with k = 1e-6 and t over 5e4 s is ~1e-6 in
units of u, so its loss is ~1e-12 of the data term's and training ignores the physics; with
k = 1e6 over 5e-8 s it swamps the data.

The characteristic magnitude R_r of residual r is the largest of its additive terms, each
factor replaced by a magnitude taken from the domain, the data and the guesses:
  field f: its RMS over the observations, sqrt(mean² + std²) (1 when not observed);
  derivative ∂ⁿf/∂x_i…∂x_j: std(f) / (L_i ⋯ L_j), L the width of the input's domain;
  unknown: |guess| (its declared `scale` when the guess is 0); constant: |value|;
  input: max(|lo|, |hi|); sin, cos, tanh, sign: 1; other functions: their value at the magnitude.
With U_r the largest std of the observed fields in r, the residual loss mean r² is multiplied by
f_r = (U_r / R_r)²: the residual in the data's units per unit of nondimensional input, so that
data, residual and condition terms start out comparable whatever the physical units.
`scaling=auto` applies the f_r when any lies outside [1e-2, 1e2] (a badly scaled problem) and
leaves well-scaled problems exactly as they are; `on` always; `off` never (with a warning when
badly scaled). The unknowns are always reported in physical units.
"""
import math
from typing import Dict, Tuple

import sympy

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem

MODES = ("auto", "on", "off")
WELL_SCALED = (1e-2, 1e2)  # factors f_r inside this range leave `auto` off
_BOUNDED = (sympy.sin, sympy.cos, sympy.tanh, sympy.sign)


def _magnitude(expr, mags: Dict[str, float]) -> float:
    if expr.is_number:
        return abs(complex(expr))
    if expr.is_Symbol:
        return mags[expr.name]
    if expr.is_Add:
        return max(_magnitude(a, mags) for a in expr.args)
    if expr.is_Mul:
        return math.prod(_magnitude(a, mags) for a in expr.args)
    if expr.is_Pow:
        return _magnitude(expr.base, mags) ** float(expr.exp)
    if isinstance(expr, _BOUNDED):
        return 1.0
    return abs(complex(expr.func(*(_magnitude(a, mags) for a in expr.args))))


def residual_factors(problem: Problem, stats: Dict[str, Tuple[float, float]]
                     ) -> Dict[str, float]:
    """f_r for each residual given as an equation string (see the module docstring); `stats`
    maps each observed field to its (mean, std) over the observations."""
    width = {k: hi - lo for k, (lo, hi) in problem.domain.items()}
    mags = {k: max(abs(lo), abs(hi)) or 1.0 for k, (lo, hi) in problem.domain.items()}
    mags |= {u.name: abs(u.guess) or abs(u.scale) for u in problem.unknowns}
    mags |= {k: abs(float(v)) for k, v in problem.constants.items()}
    mags |= {f: math.hypot(*stats[f]) if f in stats else 1.0 for f in problem.outputs}
    # an unknown field varies on the scale of its guess (scale, for identity) over the domain
    spread = {f.name: abs(f.guess) if f.transform == "log" else f.scale for f in problem.fields}
    mags |= {f.name: abs(f.guess) or f.scale for f in problem.fields}
    out = {}
    for eq in problem.residuals:
        if eq.expr is None:
            continue
        for s in eq.expr.free_symbols:
            d = problem.derivative_symbol(s.name) if s.name not in mags else None
            if d is not None:
                field, idx = d
                mags[s.name] = spread.get(field, stats.get(field, (0.0, 1.0))[1]) / math.prod(
                    width[problem.inputs[i]] for i in idx)
        try:
            r = _magnitude(eq.expr, mags)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            continue  # a term without a finite magnitude: leave this residual unscaled
        u = max((stats[f][1] for f, _ in eq.needs if f in stats), default=None)
        if u is None:
            u = max((s for _, s in stats.values()), default=1.0)
        if math.isfinite(r) and r > 0 and u > 0:
            out[eq.name] = (u / r) ** 2
    return out


def choose(mode: str, factors: Dict[str, float]) -> Tuple[Dict[str, float], bool]:
    """(the factors to apply, whether the problem is badly scaled) for `scaling=mode`."""
    if mode not in MODES:
        raise PinnFitError(f"scaling={mode!r} is not known; choose one of {', '.join(MODES)}")
    lo, hi = WELL_SCALED
    bad = any(not lo <= f <= hi for f in factors.values())
    return (factors if mode == "on" or (mode == "auto" and bad) else {}), bad
