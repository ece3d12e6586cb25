"""A reference solver built from a problem's own equations, for the classical cross-check of a
problem that names none (`pde.reference`): the residuals are solved for the time derivatives,
u_t = F(u, u_x, u_xx, ..., t, x; k), and integrated with scipy's adaptive integrators
(`solve_ivp`: LSODA for ODE systems, BDF or Radau with a banded Jacobian for the method of lines).

- ODE systems (the only input is t): the initial state is fitted with the unknowns (one
  nuisance parameter per field, started at the observation nearest the start), or taken from a
  condition `at: {t: lo}` that fixes the field.
- Evolution PDEs in one space input (method_of_lines.py): second-order finite differences on a
  uniform grid, periodic or with the declared Dirichlet/Neumann conditions (else the values
  observed on the boundary); the initial state from a declared condition at t = lo, else from
  the observations at the earliest time.
- Evolution PDEs and incompressible flows on a periodic box in two space inputs
  (periodic_box.py): Fourier pseudo-spectral in space.
- Evolution PDEs on a rectangle in two space inputs not both periodic (rectangle_lines.py):
  the method of lines with second-order finite differences, the declared Dirichlet conditions
  (else the values observed on the sides), the initial state declared or from the observations
  at the earliest time; not incompressible flows or Neumann conditions.
- Steady problems (no input t) in one or two space inputs (steady.py): second-order finite
  differences on a uniform grid, periodic or with the declared Dirichlet/Neumann conditions, the
  discretised equations solved by Newton's method with a sparse Jacobian.

Anything else (more inputs, a pressure without time derivative on a rectangle that is not
periodic, an equation not in evolution form, a condition it cannot impose) raises ValueError with
the reason, which the diagnostics report."""
import warnings
from typing import Dict, List, Optional

import numpy as np
import sympy

from pinn_cli.problem.unknowns import Unknown, physical


def time_orders(problem, fields=None, residuals=None) -> Dict[str, int]:
    """Each field's highest pure time derivative in the residuals (1 for u_t, 2 for u_tt); a
    problem with space inputs must be first order in time. `fields`, `residuals`: a subset
    (default: all the problem's)."""
    t = problem.inputs.index("t")
    orders = {f: 0 for f in fields or problem.outputs}
    for eq in residuals or problem.residuals:
        for s in eq.expr.free_symbols:
            d = problem.derivative_symbol(s.name)
            if d is None or t not in d[1]:
                continue
            if set(d[1]) != {t}:
                raise ValueError(f"the mixed derivative {s.name} (not in evolution form)")
            if d[0] in orders:
                orders[d[0]] = max(orders[d[0]], len(d[1]))
    missing = [f for f, m in orders.items() if m == 0]
    if missing:
        raise ValueError(f"no residual holds a time derivative of {', '.join(missing)} (not in "
                         "evolution form)")
    if len(problem.inputs) > 1 and max(orders.values()) > 1:
        raise ValueError("second or higher time derivatives in a PDE (not in evolution form "
                         "u_t = F(u, u_x, ...))")
    return orders


def evolution_form(problem, fields=None, residuals=None) -> Dict[str, sympy.Expr]:
    """{field: F} with d^m field/dt^m = F (m its time order, time_orders) from the residuals,
    else ValueError saying why not. `fields`, `residuals`: a subset (default: all)."""
    if "t" not in problem.inputs:
        raise ValueError("the problem has no input t: steady problems are not covered by the "
                         "generic solver")
    residuals = residuals or problem.residuals
    if any(eq.expr is None for eq in residuals):
        raise ValueError("a residual is Python code, not an equation string")
    t = problem.inputs.index("t")
    orders = time_orders(problem, fields, residuals)
    rates = {f: sympy.Symbol(problem.derivative_name((f, (t,) * m))) for f, m in orders.items()}
    exprs = [eq.expr for eq in residuals]
    if len(exprs) != len(rates):
        raise ValueError(f"{len(exprs)} residuals for {len(rates)} fields: the equations are not "
                         "one evolution equation per field")
    solved = sympy.solve(exprs, list(rates.values()), dict=True)
    if len(solved) != 1 or set(solved[0]) != set(rates.values()):
        raise ValueError("the residuals cannot be solved for " + ", ".join(map(str, rates.values()))
                         + " (not in evolution form u_t = F(u, u_x, ...))")
    form = {f: sympy.simplify(solved[0][r]) for f, r in rates.items()}
    for f, rhs in form.items():
        for s in rhs.free_symbols:
            d = problem.derivative_symbol(s.name)
            if d is not None and t in d[1] and len(d[1]) >= orders.get(d[0], 0):
                raise ValueError(f"{rates[f]} = {rhs} still holds the time derivative {s.name} "
                                 "(not in evolution form)")
    return form


MAX_EVALUATIONS = 50_000  # right-hand sides per integration; beyond, the values are rejected


def capped(f, limit=MAX_EVALUATIONS):
    """`f` that raises ValueError after `limit` calls: an integration that stiffens or blows up
    at trial values of the unknowns is rejected (the classical fit then takes a shorter step)
    instead of running for minutes and filling the memory."""
    calls = [0]

    def counted(t, y):
        calls[0] += 1
        if calls[0] > limit:
            raise ValueError(f"the integration took more than {limit} evaluations of the "
                             "equations (they stiffen or blow up at these values)")
        return f(t, y)

    return counted


def loo_error(basis, values) -> float:
    """The leave-one-out squared error of the least-squares fit of `values` (m × c) by the
    columns of `basis` (m × K): e_i / (1 − h_ii), h the hat matrix's diagonal, summed."""
    q, _ = np.linalg.qr(basis)
    h = np.minimum(np.sum(q ** 2, axis=1), 1 - 1e-12)
    e = values - q @ (q.T @ values)
    return float(np.sum((e / (1 - h)[:, None]) ** 2))


def numeric(expr, names):
    """`expr` as a numpy function of the symbols `names` (generated from the parsed formula)."""
    return sympy.lambdify([sympy.Symbol(n) for n in names], expr, modules="numpy")


def only_data(problem, expr, inputs) -> bool:
    """Whether `expr` is a function of the named inputs, the unknowns and constants only (no
    field, no derivative): a value a condition fixes."""
    allowed = {*inputs, *(u.name for u in problem.unknowns), *problem.constants}
    return all(s.name in allowed for s in expr.free_symbols)


def initial_values(problem, at: str, lo: float, symbols=None) -> Dict[str, sympy.Expr]:
    """{symbol: expression} from the conditions at `at` = lo that fix a field's value there (or
    one of `symbols`, e.g. a derivative x_t for a second-order ODE)."""
    out = {}
    space = [i for i in problem.inputs if i != at]
    for eq, where in problem.conditions:
        if where != {at: lo} or eq.expr is None:
            continue
        for name in symbols or problem.outputs:
            sym = sympy.Symbol(name)
            if sym in eq.expr.free_symbols and name not in out:
                sol = sympy.solve(eq.expr, sym)
                if len(sol) == 1 and only_data(problem, sol[0], space):
                    out[name] = sol[0]
    return out


def reference_model(problem, obs):
    """The generic reference for `problem` at the observations (OdeModel, LinesModel, BoxModel
    or RectangleModel, or SteadyModel for a problem without t)."""
    if "t" not in problem.inputs:
        from pinn_cli.solvers.steady import SteadyModel

        return SteadyModel(problem, obs)
    space = [i for i in problem.inputs if i != "t"]
    if len(space) > 2:
        raise ValueError(f"{len(space)} space inputs ({', '.join(space)}): the generic solver "
                         "covers ODE systems and evolution equations in one or two space inputs")
    if len(space) == 2:
        if set(space) <= {q.input for q in problem.periodic}:
            from pinn_cli.solvers.periodic_box import BoxModel

            return BoxModel(problem, obs, space)
        from pinn_cli.solvers.rectangle_lines import RectangleModel

        return RectangleModel(problem, obs, space)
    form = evolution_form(problem)
    if not space:
        return OdeModel(problem, obs, form)
    from pinn_cli.solvers.method_of_lines import LinesModel

    return LinesModel(problem, obs, form, space[0])


class OdeModel:
    """An ODE system at the observation times, of any order (x_tt = F becomes x' = x_t,
    x_t' = F); `nuisance`: the initial values no condition fixes, fitted with the unknowns by
    classical.classical_fit."""

    def __init__(self, problem, obs, form, rtol=1e-8):
        from scipy.integrate import solve_ivp

        self.solve_ivp, self.rtol = solve_ivp, rtol
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        orders = time_orders(problem)
        self.state = [problem.derivative_name((f, (0,) * j)) for f in problem.outputs
                      for j in range(orders[f])]
        names = ["t", *self.state, *self.params, *self.constants]
        self.rhs = [numeric(form[f] if j == orders[f] - 1 else
                            sympy.Symbol(problem.derivative_name((f, (0,) * (j + 1)))), names)
                    for f in problem.outputs for j in range(orders[f])]
        t = obs.x[:, 0]
        lo = problem.domain["t"][0]
        declared = initial_values(problem, "t", lo, self.state)
        self.start = lo if declared else float(t.min())
        self.times, self.index = np.unique(t, return_inverse=True)
        self.cols = [self.state.index(f) for f in obs.fields]
        constants = {sympy.Symbol(c) for c in self.constants}
        self.fixed = {n: float(e.subs(self.constants)) for n, e in declared.items()
                      if not e.free_symbols - constants}
        self.nuisance: List[Unknown] = [
            Unknown(name=f"{n}(t={self.start:g})", guess=self._guess(n, problem, obs, lo))
            for n in self.state if n not in self.fixed]
        seen = np.abs(obs.y[np.isfinite(obs.y)])  # no values when pinn-data builds it
        self.scale = float(seen.max()) if seen.size and seen.max() > 0 else 1.0
        self.how = "fitted with the unknowns" if self.nuisance else "declared"

    def _guess(self, name, problem, obs, lo) -> float:
        """A start for a fitted initial value: the observation nearest the start, or for x_t a
        difference quotient of the two nearest."""
        field, idx = problem.derivative_symbol(name) or (name, ())
        if field not in obs.fields or len(idx) > 1:
            raise ValueError(f"{name} at t = {self.start:g} is neither observed nor fixed by a "
                             f"condition at t = {lo:g}: the initial state is unknown")
        t, y = obs.x[:, 0], obs.y[:, obs.fields.index(field)]
        near = np.argsort(np.abs(t - self.start))[:2]
        if not idx:
            return float(y[near[0]])
        dt = t[near[1]] - t[near[0]]
        return float((y[near[1]] - y[near[0]]) / dt) if dt else 0.0

    def initial_guess(self, obs, unknowns) -> Optional[Dict[str, float]]:
        """A start for the classical fit by gradient matching (Varah 1982): smoothing splines
        through the observations (scipy make_smoothing_spline, roughness by generalised
        cross-validation) give each state x and its rate x'; the unknowns then minimise
        Σ (x' − F(x, t; k))² (scipy least_squares). Least squares on the solution itself has
        local minima on oscillating orbits that this start avoids. None unless every state is
        observed at 5 or more times; `unknowns`: the problem's, then the nuisance."""
        from scipy.interpolate import make_smoothing_spline
        from scipy.optimize import least_squares

        t, p = obs.x[:, 0], len(self.params)
        splines = []
        for name in self.state:
            if name not in obs.fields:
                return None
            y = obs.y[:, obs.fields.index(name)]
            times, inverse = np.unique(t[np.isfinite(y)], return_inverse=True)
            if len(times) < 5:
                return None
            mean = np.bincount(inverse, y[np.isfinite(y)]) / np.bincount(inverse)
            splines.append(make_smoothing_spline(times, mean))
        tau = np.linspace(t.min(), t.max(), 4 * len(self.times))
        states = [s(tau) for s in splines]
        rates = [s.derivative()(tau) for s in splines]
        scales = [float(np.std(d)) or 1.0 for d in rates]
        constants = list(self.constants.values())

        def mismatch(raw):
            k = list(physical(unknowns[:p], raw).values()) + constants
            return np.concatenate([(d - np.asarray(g(tau, *states, *k), float)) / s
                                   for g, d, s in zip(self.rhs, rates, scales)])

        try:
            with np.errstate(all="ignore"):
                fit = least_squares(mismatch, [u.to_raw(u.guess) for u in unknowns[:p]])
        except (ValueError, OverflowError, FloatingPointError):
            return None
        at_start = {f"{n}(t={self.start:g})": float(s(self.start))
                    for n, s in zip(self.state, splines)}
        return {**physical(unknowns[:p], fit.x), **{u.name: at_start[u.name] for u in unknowns[p:]}}

    @property
    def description(self) -> str:
        return (f"ODE system integrated by scipy solve_ivp (LSODA, rtol {self.rtol:g}) from "
                f"t = {self.start:g}; initial state {self.how}")

    def refined(self):
        """The same model with a 100x tighter tolerance (the discretisation check)."""
        twin = object.__new__(type(self))
        twin.__dict__ = dict(self.__dict__, rtol=self.rtol / 100)
        return twin

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        k = [params[p] for p in self.params] + list(self.constants.values())
        y0 = [self.fixed[n] if n in self.fixed else params[f"{n}(t={self.start:g})"]
              for n in self.state]
        rhs = self.rhs

        def f(t, y):
            return [float(g(t, *y, *k)) for g in rhs]

        end = float(self.times.max())
        if end <= self.start:
            values = np.tile(np.array(y0, float), (len(self.times), 1)).T
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):  # trial values may
                warnings.simplefilter("ignore")  # blow up: a failure, reported as such
                sol = self.solve_ivp(capped(f), (self.start, end), y0, method="LSODA",
                                     rtol=self.rtol, atol=self.rtol * 1e-2 * self.scale,
                                     t_eval=self.times)
            if not sol.success:
                raise ValueError(f"the integration failed: {sol.message}")
            values = sol.y
        return np.concatenate([values[c][self.index] for c in self.cols])


def extrapolated(model, finer, coarse: dict, fine: dict) -> dict:
    """Estimates from `model` (`coarse`) and its refined() twin (`fine`), extrapolated to a zero
    grid step where the model's error falls as a known power of it (`order`, `step`: finite
    differences) by Richardson's rule θ_f + (θ_f − θ_c) / (r^order − 1), r = step_c / step_f;
    else `fine` as it is (spectral or tolerance-limited models)."""
    order = getattr(model, "order", None)
    if not order:
        return dict(fine)
    r = model.step / finer.step
    return {k: v + (v - coarse[k]) / (r ** order - 1) for k, v in fine.items()}
