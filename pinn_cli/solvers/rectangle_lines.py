"""The method of lines for evolution equations u_t = F(u, u_x, u_y, u_xx, u_xy, u_yy, ..., x, y,
t; k) on a rectangle in two space inputs that are not both periodic, built from a problem's own
equations (from_equations.py): second-order central differences on a uniform n × n grid (a
periodic input wraps around), integrated by scipy's BDF with a sparse Jacobian pattern (Radau
IIA where the highest space derivative is odd).

Boundaries: each side of a non-periodic input takes u from a declared condition that fixes it
(Dirichlet, possibly depending on the other input and t), else from the observations on that side
(a cubic spline in (other input, t), which needs them on a grid spanning the side and the
observed times). The initial state comes from conditions at t = lo that fix every field, else
from the observations at the earliest time (a cubic spline, which needs them on a grid spanning
the rectangle). The fields are read at the observations by cubic splines of the grid values at
each observed time. An incompressible flow (a pressure without a time derivative) and Neumann
conditions are not covered."""
from typing import Dict, List

import numpy as np
from scipy.interpolate import RectBivariateSpline

from pinn_cli.problem.unknowns import Unknown
from pinn_cli.solvers.from_equations import capped, initial_values, numeric
from pinn_cli.solvers.method_of_lines import MIN_TIMES, LinesModel
from pinn_cli.solvers.periodic_box import split_form
from pinn_cli.solvers.steady import _side


def _gridded(a, b, v):
    """(a values, b values, means (len a, len b)) when the points (a, b) fill a product grid of
    4 or more values each way (repeats averaged), else None."""
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    if len(ua) < 4 or len(ub) < 4:
        return None
    cell, size = ia * len(ub) + ib, len(ua) * len(ub)
    count = np.bincount(cell, minlength=size)
    if count.min() == 0:
        return None
    return ua, ub, (np.bincount(cell, v, minlength=size) / count).reshape(len(ua), len(ub))


class RectangleModel:
    """The problem's fields u(x, y, t), ... at the observations, by the method of lines."""

    def __init__(self, problem, obs, space: List[str], n: int = 41, rtol: float = 1e-6):
        form, pressure, _, _ = split_form(problem, space)
        if pressure:
            raise ValueError(f"{pressure} has no time derivative (an incompressible flow): the "
                             "generic solver finds a pressure by projection on a periodic box "
                             f"only (declare pde.periodic=[{', '.join(space)}])")
        self.space, self.n, self.rtol = list(space), n, rtol
        self.fields = list(form)
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        periodic = {q.input for q in problem.periodic}
        self.periodic = [s in periodic for s in space]
        self.box = [tuple(map(float, problem.domain[s])) for s in space]
        si = [problem.inputs.index(s) for s in space]
        used = sorted({d for rhs in form.values() for s in rhs.free_symbols
                       if (d := problem.derivative_symbol(s.name) or (s.name, ()))[0]
                       in self.fields})
        self.derivs = [(self.fields.index(f), sorted(si.index(i) for i in idx)) for f, idx in used]
        order = max([len(a) for _, a in self.derivs] + [0])
        if order > 2:
            raise ValueError(f"a derivative of order {order} in {' or '.join(space)}: beyond the "
                             "generic solver's second-order finite differences on a rectangle")
        self.method = "Radau" if order % 2 else "BDF"  # as in method_of_lines.py
        names = [*space, "t", *(problem.derivative_name(d) for d in used), *self.params,
                 *self.constants]
        self.rhs = [numeric(form[f], names) for f in self.fields]
        xy, t = obs.x[:, si], obs.x[:, problem.inputs.index("t")]
        self.sides, notes = {}, [f"periodic in {s}" for s, p in zip(space, self.periodic) if p]
        for j, f in enumerate(self.fields):
            for a, s in enumerate(space):
                if not self.periodic[a]:
                    self.sides[j, a] = [self._side(problem, obs, xy, t, f, a, v, notes)
                                        for v in self.box[a]]
        self.boundary = ", ".join(dict.fromkeys(notes))
        self.obs_x, self.obs_fields = xy, list(obs.fields)
        self.times, self.index = np.unique(t, return_inverse=True)
        self.nuisance: List[Unknown] = []
        self._initial_state(problem, obs, xy, t)

    def _side(self, problem, obs, xy, t, f, a, v, notes):
        """g(other axis, t, k): `f` on the side space[a] = v, from a declared condition that
        fixes it, else from the observations there; ValueError if neither."""
        s, other = self.space[a], self.space[1 - a]
        if any(where == {s: v} for _, where in problem.conditions):
            kind, g = _side(problem, s, v, f, [other, "t"])
            if kind != "dirichlet":
                raise ValueError(f"the condition at {s} = {v:g} fixes the derivative of {f} "
                                 "(Neumann): the generic solver on a rectangle imposes only "
                                 f"conditions that fix {f} (declare {f} there)")
            notes.append("declared Dirichlet conditions")
            return lambda o, time, k: np.asarray(g(o, time, *k), float) * np.ones_like(o)
        on = np.abs(xy[:, a] - v) <= 1e-9 * (self.box[a][1] - self.box[a][0])
        grid = None
        if f in obs.fields:
            on &= np.isfinite(obs.y[:, obs.fields.index(f)])
            grid = _gridded(xy[on, 1 - a], t[on], obs.y[on, obs.fields.index(f)])
        lo, hi = self.box[1 - a]
        if grid is None or np.ptp(grid[0]) < 0.9 * (hi - lo) or len(grid[1]) < MIN_TIMES \
                or np.ptp(grid[1]) < 0.9 * np.ptp(t):
            raise ValueError(
                f"no condition at {s} = {v:g} and {s} is not periodic: declare one (e.g. "
                f"pde.conditions.side: {{at: {{{s}: {v:g}}}, equation: {f}}}) or "
                f"pde.periodic=[{s}], or observe {f} there on a grid in ({other}, t) that spans "
                f"{other} and the observed times")
        notes.append("sides not declared from the observations there")
        spline = RectBivariateSpline(*grid)
        return lambda o, time, k: spline(o, [time])[:, 0]

    def _initial_state(self, problem, obs, xy, t):
        """Per field: a function of (X, Y, k) from a condition at t = lo, or a cubic spline
        through the observations at the earliest time (then the start)."""
        t_lo = problem.domain["t"][0]
        declared = initial_values(problem, "t", t_lo)
        self.start = t_lo if set(declared) >= set(self.fields) else float(t.min())
        self.initial, how = [], set()
        for f in self.fields:
            if f in declared and self.start == t_lo:
                fn = numeric(declared[f], [*self.space, *self.params, *self.constants])
                self.initial.append(lambda X, Y, k, fn=fn: np.asarray(fn(X, Y, *k), float)
                                    * np.ones_like(X))
                how.add(f"from the conditions at t = {t_lo:g}")
                continue
            at = np.isclose(t, self.start, rtol=0, atol=1e-12 * max(1.0, abs(self.start)))
            grid = None
            if f in obs.fields:
                y = obs.y[:, obs.fields.index(f)]
                at &= np.isfinite(y)
                grid = _gridded(xy[at, 0], xy[at, 1], y[at])
            if grid is None or any(np.ptp(g) < 0.9 * (hi - lo)
                                   for g, (lo, hi) in zip(grid, self.box)):
                raise ValueError(
                    f"no condition at t = {t_lo:g} fixes {f}, and the {int(at.sum())} "
                    f"observations of {f} at the earliest time {self.start:g} do not lie on a "
                    f"grid spanning the {' × '.join(self.space)} rectangle: the initial state is "
                    f"unknown; declare it (pde.conditions.initial: {{at: {{t: {t_lo:g}}}, "
                    "equation: ...}})")
            spline = RectBivariateSpline(*grid)
            self.initial.append(lambda X, Y, k, spline=spline: spline(X, Y, grid=False))
            how.add(f"from the {int(at.sum())} observations at t = {self.start:g} (a cubic "
                    "spline; their noise is not in the bound)")
        self.how = " and ".join(sorted(how))

    @property
    def description(self) -> str:
        return (f"method of lines on the {' × '.join(self.space)} rectangle ({self.n} × {self.n} "
                f"points, second-order central differences, {self.boundary}), scipy solve_ivp "
                f"({self.method}, rtol {self.rtol:g}); initial state {self.how}")

    order = 2  # central differences: the discretisation error falls as the step squared

    @property
    def step(self) -> float:
        """The largest grid step (refined() halves it, or nearly on a periodic input)."""
        return max(float(a[1] - a[0]) for a in self._axes())

    refined = LinesModel.refined  # n -> 2n - 1 per input, a 10x tighter tolerance

    def _axes(self):
        return [np.linspace(lo, hi, self.n, endpoint=not p)
                for (lo, hi), p in zip(self.box, self.periodic)]

    def _sparsity(self):
        """The 9-point stencil (wrapped on a periodic axis), every field coupled to every one."""
        from scipy.sparse import diags, kron

        blocks = []
        for p in self.periodic:
            block = diags([1.0] * 3, [-1, 0, 1], shape=(self.n, self.n)).tolil()
            if p:
                block[0, -1] = block[-1, 0] = 1
            blocks.append(block.tocsr())
        m = len(self.fields)
        return kron(np.ones((m, m)), kron(blocks[0], blocks[1])).tocsr()

    def _fix(self, fields, axes, t, k):
        """Each Dirichlet side's nodes of `fields` (m, n, n) set to their values at t, in place."""
        for (j, a), pair in self.sides.items():
            for i, g in zip((0, -1), pair):
                at = (j, i, slice(None)) if a == 0 else (j, slice(None), i)
                fields[at] = g(axes[1 - a], t, k)

    def _derivatives(self, fields, hs):
        """The derivatives the equations use, by central differences (wrapped: the values at a
        non-periodic side are not used, its nodes being fixed)."""
        def at(u, *shift):  # u at (i + shift[0], j + shift[1])
            return np.roll(u, [-s for s in shift], axis=(0, 1))

        out = []
        for j, axes in self.derivs:
            u = fields[j]
            if not axes:
                out.append(u)
                continue
            e = [np.eye(2, dtype=int)[a] for a in axes]
            if len(axes) == 1:
                out.append((at(u, *e[0]) - at(u, *-e[0])) / (2 * hs[axes[0]]))
            elif axes[0] == axes[1]:
                out.append((at(u, *e[0]) - 2 * u + at(u, *-e[0])) / hs[axes[0]] ** 2)
            else:
                out.append((at(u, 1, 1) - at(u, 1, -1) - at(u, -1, 1) + at(u, -1, -1))
                           / (4 * hs[0] * hs[1]))
        return out

    def solve(self, params: Dict[str, float]) -> np.ndarray:
        """The grid values (observed times, fields, n, n) for the unknowns `params`."""
        from scipy.integrate import solve_ivp

        k = [params[p] for p in self.params] + list(self.constants.values())
        axes, m, n = self._axes(), len(self.fields), self.n
        hs = [x[1] - x[0] for x in axes]
        X, Y = np.meshgrid(*axes, indexing="ij")
        fixed = np.zeros((m, n, n), bool)
        for (j, a) in self.sides:
            fixed[(j, [0, -1]) if a == 0 else (j, slice(None), [0, -1])] = True

        def f(t, state):
            fields = state.reshape(m, n, n).copy()
            self._fix(fields, axes, t, k)
            args = self._derivatives(fields, hs)
            out = np.stack([np.asarray(g(X, Y, t, *args, *k), float) * np.ones((n, n))
                            for g in self.rhs])
            out[fixed] = 0.0  # fixed by a condition: moves with it, not by the equation
            return out.ravel()

        u0 = np.stack([init(X, Y, k) for init in self.initial])
        self._fix(u0, axes, self.start, k)
        end = float(self.times.max())
        if end > self.start:
            sol = solve_ivp(capped(f), (self.start, end), u0.ravel(), method=self.method,
                            rtol=self.rtol, atol=self.rtol * 1e-2 * max(np.abs(u0).max(), 1e-12),
                            jac_sparsity=self._sparsity(), t_eval=self.times)
            if not sol.success:
                raise ValueError(f"the integration failed: {sol.message}")
            states = sol.y.T.reshape(-1, m, n, n)
        else:
            states = np.tile(u0, (len(self.times), 1, 1, 1))
        for t, state in zip(self.times, states):  # the sides as the conditions fix them
            self._fix(state, axes, t, k)
        return states

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        states = self.solve(params)
        grids, pad = [], []
        for x, (lo, hi), p in zip(self._axes(), self.box, self.periodic):
            grids.append(np.concatenate([x[-3:] - (hi - lo), x, x[:3] + (hi - lo)]) if p else x)
            pad.append((3, 3) if p else (0, 0))
        out = {f: np.empty(len(self.obs_x)) for f in self.obs_fields}
        for i, state in enumerate(states):
            rows = np.flatnonzero(self.index == i)
            for f in out:
                v = np.pad(state[self.fields.index(f)], pad, mode="wrap")
                spline = RectBivariateSpline(*grids, v)
                out[f][rows] = spline(self.obs_x[rows, 0], self.obs_x[rows, 1], grid=False)
        return np.concatenate([out[f] for f in self.obs_fields])
