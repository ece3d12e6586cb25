"""The method of lines for an evolution equation u_t = F(u, u_x, u_xx, ..., x, t; k) in one
space input, built from a problem's own equations (from_equations.py): second-order central
differences on a uniform grid, integrated by scipy's BDF with a banded Jacobian sparsity.

Boundaries: periodic when the input is in `pde.periodic` (derivatives up to the fourth);
otherwise one declared condition per side that fixes u (Dirichlet) or u_x (Neumann), possibly
time-dependent, with derivatives up to the second. The initial state comes from a condition at
t = lo that fixes u, else from the observations at the earliest observed time (linear
interpolation between them, which needs them to span the space input)."""
from typing import Dict

import numpy as np
import sympy

from pinn_cli.solvers.from_equations import initial_values, numeric, only_data

MIN_SLICE = 8  # observations at the earliest time needed to start from them


def _side_condition(problem, space, value):
    """('dirichlet' | 'neumann', g(t, *unknowns, *constants)) of the condition at space=value."""
    x_index = problem.inputs.index(space)
    u = sympy.Symbol(problem.outputs[0])
    u_x = sympy.Symbol(problem.derivative_name((problem.outputs[0], (x_index,))))
    for eq, where in problem.conditions:
        if where != {space: value} or eq.expr is None:
            continue
        for kind, sym in (("dirichlet", u), ("neumann", u_x)):
            if sym in eq.expr.free_symbols:
                sol = sympy.solve(eq.expr, sym)
                if len(sol) == 1 and only_data(problem, sol[0], ["t"]):
                    return kind, sol[0]
        raise ValueError(f"the condition {eq.name} ({eq.text}) fixes neither "
                         f"{u} nor {u_x} at {space} = {value:g}: the generic solver cannot "
                         "impose it")
    raise ValueError(f"no condition at {space} = {value:g} and {space} is not periodic: declare "
                     f"one (e.g. pde.conditions.left: {{at: {{{space}: {value:g}}}, equation: "
                     f"{u}}}) or pde.periodic=[{space}]")


class LinesModel:
    """u(x, t) of the problem's only field at the observations, by the method of lines."""

    def __init__(self, problem, obs, form, space, n=201, rtol=1e-7):
        from scipy.integrate import solve_ivp

        if len(problem.outputs) != 1:
            raise ValueError(f"{len(problem.outputs)} fields in one space input: the generic "
                             "solver's method of lines covers one field")
        self.solve_ivp, self.n, self.rtol = solve_ivp, n, rtol
        self.field = f = problem.outputs[0]
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        self.lo, self.hi = problem.domain[space]
        self.periodic = space in [p.input for p in problem.periodic]
        x_index = problem.inputs.index(space)
        self.orders = [o for o in range(5) if sympy.Symbol(
            problem.derivative_name((f, (x_index,) * o))) in form[f].free_symbols or o == 0]
        if max(self.orders) > (4 if self.periodic else 2):
            raise ValueError(f"a derivative of order {max(self.orders)} in {space} with "
                             f"{'periodic' if self.periodic else 'Dirichlet/Neumann'} "
                             "conditions: beyond the generic solver's finite differences")
        self.derivs = [problem.derivative_name((f, (x_index,) * o)) for o in self.orders]
        names = [space, "t", *self.derivs, *self.params, *self.constants]
        self.rhs = numeric(form[f], names)
        if not self.periodic:
            self.sides = [_side_condition(problem, space, v) for v in (self.lo, self.hi)]
            self.side_fns = [numeric(g, ["t", *self.params, *self.constants])
                             for _, g in self.sides]
        x, t = obs.x[:, x_index], obs.x[:, problem.inputs.index("t")]
        if f not in obs.fields:
            raise ValueError(f"field {f} is not observed")
        self.obs_x, self.cols = x, obs.fields.index(f)
        self.times, self.index = np.unique(t, return_inverse=True)
        t_lo = problem.domain["t"][0]
        declared = initial_values(problem, "t", t_lo).get(f)
        if declared is not None:
            self.start, self.initial = t_lo, numeric(declared, [space, *self.params,
                                                                *self.constants])
            self.how = f"from the condition at t = {t_lo:g}"
        else:
            self.start = float(t.min())
            at = np.isclose(t, self.start, rtol=0, atol=1e-12 * max(1.0, abs(self.start)))
            xs, us = x[at], obs.y[at, self.cols]
            span = (xs.max() - xs.min()) / (self.hi - self.lo) if len(xs) else 0
            if len(np.unique(xs)) < MIN_SLICE or span < 0.9:
                raise ValueError(
                    f"no condition at t = {t_lo:g} fixes {f}, and only {len(np.unique(xs))} "
                    f"observations lie at the earliest time {self.start:g}: the initial state is "
                    f"unknown; declare it (pde.conditions.initial: {{at: {{t: {t_lo:g}}}, "
                    f"equation: ...}})")
            order = np.argsort(xs)
            self.slice = (xs[order], us[order])
            self.initial = None
            self.how = (f"from the {len(xs)} observations at t = {self.start:g} "
                        "(interpolated; their noise is not in the bound)")
        self.space = space

    @property
    def description(self) -> str:
        return (f"method of lines in {self.space} ({self.n} points, "
                f"{'periodic' if self.periodic else 'declared conditions'}), scipy solve_ivp "
                f"(BDF, rtol {self.rtol:g}); initial state {self.how}")

    def refined(self):
        """The same model on a grid twice as fine, with a 10x tighter tolerance."""
        twin = object.__new__(type(self))
        twin.__dict__ = dict(self.__dict__, n=2 * self.n - 1, rtol=self.rtol / 10)
        return twin

    def _grid(self):
        if self.periodic:
            return np.linspace(self.lo, self.hi, self.n, endpoint=False)
        return np.linspace(self.lo, self.hi, self.n)

    def _derivatives(self, u, h, t, k) -> Dict[int, np.ndarray]:
        """u and its x-derivatives of the orders used, on the grid (the boundary nodes' values
        set by the conditions)."""
        if self.periodic:
            ext = np.concatenate([u[-2:], u, u[:2]])
        else:
            (left, lg), (right, rg) = self.sides
            gl, gr = (float(g(t, *k)) for g in self.side_fns)
            if left == "dirichlet":
                u[0] = gl
            if right == "dirichlet":
                u[-1] = gr
            # ghost nodes: reflect (Neumann, u_x = g) or extrapolate linearly (Dirichlet)
            g0 = u[1] - 2 * h * gl if left == "neumann" else 2 * u[0] - u[1]
            g1 = u[-2] + 2 * h * gr if right == "neumann" else 2 * u[-1] - u[-2]
            ext = np.concatenate([[2 * g0 - u[0]], [g0], u, [g1], [2 * g1 - u[-1]]])
        c = ext[2:-2]
        d = {0: c,
             1: (ext[3:-1] - ext[1:-3]) / (2 * h),
             2: (ext[3:-1] - 2 * c + ext[1:-3]) / h ** 2,
             3: (ext[4:] - 2 * ext[3:-1] + 2 * ext[1:-3] - ext[:-4]) / (2 * h ** 3),
             4: (ext[4:] - 4 * ext[3:-1] + 6 * c - 4 * ext[1:-3] + ext[:-4]) / h ** 4}
        return d

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        from scipy.sparse import diags

        k = [params[p] for p in self.params] + list(self.constants.values())
        grid = self._grid()
        h = grid[1] - grid[0]
        u0 = np.asarray(self.initial(grid, *k), float) * np.ones_like(grid) \
            if self.initial is not None else np.interp(grid, *self.slice)
        dirichlet = [] if self.periodic else [i for i, (kind, _) in zip((0, -1), self.sides)
                                              if kind == "dirichlet"]

        def f(t, u):
            u = u.copy()
            d = self._derivatives(u, h, t, k)
            out = np.asarray(self.rhs(grid, t, *(d[o] for o in self.orders), *k), float)
            out = out * np.ones_like(grid)
            for i in dirichlet:  # fixed by the condition: moves with it, not by the equation
                out[i] = 0.0
            return out

        band = 2 if max(self.orders) > 2 else 1
        pattern = diags([1.0] * (2 * band + 1), list(range(-band, band + 1)),
                        shape=(self.n, self.n)).tolil()
        if self.periodic:
            for i in range(band):
                pattern[i, self.n - band + i:] = 1
                pattern[self.n - band + i, :i + 1] = 1
        times = self.times[self.times >= self.start]
        end = float(times.max())
        if end > self.start:
            sol = self.solve_ivp(f, (self.start, end), u0, method="BDF", rtol=self.rtol,
                                 atol=self.rtol * 1e-2 * max(np.abs(u0).max(), 1e-12),
                                 jac_sparsity=pattern.tocsr(), dense_output=True)
            if not sol.success:
                raise ValueError(f"the integration failed: {sol.message}")
            field = sol.sol(self.times)  # (n, times)
        else:
            field = np.tile(u0[:, None], (1, len(self.times)))
        if not self.periodic:  # the boundary nodes as the conditions fix them
            for i in dirichlet:
                field[i] = [float(self.side_fns[0 if i == 0 else 1](t, *k)) for t in self.times]
        values = field[:, self.index]  # (n, observations): each observation's time slice
        if self.periodic:
            xs = np.concatenate([grid, [self.hi]])
            values = np.concatenate([values, values[:1]])
        else:
            xs = grid
        j = np.clip(np.searchsorted(xs, self.obs_x) - 1, 0, len(xs) - 2)
        w = (self.obs_x - xs[j]) / (xs[j + 1] - xs[j])
        cols = np.arange(len(self.obs_x))
        return (1 - w) * values[j, cols] + w * values[j + 1, cols]
