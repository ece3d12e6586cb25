"""The method of lines for an evolution equation u_t = F(u, u_x, u_xx, ..., x, t; k) in one
space input, built from a problem's own equations (from_equations.py): second-order central
differences on a uniform grid, integrated by scipy's BDF with a banded Jacobian sparsity (Radau
IIA where the highest space derivative is odd: transport or dispersion).

Boundaries: periodic when the input is in `pde.periodic` (derivatives up to the fourth);
otherwise one declared condition per side that fixes u (Dirichlet) or u_x (Neumann), possibly
time-dependent, with derivatives up to the second; a side with no condition takes u from the
observations on it (a cubic spline in t, which needs them over the observed time range). The
initial state comes from a condition at t = lo that fixes u, else it is fitted with the unknowns:
a cubic spline (periodic on a periodic input) through values at a few equally spaced nodes,
started from the observations at the earliest observed time, which must span the space input."""
from typing import Dict

import numpy as np
import sympy
from scipy.interpolate import CubicSpline

from pinn_cli.problem.unknowns import Unknown
from pinn_cli.solvers.from_equations import (capped, initial_values, loo_error, numeric,
                                             only_data)

MIN_SLICE = 8  # observations at the earliest time needed to start from them
MIN_KNOTS, MAX_KNOTS = 4, 24  # nodes of a fitted initial slice
MIN_TIMES = 4  # distinct observed times needed for a boundary value from the observations


def _means(s, v):
    """The distinct values of `s` and the mean of `v` at each."""
    s, inverse = np.unique(s, return_inverse=True)
    return s, np.bincount(inverse, weights=v) / np.bincount(inverse)


def _spline_basis(nodes, at, period=None):
    """The cubic spline through unit values at `nodes`, read at `at`: (len(at), len(nodes));
    periodic with `period` (nodes then span one period without its end)."""
    if period is None:
        return CubicSpline(nodes, np.eye(len(nodes)))(at)
    wrapped = np.vstack([np.eye(len(nodes)), np.eye(len(nodes))[:1]])
    return CubicSpline(np.append(nodes, nodes[0] + period), wrapped, bc_type="periodic")(at)


def fitted_spline(s, values, lo, hi, period=None):
    """(nodes, values there): the least-squares cubic spline of `values` at `s` on [lo, hi] with
    the fewest equally spaced nodes (MIN_KNOTS to MAX_KNOTS) within 1 % of the least leave-one-out
    error, or within 1e-4 std of the values (rms), so that noise is smoothed, not interpolated."""
    s, values = _means(s, values)

    def nodes(K):
        return np.linspace(lo, hi, K, endpoint=period is None)

    most = max(MIN_KNOTS, min(len(s) - 1, MAX_KNOTS))  # fewer nodes than points, if it can
    errors = {K: loo_error(_spline_basis(nodes(K), s, period), values[:, None])
              for K in range(MIN_KNOTS, most + 1)}
    enough = max(1.01 * min(errors.values()), len(s) * (1e-4 * np.std(values)) ** 2)
    where = nodes(min(K for K, e in errors.items() if e <= enough))
    return where, np.linalg.lstsq(_spline_basis(where, s, period), values, rcond=None)[0]


def _side_condition(problem, space, value, field, observed=None):
    """('dirichlet' | 'neumann', g(t, k, params), None | count): the condition at space=value
    that fixes `field` or its derivative in `space` (a function of t, k the unknowns' and
    constants' values), else `observed` (the observations there, LinesModel._observed_side)
    when given."""
    x_index = problem.inputs.index(space)
    u = sympy.Symbol(field)
    u_x = sympy.Symbol(problem.derivative_name((field, (x_index,))))
    found = [(eq, where) for eq, where in problem.conditions
             if where == {space: value} and eq.expr is not None]
    for eq, _ in found:
        for kind, sym in (("dirichlet", u), ("neumann", u_x)):
            if sym in eq.expr.free_symbols:
                sol = sympy.solve(eq.expr, sym)
                if len(sol) == 1 and only_data(problem, sol[0], ["t"]):
                    fn = numeric(sol[0], ["t", *(v.name for v in problem.unknowns),
                                          *problem.constants])
                    return kind, (lambda t, k, params: fn(t, *k)), None
    if found:
        raise ValueError(f"the conditions at {space} = {value:g} ("
                         + "; ".join(eq.text for eq, _ in found) + f") fix neither {u} nor "
                         f"{u_x}: the generic solver cannot impose them")
    if observed is not None:
        return observed
    raise ValueError(f"no condition at {space} = {value:g} and {space} is not periodic: declare "
                     f"one (e.g. pde.conditions.left: {{at: {{{space}: {value:g}}}, equation: "
                     f"{u}}}) or pde.periodic=[{space}], or observe {u} there at {MIN_TIMES} or "
                     "more times over the observed time range")


class LinesModel:
    """The problem's fields u(x, t), v(x, t), ... at the observations, by the method of lines."""

    def __init__(self, problem, obs, form, space, n=201, rtol=1e-7):
        from scipy.integrate import solve_ivp

        self.solve_ivp, self.n, self.rtol, self.space = solve_ivp, n, rtol, space
        self.fields = problem.outputs
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        self.lo, self.hi = problem.domain[space]
        self.periodic = space in [p.input for p in problem.periodic]
        x_index = problem.inputs.index(space)
        used = {problem.derivative_symbol(s.name) or (s.name, ())
                for rhs in form.values() for s in rhs.free_symbols}
        self.order = max([len(idx) for f, idx in used if f in self.fields] + [0])
        if self.order > (4 if self.periodic else 2):
            raise ValueError(f"a derivative of order {self.order} in {space} with "
                             f"{'periodic' if self.periodic else 'Dirichlet/Neumann'} "
                             "conditions: beyond the generic solver's finite differences")
        # an odd highest order (transport u_x, dispersion u_xxx) puts the eigenvalues near the
        # imaginary axis, where BDF of order 3-5 is unstable and crawls: Radau IIA is A-stable
        self.method = "Radau" if self.order % 2 else "BDF"
        derivs = [problem.derivative_name((f, (x_index,) * o)) for f in self.fields
                  for o in range(self.order + 1)]
        names = [space, "t", *derivs, *self.params, *self.constants]
        self.rhs = [numeric(form[f], names) for f in self.fields]
        x, t = obs.x[:, x_index], obs.x[:, problem.inputs.index("t")]
        self.sides, self.boundary, self.nuisance = None, "periodic", []
        if not self.periodic:
            found = [[(v, _side_condition(problem, space, v, f, self._observed_side(
                obs, x, t, v, f))) for v in (self.lo, self.hi)]
                for f in self.fields]
            self.sides = [[c[:2] for _, c in row] for row in found]
            notes = ["declared conditions"] * any(c[2] is None for row in found for _, c in row)
            notes += [f"boundary at {space} = {v:g} fitted with the unknowns from {c[2]} "
                      "observations"
                      + (f" of {f}" if len(self.fields) > 1 else "")
                      for f, row in zip(self.fields, found) for v, c in row if c[2] is not None]
            self.boundary = ", ".join(dict.fromkeys(notes))
        self.obs_x, self.cols = x, [self.fields.index(f) for f in obs.fields]
        self.times, self.index = np.unique(t, return_inverse=True)
        self._initial_state(problem, obs, x, t, space)

    def _initial_state(self, problem, obs, x, t, space):
        """Per field: a function of x from a condition at t = lo, or the observed slice at the
        earliest time (then the start)."""
        t_lo = problem.domain["t"][0]
        declared = initial_values(problem, "t", t_lo)
        self.start = t_lo if set(declared) >= set(self.fields) else float(t.min())
        self.initial, how = [], set()
        for f in self.fields:
            if f in declared and self.start == t_lo:
                fn = numeric(declared[f], [space, *self.params, *self.constants])
                self.initial.append(lambda grid, k, params, fn=fn:
                                    np.asarray(fn(grid, *k), float) * np.ones_like(grid))
                how.add(f"from the conditions at t = {t_lo:g}")
                continue
            at = np.isclose(t, self.start, rtol=0, atol=1e-12 * max(1.0, abs(self.start)))
            xs = x[at]
            span = (xs.max() - xs.min()) / (self.hi - self.lo) if len(xs) else 0
            if f not in obs.fields or len(np.unique(xs)) < MIN_SLICE or span < 0.9:
                raise ValueError(
                    f"no condition at t = {t_lo:g} fixes {f}, and "
                    f"{'it is not observed' if f not in obs.fields else f'only {len(np.unique(xs))} observations lie at the earliest time {self.start:g}'}"
                    f": the initial state is unknown; declare it (pde.conditions.initial: "
                    f"{{at: {{t: {t_lo:g}}}, equation: ...}})")
            how.add(self._fitted_slice(f, xs, obs.y[at, obs.fields.index(f)]))
        self.how = " and ".join(sorted(how))

    def _observed_side(self, obs, x, t, value, field):
        """('dirichlet', g(t, k, params), count): `field` at x = value as a cubic spline in t
        fitted with the unknowns (nuisance values at its nodes, started at the least-squares
        fit to the observations there, fitted_spline); None unless they cover MIN_TIMES
        distinct times over 90 % of the observed time range."""
        if field not in obs.fields:
            return None
        on = np.abs(x - value) <= 1e-9 * (self.hi - self.lo)
        times = np.unique(t[on])
        if len(times) < MIN_TIMES or np.ptp(times) < 0.9 * np.ptp(t):
            return None
        where, coef = fitted_spline(t[on], obs.y[on, obs.fields.index(field)], times[0],
                                    times[-1])
        # named apart from the initial slice's nodes, which may share the corner point
        names = [f"side {field}({self.space}={value:g}, t={z:.4g})" for z in where]
        self.nuisance += [Unknown(name=n, guess=float(c), transform="identity")
                          for n, c in zip(names, coef)]
        spline = CubicSpline(where, np.eye(len(where)))
        return "dirichlet", (lambda time, k, params: float(
            spline(time) @ [params[n] for n in names])), int(on.sum())

    def _fitted_slice(self, field, xs, values) -> str:
        """The initial `field` as a cubic spline through its values at K equally spaced nodes,
        fitted with the unknowns (nuisance, started at the least-squares fit to the observed
        slice, fitted_spline): the slice's noise, which an unstable equation amplifies, is then
        fitted rather than frozen in, and is in the bound."""
        period = self.hi - self.lo if self.periodic else None
        where, coef = fitted_spline(xs, values, self.lo, self.hi, period)
        names = [f"{field}({self.space}={z:.4g}, t={self.start:g})" for z in where]
        self.nuisance += [Unknown(name=n, guess=float(c), transform="identity")
                          for n, c in zip(names, coef)]
        self.initial.append(lambda grid, k, params, where=where, names=names:
                            _spline_basis(where, grid, period) @ [params[n] for n in names])
        return (f"fitted with the unknowns: {field} at {len(where)} equally spaced points at "
                f"t = {self.start:g} through a cubic spline (K by leave-one-out error on the "
                f"{len(np.unique(xs))} observations there)")

    @property
    def description(self) -> str:
        return (f"method of lines in {self.space} ({self.n} points, "
                f"{self.boundary}), scipy solve_ivp "
                f"({self.method}, rtol {self.rtol:g}); initial state {self.how}")

    order = 2  # central differences: the discretisation error falls as the step squared

    @property
    def step(self) -> float:
        """The grid step (refined() halves it, or nearly on a periodic input)."""
        grid = self._grid()
        return float(grid[1] - grid[0])

    def refined(self):
        """The same model on a grid twice as fine, with a 10x tighter tolerance."""
        twin = object.__new__(type(self))
        twin.__dict__ = dict(self.__dict__, n=2 * self.n - 1, rtol=self.rtol / 10)
        return twin

    def _grid(self):
        if self.periodic:
            return np.linspace(self.lo, self.hi, self.n, endpoint=False)
        return np.linspace(self.lo, self.hi, self.n)

    def _derivatives(self, u, h, t, k, params, sides):
        """u and its x-derivatives up to self.order on the grid (for conditions `sides`, the
        Dirichlet nodes set to their values in place)."""
        if sides is None:
            ext = np.concatenate([u[-2:], u, u[:2]])
        else:
            (left, gl), (right, gr) = ((kind, float(g(t, k, params))) for kind, g in sides)
            if left == "dirichlet":
                u[0] = gl
            if right == "dirichlet":
                u[-1] = gr
            # ghost nodes: reflect (Neumann, u_x = g) or extrapolate linearly (Dirichlet)
            g0 = u[1] - 2 * h * gl if left == "neumann" else 2 * u[0] - u[1]
            g1 = u[-2] + 2 * h * gr if right == "neumann" else 2 * u[-1] - u[-2]
            ext = np.concatenate([[2 * g0 - u[0]], [g0], u, [g1], [2 * g1 - u[-1]]])
        c = ext[2:-2]
        d = [c, (ext[3:-1] - ext[1:-3]) / (2 * h),
             (ext[3:-1] - 2 * c + ext[1:-3]) / h ** 2,
             (ext[4:] - 2 * ext[3:-1] + 2 * ext[1:-3] - ext[:-4]) / (2 * h ** 3),
             (ext[4:] - 4 * ext[3:-1] + 6 * c - 4 * ext[1:-3] + ext[:-4]) / h ** 4]
        return d[:self.order + 1]

    def _sparsity(self):
        """Which state entries each right-hand side entry depends on: a band per field block,
        wrapped around for periodic grids, every field coupled to every field."""
        from scipy.sparse import diags, kron

        band = 2 if self.order > 2 else 1
        block = diags([1.0] * (2 * band + 1), list(range(-band, band + 1)),
                      shape=(self.n, self.n)).tolil()
        if self.periodic:
            for i in range(band):
                block[i, self.n - band + i:] = 1
                block[self.n - band + i, :i + 1] = 1
        m = len(self.fields)
        return kron(np.ones((m, m)), block.tocsr()).tocsr()

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        k = [params[p] for p in self.params] + list(self.constants.values())
        grid = self._grid()
        h, n, m = grid[1] - grid[0], self.n, len(self.fields)
        u0 = np.concatenate([init(grid, k, params) for init in self.initial])
        sides = self.sides or [None] * m
        fixed = [] if self.sides is None else \
            [j * n + i for j, s in enumerate(self.sides) for i, (kind, _) in zip((0, n - 1), s)
             if kind == "dirichlet"]

        def f(t, state):
            fields = state.reshape(m, n).copy()
            args = [d for j in range(m)
                    for d in self._derivatives(fields[j], h, t, k, params, sides[j])]
            out = np.concatenate([np.asarray(g(grid, t, *args, *k), float) * np.ones(n)
                                  for g in self.rhs])
            out[fixed] = 0.0  # fixed by a condition: moves with it, not by the equation
            return out

        end = float(self.times.max())
        if end > self.start:
            sol = self.solve_ivp(capped(f), (self.start, end), u0, method=self.method, rtol=self.rtol,
                                 atol=self.rtol * 1e-2 * max(np.abs(u0).max(), 1e-12),
                                 jac_sparsity=self._sparsity(), dense_output=True)
            if not sol.success:
                raise ValueError(f"the integration failed: {sol.message}")
            states = sol.sol(self.times)  # (m n, times)
        else:
            states = np.tile(u0[:, None], (1, len(self.times)))
        values = states.reshape(m, n, -1)
        for j, s in enumerate(self.sides or []):  # the boundary nodes as the conditions fix them
            for i, (kind, g) in zip((0, n - 1), s):
                if kind == "dirichlet":
                    values[j, i] = [float(g(t, k, params)) for t in self.times]
        xs = np.concatenate([grid, [self.hi]]) if self.periodic else grid
        j = np.clip(np.searchsorted(xs, self.obs_x) - 1, 0, len(xs) - 2)
        w = (self.obs_x - xs[j]) / (xs[j + 1] - xs[j])
        rows = np.arange(len(self.obs_x))
        out = []
        for c in self.cols:
            v = values[c][:, self.index]  # (n, observations)
            if self.periodic:
                v = np.concatenate([v, v[:1]])
            out.append((1 - w) * v[j, rows] + w * v[j + 1, rows])
        return np.concatenate(out)
