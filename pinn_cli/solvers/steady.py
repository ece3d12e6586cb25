"""A steady problem (no input t) in one or two space inputs, built from a problem's own equations
(from_equations.py): the residuals F(u, u_x, u_xx, u_xy, ..., x, y; k) = 0 discretised by
second-order central differences on a uniform grid and the nonlinear system for the grid values
solved by Newton's method.

Why Newton with a sparse Jacobian and `scipy.sparse.linalg.spsolve` rather than
`least_squares(method="trf")`: the system is square and its Jacobian is a sparse, banded
discretised operator; a direct sparse solve gives the exact Newton step (a linear problem
converges in one step, to rounding), whereas trf's sparse trust region solves by LSMR, an
iterative solver that stalls on the ill-conditioned (cond ~ n^2) discrete Laplacian. The
Jacobian is found by finite differences of columns grouped so that no two in a group share a
stencil (about 3^d * fields residual evaluations), each solve starts from the previous one's
solution (the fit calls the model many times with nearby unknowns).

Residual i belongs to field i (in `pde.outputs` order). Boundaries: a periodic input wraps (the
grid omits its right end); otherwise each side needs a declared condition that fixes the field
(Dirichlet: the node's equation is replaced by u = g) or its derivative across the side
(Neumann: a reflected ghost node, u_{-1} = u_1 - 2 h g), where g may depend on the other input,
the unknowns and constants. The fields are read at the observations by cubic splines of the
grid values."""
from typing import Dict

import numpy as np
import sympy

from pinn_cli.solvers.from_equations import numeric, only_data


def _side(problem, space, value, field, others):
    """('dirichlet' | 'neumann', g(*others, *unknowns, *constants)) at space = value, else
    ValueError saying what to declare."""
    u = sympy.Symbol(field)
    u_n = sympy.Symbol(problem.derivative_name((field, (problem.inputs.index(space),))))
    found = [eq for eq, where in problem.conditions
             if where == {space: value} and eq.expr is not None]
    for eq in found:
        for kind, sym in (("dirichlet", u), ("neumann", u_n)):
            if sym in eq.expr.free_symbols:
                sol = sympy.solve(eq.expr, sym)
                if len(sol) == 1 and only_data(problem, sol[0], others):
                    return kind, numeric(sol[0], [*others, *(v.name for v in problem.unknowns),
                                                  *problem.constants])
    if found:
        raise ValueError(f"the conditions at {space} = {value:g} ("
                         + "; ".join(eq.text for eq in found) + f") fix neither {u} nor {u_n}: "
                         "the generic solver cannot impose them")
    raise ValueError(f"no condition at {space} = {value:g} and {space} is not periodic: declare "
                     f"one (e.g. pde.conditions.side: {{at: {{{space}: {value:g}}}, equation: "
                     f"{u}}}) or pde.periodic=[{space}]")


class SteadyModel:
    """The problem's steady fields u(x) or u(x, y), ... at the observations."""

    def __init__(self, problem, obs, n=None, tol=1e-10, max_steps=50):
        self.space = list(problem.inputs)
        d = len(self.space)
        if d not in (1, 2):
            raise ValueError(f"{d} inputs: the generic steady solver covers one or two")
        if any(eq.expr is None for eq in problem.residuals):
            raise ValueError("a residual is Python code, not an equation string")
        self.fields = list(problem.outputs)
        if len(problem.residuals) != len(self.fields):
            raise ValueError(f"{len(problem.residuals)} residuals for {len(self.fields)} fields: "
                             "the steady solver needs one equation per field")
        self.n, self.tol, self.max_steps = n or (101 if d == 1 else 41), tol, max_steps
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        self.box = [tuple(map(float, problem.domain[s])) for s in self.space]
        periodic = {p.input for p in problem.periodic}
        self.periodic = [s in periodic for s in self.space]
        used = {problem.derivative_symbol(s.name) or (s.name, ())
                for eq in problem.residuals for s in eq.expr.free_symbols}
        self.derivs = sorted({(f, tuple(sorted(i))) for f, i in used if f in self.fields},
                             key=lambda fi: (self.fields.index(fi[0]), len(fi[1]), fi[1]))
        if any(len(i) > 2 for _, i in self.derivs):
            raise ValueError("a derivative of order 3 or more: beyond the generic steady "
                             "solver's second-order finite differences")
        names = [*self.space, *(problem.derivative_name(fi) for fi in self.derivs),
                 *self.params, *self.constants]
        self.residuals = [numeric(eq.expr, names) for eq in problem.residuals]
        self.sides = {}  # (field, axis) -> [(kind, g) left, (kind, g) right]
        for j, f in enumerate(self.fields):
            for a, s in enumerate(self.space):
                if not self.periodic[a]:
                    others = [o for o in self.space if o != s]
                    self.sides[j, a] = [_side(problem, s, v, f, others) for v in self.box[a]]
        kinds = sorted({kind for pair in self.sides.values() for kind, _ in pair})
        self.boundary = ", ".join([f"periodic in {s}" for s, p in zip(self.space, self.periodic)
                                   if p] + [f"declared {' and '.join(kinds)} conditions"] * bool(kinds))
        self.obs_x = obs.x
        self.cols = [self.fields.index(f) for f in obs.fields]
        self.solution = None

    @property
    def description(self) -> str:
        grid = "×".join([str(self.n)] * len(self.space))
        return (f"steady finite differences in {', '.join(self.space)} ({grid} points, "
                f"second-order central, {self.boundary}), Newton with a sparse finite-difference "
                "Jacobian (scipy spsolve)")

    order = 2  # central differences: the discretisation error falls as the step squared

    @property
    def step(self) -> float:
        """The largest grid step (refined() halves it, or nearly on a periodic input)."""
        return max(float(a[1] - a[0]) for a in self._axes())

    def refined(self):
        """The same model on a grid twice as fine (n -> 2n - 1)."""
        twin = object.__new__(type(self))
        twin.__dict__ = dict(self.__dict__, n=2 * self.n - 1, solution=None)
        return twin

    def _axes(self):
        return [np.linspace(lo, hi, self.n, endpoint=not p)
                for (lo, hi), p in zip(self.box, self.periodic)]

    def _pad(self, u, j, axes, k):
        """Field j's grid values with one ghost layer per axis (wrapped, reflected for Neumann,
        extrapolated linearly next to a Dirichlet side: those nodes' equations are replaced)."""
        for a, x in enumerate(axes):
            h = x[1] - x[0]
            first = np.take(u, [0], axis=a)
            last = np.take(u, [-1], axis=a)
            if self.periodic[a]:
                lo, hi = last, first
            else:
                inner = [np.take(u, [1], axis=a), np.take(u, [-2], axis=a)]
                ghosts = []
                for side, ((kind, g), edge, near) in enumerate(zip(self.sides[j, a],
                                                                   (first, last), inner)):
                    if kind == "dirichlet":
                        ghosts.append(2 * edge - near)
                        continue
                    other = axes[1 - a] if len(axes) == 2 else None
                    if other is not None and u.shape[1 - a] == len(other) + 2:
                        other = np.concatenate([[2 * other[0] - other[1]], other,
                                                [2 * other[-1] - other[-2]]])
                    val = np.asarray(g(*([other] if other is not None else []), *k), float)
                    val = np.expand_dims(val * np.ones(edge.size), a).reshape(edge.shape)
                    ghosts.append(near - 2 * h * val if side == 0 else near + 2 * h * val)
                lo, hi = ghosts
            u = np.concatenate([lo, u, hi], axis=a)
        return u

    def _residual(self, U, axes, k):
        m, shape = len(self.fields), tuple(len(x) for x in axes)
        fields = U.reshape((m, *shape))
        pads = [self._pad(fields[j], j, axes, k) for j in range(m)]
        hs = [x[1] - x[0] for x in axes]
        centre = tuple(slice(1, -1) for _ in axes)

        def shift(p, a, s):
            return p[tuple(slice(1 + s, p.shape[b] - 1 + s) if b == a else slice(1, -1)
                           for b in range(len(axes)))]

        args = []
        for f, idx in self.derivs:
            p = pads[self.fields.index(f)]
            if not idx:
                args.append(p[centre])
            elif len(idx) == 1:
                a = idx[0]
                args.append((shift(p, a, 1) - shift(p, a, -1)) / (2 * hs[a]))
            elif idx[0] == idx[1]:
                a = idx[0]
                args.append((shift(p, a, 1) - 2 * p[centre] + shift(p, a, -1)) / hs[a] ** 2)
            else:
                args.append((p[2:, 2:] - p[2:, :-2] - p[:-2, 2:] + p[:-2, :-2])
                            / (4 * hs[0] * hs[1]))
        coords = np.meshgrid(*axes, indexing="ij")
        out = np.stack([np.asarray(r(*coords, *args, *k), float) * np.ones(shape)
                        for r in self.residuals])
        for (j, a), pair in self.sides.items():  # Dirichlet nodes: u = g
            other = [axes[1 - a]] if len(axes) == 2 else []
            for side, (kind, g) in zip((0, -1), pair):
                if kind == "dirichlet":
                    at = tuple(side if b == a else slice(None) for b in range(len(axes)))
                    out[(j, *at)] = fields[(j, *at)] - np.asarray(g(*other, *k), float)
        return out.ravel()

    def _groups(self, shape):
        """A colour per column for the finite-difference Jacobian: no two columns of a colour
        within one stencil (3 colours per axis, a distance of 1 apart at most, plus one per
        node left over where a periodic axis's n is not a multiple of 3), each field apart."""
        m = len(self.fields)
        index = np.indices((m, *shape)).reshape(len(shape) + 1, -1)
        colour = index[0].copy()
        for a, size in enumerate(shape):
            i, extra = index[a + 1], size % 3 if self.periodic[a] else 0
            colour = colour * (3 + extra) + np.where(i >= size - extra, 3 + i - (size - extra),
                                                     i % 3)
        return np.unique(colour, return_inverse=True)[1]

    def _jacobian(self, U, F, axes, k):
        from scipy.sparse import csc_matrix

        shape = tuple(len(x) for x in axes)
        nodes, m = int(np.prod(shape)), len(self.fields)
        colour = self._groups(shape)
        step = 1e-7 * np.maximum(1.0, np.abs(U))
        dF = np.empty((colour.max() + 1, len(U)))
        for c in range(len(dF)):
            V = U.copy()
            V[colour == c] += step[colour == c]
            dF[c] = self._residual(V, axes, k) - F
        cols = np.arange(len(U))
        pos = np.array(np.unravel_index(cols % nodes, shape))
        rows_all, cols_all = [], []
        for offset in np.indices((3,) * len(shape)).reshape(len(shape), -1).T - 1:
            near = pos + offset[:, None]
            ok = np.ones(len(U), bool)
            for a, size in enumerate(shape):
                if self.periodic[a]:
                    near[a] %= size
                else:
                    ok &= (near[a] >= 0) & (near[a] < size)
            flat = np.ravel_multi_index(np.where(ok, near, 0), shape)
            for f in range(m):
                rows_all.append(f * nodes + flat[ok])
                cols_all.append(cols[ok])
        rows, cols = np.concatenate(rows_all), np.concatenate(cols_all)
        pair = np.unique(rows * len(U) + cols)  # a wrapped stencil may name a node twice
        rows, cols = divmod(pair, len(U))
        vals = dF[colour[cols], rows] / step[cols]
        return csc_matrix((vals, (rows, cols)), shape=(len(U), len(U)))

    def solve(self, params: Dict[str, float]):
        """The grid values (fields, *grid) for the unknowns `params`, else ValueError."""
        from scipy.sparse.linalg import spsolve

        k = [params[p] for p in self.params] + list(self.constants.values())
        axes = self._axes()
        shape = (len(self.fields), *(len(x) for x in axes))
        U = np.zeros(int(np.prod(shape))) if self.solution is None or \
            self.solution.shape != shape else self.solution.ravel().copy()
        F = self._residual(U, axes, k)
        for _ in range(self.max_steps):
            if not np.all(np.isfinite(F)):
                raise ValueError("the steady solve produced non-finite residuals")
            dU = spsolve(self._jacobian(U, F, axes, k), -F)
            if not np.all(np.isfinite(dU)):
                raise ValueError("the discretised steady equations have a singular Jacobian")
            U = U + dU
            F = self._residual(U, axes, k)
            if np.max(np.abs(dU)) <= self.tol * max(1.0, np.max(np.abs(U))):
                self.solution = U.reshape(shape)
                return axes, self.solution
        raise ValueError(f"Newton's method did not converge in {self.max_steps} steps "
                         f"(max residual {np.max(np.abs(F)):.3g})")

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        from scipy.interpolate import RectBivariateSpline, make_interp_spline

        axes, values = self.solve(params)
        grids, wrapped = [], []
        for a, (x, p) in enumerate(zip(axes, self.periodic)):
            period = self.box[a][1] - self.box[a][0]
            wrapped.append(3 if p else 0)
            grids.append(np.concatenate([x[-3:] - period, x, x[:3] + period]) if p else x)
        out = []
        for c in self.cols:
            v = values[c]
            for a, w in enumerate(wrapped):
                if w:
                    v = np.concatenate([np.take(v, range(-w, 0), axis=a), v,
                                        np.take(v, range(w), axis=a)], axis=a)
            if len(axes) == 1:
                out.append(make_interp_spline(grids[0], v, k=3)(self.obs_x[:, 0]))
            else:
                spline = RectBivariateSpline(grids[0], grids[1], v, kx=3, ky=3)
                out.append(spline(self.obs_x[:, 0], self.obs_x[:, 1], grid=False))
        return np.concatenate(out)
