"""The generic reference solver on a periodic box in two space inputs, built from a problem's
own equations (from_equations.py): Fourier pseudo-spectral derivatives on an n × n grid with the
2/3 rule against aliasing, integrated in time by scipy's adaptive Runge–Kutta (`solve_ivp`,
RK45), the fields read at the observations by exact trigonometric interpolation.

Two forms of equations:
- evolution equations u_t = F(u, v, u_x, u_yy, ..., x, y, t; k) for every field;
- incompressible flow: fields with time derivatives u_t = G − c ∂p/∂x_i, a field p without one
  (the pressure) that enters only through its gradient, and one residual without a time
  derivative that is the velocity's divergence. On the periodic box u_t is then the Leray
  projection of G onto divergence-free fields and p solves c Δp = ∇·G (zero mean; a fitted
  offset when p is observed).

The initial state comes from conditions at t = lo that fix every evolving field, else from the
observations at the earliest time, fitted by least squares with the Fourier modes |k| ≤ K
(K ≤ 8, at least two observations per mode, and the K of least leave-one-out error), projected
to divergence-free for a flow."""
from typing import Dict, List

import numpy as np
import sympy

from pinn_cli.problem.unknowns import Unknown
from pinn_cli.solvers.from_equations import (capped, evolution_form, initial_values, loo_error,
                                             numeric)

MAX_MODE = 8  # highest wavenumber (periods over the box) fitted to an observed initial slice


def _timed(problem, expr) -> bool:
    t = problem.inputs.index("t")
    return any(t in (problem.derivative_symbol(s.name) or ("", ()))[1]
               for s in expr.free_symbols)


def split_form(problem, space):
    """({field: G}, pressure, c, axis): the evolution form of the fields with time derivatives
    and, for an incompressible flow, the pressure field, its coefficient c in u_t = G − c ∇p and
    each velocity field's axis (its component); pressure None for plain evolution equations."""
    if any(eq.expr is None for eq in problem.residuals):
        raise ValueError("a residual is Python code, not an equation string")
    timed = [eq for eq in problem.residuals if _timed(problem, eq.expr)]
    moving = sorted({d[0] for eq in timed for s in eq.expr.free_symbols
                     if (d := problem.derivative_symbol(s.name)) and
                     problem.inputs.index("t") in d[1]}, key=problem.outputs.index)
    rest = [f for f in problem.outputs if f not in moving]
    if not rest:
        return evolution_form(problem), None, 0.0, {}
    free = [eq for eq in problem.residuals if eq not in timed]
    if len(rest) != 1 or len(free) != 1 or len(moving) != len(space):
        raise ValueError(f"{', '.join(rest)} {'has' if len(rest) == 1 else 'have'} no time "
                         "derivative, and the equations are not an incompressible flow (one "
                         "pressure, one divergence constraint, a velocity component per space "
                         "input): not in evolution form")
    p = rest[0]
    form = evolution_form(problem, moving, timed)
    grads = [sympy.Symbol(problem.derivative_name((p, (problem.inputs.index(s),))))
             for s in space]
    c, axis = None, {}
    for f, rhs in form.items():
        coef = [sympy.simplify(sympy.diff(rhs, g)) for g in grads]
        hits = [j for j, a in enumerate(coef) if a != 0]
        g_rest = sympy.expand(rhs - sum(a * g for a, g in zip(coef, grads)))
        if len(hits) != 1 or coef[hits[0]].free_symbols or \
                any((problem.derivative_symbol(s.name) or (s.name, ()))[0] == p
                    for s in g_rest.free_symbols) or (c is not None and -coef[hits[0]] != c):
            raise ValueError(f"{f}_t = {rhs}: the pressure {p} must enter each momentum equation "
                             "only as one constant multiple of its gradient")
        c, axis[f], form[f] = -coef[hits[0]], hits[0], g_rest
    divergence = sum(sympy.Symbol(problem.derivative_name((f, (problem.inputs.index(space[j]),))))
                     for f, j in axis.items())
    ratio = sympy.simplify(free[0].expr / divergence)
    if sorted(axis.values()) != list(range(len(space))) or ratio.free_symbols or ratio == 0:
        raise ValueError(f"the constraint {free[0].text} is not the divergence of "
                         f"({', '.join(moving)}): the generic solver handles incompressible flow")
    return form, p, float(c), axis


class BoxModel:
    """The fields at the observations, on the periodic box spanned by two space inputs."""

    def __init__(self, problem, obs, space: List[str], n: int = 64, rtol: float = 1e-7):
        periodic = {q.input for q in problem.periodic}
        if not set(space) <= periodic:
            raise ValueError(f"two space inputs ({', '.join(space)}) that are not both "
                             "periodic: the generic solver covers 2-D problems on a periodic box "
                             f"only (pde.periodic=[{', '.join(space)}])")
        self.form, self.pressure, self.c, self.axis = split_form(problem, space)
        self.n, self.rtol, self.space = n, rtol, space
        self.fields = list(self.form)
        self.params, self.constants = [u.name for u in problem.unknowns], dict(problem.constants)
        self.box = [problem.domain[s] for s in space]
        si = [problem.inputs.index(s) for s in space]
        used = sorted({problem.derivative_symbol(s.name) or (s.name, ())
                       for rhs in self.form.values() for s in rhs.free_symbols
                       if (problem.derivative_symbol(s.name) or (s.name, ()))[0] in self.fields})
        self.derivs = [(self.fields.index(f), [si.index(i) for i in idx]) for f, idx in used]
        names = [*space, "t", *(problem.derivative_name(d) for d in used), *self.params,
                 *self.constants]
        self.rhs = [numeric(self.form[f], names) for f in self.fields]
        self.obs_x = obs.x[:, si]
        self.obs_fields = list(obs.fields)
        t = obs.x[:, problem.inputs.index("t")]
        self.times, self.index = np.unique(t, return_inverse=True)
        self.nuisance: List[Unknown] = []
        if self.pressure in obs.fields:  # the pressure's level is not fixed by the equations
            seen = obs.y[:, obs.fields.index(self.pressure)]
            seen = seen[np.isfinite(seen)]  # no values when pinn-data builds it: level 0
            level = float(seen.mean()) if seen.size else 0.0
            self.nuisance.append(Unknown(name=f"mean {self.pressure}", guess=level,
                                         transform="identity"))
        self._initial_state(problem, obs, t)

    def _initial_state(self, problem, obs, t):
        t_lo = problem.domain["t"][0]
        declared = initial_values(problem, "t", t_lo)
        if set(declared) >= set(self.fields):
            self.start = t_lo
            fns = [numeric(declared[f], [*self.space, *self.params, *self.constants])
                   for f in self.fields]
            self.initial = lambda xy, k: [np.asarray(fn(*xy, *k), float) * np.ones_like(xy[0])
                                          for fn in fns]
            self.how = f"from the conditions at t = {t_lo:g}"
            return
        self.start = float(t.min())
        at = np.isclose(t, self.start, rtol=0, atol=1e-12 * max(1.0, abs(self.start)))
        m = int(at.sum())
        modes = min(MAX_MODE, int((np.sqrt(m / 2) - 1) // 2))
        missing = [f for f in self.fields if f not in obs.fields]
        if missing or modes < 1:
            raise ValueError(
                f"no condition at t = {t_lo:g} fixes {', '.join(missing or self.fields)}, and "
                + (f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not observed"
                   if missing else f"only {m} observations lie at the earliest time "
                   f"{self.start:g} (18 or more are needed)")
                + f": the initial state is unknown; declare it (pde.conditions.initial: "
                f"{{at: {{t: {t_lo:g}}}, equation: ...}})")
        phase = self._phase(obs.x[at][:, [problem.inputs.index(s) for s in self.space]])
        values = obs.y[at][:, [obs.fields.index(f) for f in self.fields]]
        modes = min(range(1, modes + 1), key=lambda K: loo_error(_modes(phase, K), values))
        coef = list(np.linalg.lstsq(_modes(phase, modes), values, rcond=None)[0].T)
        self.initial = lambda xy, k: [_modes(self._phase(np.stack([a.ravel() for a in xy], 1)),
                                             modes) @ c for c in coef]
        self.how = (f"fitted to the {m} observations at t = {self.start:g} with the Fourier "
                    f"modes |k| <= {modes}, chosen by leave-one-out error (their noise is not in the "
                    "bound)")

    def _phase(self, xy):
        """Coordinates (N, 2) as angles 2π (x − lo) / period."""
        return np.stack([2 * np.pi * (xy[:, j] - lo) / (hi - lo)
                         for j, (lo, hi) in enumerate(self.box)], 1)

    @property
    def description(self) -> str:
        flow = f", incompressible (pressure {self.pressure} by projection)" \
            if self.pressure else ""
        return (f"Fourier pseudo-spectral on the periodic {' × '.join(self.space)} box "
                f"({self.n} × {self.n}, 2/3 dealiasing{flow}), scipy solve_ivp (RK45, rtol "
                f"{self.rtol:g}); initial state {self.how}")

    def refined(self):
        """The same model on a grid 1.5 times as fine, with a 10x tighter tolerance."""
        twin = object.__new__(type(self))
        twin.__dict__ = dict(self.__dict__, n=3 * self.n // 4 * 2, rtol=self.rtol / 10)
        return twin

    def _waves(self):
        """The wavenumbers (kx, ky) of rfft2's half spectrum and the 2/3 rule's mask."""
        n = self.n
        k, kr = np.fft.fftfreq(n, 1.0 / n), np.fft.rfftfreq(n, 1.0 / n)
        (lx0, lx1), (ly0, ly1) = self.box
        kk = np.meshgrid(2 * np.pi * k / (lx1 - lx0), 2 * np.pi * kr / (ly1 - ly0), indexing="ij")
        return kk, (np.abs(k) < n / 3)[:, None] & (kr < n / 3)[None, :]

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        n, m = self.n, len(self.fields)
        k = [params[p] for p in self.params] + list(self.constants.values())
        xy = np.meshgrid(*(lo + (hi - lo) * np.arange(n) / n for lo, hi in self.box),
                         indexing="ij")
        (kx, ky), keep = self._waves()
        ik = [1j * kx, 1j * ky]
        k2 = np.where(kx ** 2 + ky ** 2 > 0, kx ** 2 + ky ** 2, 1.0)
        axis = [self.axis.get(f) for f in self.fields]

        def spectral_rhs(t, state):
            hats = [np.fft.rfft2(s) * keep for s in state.reshape(m, n, n)]
            args = [np.fft.irfft2(hats[j] * np.prod([ik[a] for a in axes], axis=0), (n, n))
                    for j, axes in self.derivs]
            out = [np.fft.rfft2(np.asarray(g(*xy, t, *args, *k), float) * np.ones((n, n))) * keep
                   for g in self.rhs]
            if self.pressure:
                out, div = projected(out)
                # the pressure for this state: c Δp = ∇·G
                spectral_rhs.pressure = -div / (self.c * k2) * (k2 > 0)
            return out

        def projected(hats):
            """The Leray projection of spectral fields onto divergence-free ones, and their
            divergence."""
            div = sum(ik[a] * hats[j] for j, a in enumerate(axis))
            return [hats[j] - ik[a] * div / -k2 * (k2 > 0) for j, a in enumerate(axis)], div

        def f(t, y):
            return np.concatenate([np.fft.irfft2(h, (n, n)).ravel() for h in spectral_rhs(t, y)])

        y0 = np.concatenate([np.ravel(a) for a in self.initial(xy, k)])
        if self.pressure:  # the initial state projected onto divergence-free fields
            h0, _ = projected([np.fft.rfft2(a) for a in y0.reshape(m, n, n)])
            y0 = np.concatenate([np.fft.irfft2(h, (n, n)).ravel() for h in h0])
        end = float(self.times.max())
        if end > self.start:
            from scipy.integrate import solve_ivp

            sol = solve_ivp(capped(f), (self.start, end), y0, method="RK45", rtol=self.rtol,
                            atol=self.rtol * 1e-2 * max(np.abs(y0).max(), 1e-12),
                            t_eval=np.clip(self.times, self.start, end))
            if not sol.success:
                raise ValueError(f"the integration failed: {sol.message}")
            states = sol.y.T
        else:
            states = np.tile(y0, (len(self.times), 1))
        return self._at_observations(states, spectral_rhs, params)

    def _at_observations(self, states, spectral_rhs, params):
        """Each observed field at its observations, by trigonometric interpolation."""
        n, m = self.n, len(self.fields)
        k = np.fft.fftfreq(n, 1.0 / n)
        phase = self._phase(self.obs_x)
        out = {f: np.empty(len(self.obs_x)) for f in self.obs_fields}
        for i, (t, state) in enumerate(zip(self.times, states)):
            rows = np.flatnonzero(self.index == i)
            ex, ey = (np.exp(1j * np.outer(phase[rows, j], k)) for j in range(2))
            hats = {f: np.fft.fft2(s) for f, s in zip(self.fields, state.reshape(m, n, n))}
            if self.pressure in out:
                spectral_rhs(t, state)
                hats[self.pressure] = np.fft.fft2(np.fft.irfft2(spectral_rhs.pressure, (n, n)))
            for f in out:
                out[f][rows] = np.real(np.einsum("pa,ab,pb->p", ex, hats[f], ey)) / n ** 2
        if self.pressure in out:
            out[self.pressure] += params[f"mean {self.pressure}"]
        return np.concatenate([out[f] for f in self.obs_fields])


def _modes(phase, K):
    """The real Fourier basis cos(k·θ), sin(k·θ) over |k_x|, |k_y| ≤ K (half the wavevectors,
    so each pair once) at the angles `phase` (N, 2): (N, (2K+1)²) columns."""
    ks = [(a, b) for a in range(-K, K + 1) for b in range(-K, K + 1)
          if a > 0 or (a == 0 and b >= 0)]
    cols = []
    for a, b in ks:
        arg = a * phase[:, 0] + b * phase[:, 1]
        cols.append(np.cos(arg))
        if (a, b) != (0, 0):
            cols.append(np.sin(arg))
    return np.stack(cols, 1)
