"""Pseudo-spectral solvers of 2-D flows on a periodic square, in numpy.

Fourier collocation on an n × n grid with the 2/3 rule against aliasing, and the integrating
factor RK4 scheme in time (diffusion exact, the nonlinear term by classical RK4; Kassam &
Trefethen 2005, "Fourth-order time-stepping for stiff PDEs", SIAM J. Sci. Comput. 26, §2). The
step is the largest that divides each output interval and keeps the CFL number ≤ `cfl`. Fields
are evaluated at the output nodes by exact trigonometric interpolation, so any grid over the
box (endpoints included) can be asked for.

- `periodic_burgers2d`: u_t + u u_x + v u_y = ν Δu, v_t + u v_x + v v_y = ν Δv.
- `periodic_navier_stokes2d`: incompressible Navier–Stokes in vorticity form,
  ω_t + u ω_x + v ω_y = ν Δω, u = ψ_y, v = −ψ_x, Δψ = −ω; the pressure from
  Δp = −∂_i ∂_j (u_i u_j) (zero mean), so that (u, v, p) solve the velocity–pressure form.
"""
import numpy as np

INITIAL = ("vortex", "random")  # the initial states of both solvers


def periodic_burgers2d(x, y, t, nu: float, amplitude: float = 0.5, initial: str = "vortex",
                       n: int = 64, cfl: float = 0.2, seed: int = 0) -> dict:
    """2-D viscous Burgers on the periodic box spanned by `x` and `y` from a smooth state of
    largest speed `amplitude`: `vortex`, the cells u = A sin 2πX cos 2πY, v = −A cos 2πX sin 2πY
    (X, Y the coordinates over the period), or `random`, low modes (|k| ≤ 3 periods) of both
    components with random phases from `seed`. Returns {"u", "v"}: float64 arrays of shape
    (len(x), len(y), len(t))."""
    grid = _Grid(x, y, n)
    u0, v0 = _initial_velocity(grid, amplitude, initial, seed, solenoidal=False)
    states = grid.evolve(np.stack([np.fft.fft2(u0), np.fft.fft2(v0)]), t, nu, _burgers_rhs,
                         cfl, amplitude)
    return {"u": grid.at_nodes(states[:, 0]), "v": grid.at_nodes(states[:, 1])}


def periodic_navier_stokes2d(x, y, t, nu: float, amplitude: float = 1.0,
                             initial: str = "vortex", n: int = 64, cfl: float = 0.2,
                             seed: int = 0) -> dict:
    """2-D incompressible Navier–Stokes (density 1) on the periodic box spanned by `x` and `y`
    from a divergence-free state of largest speed `amplitude`: `vortex`, the stream function
    sin 2πX sin 2πY + ½ cos(2π(2X + Y) + 0.3) (two modes of different |k|, so the nonlinear term
    does not vanish as it does for a Taylor–Green vortex alone), or `random`, low modes of ψ
    with random phases from `seed`. Returns {"u", "v", "p"}: float64 arrays of shape
    (len(x), len(y), len(t))."""
    grid = _Grid(x, y, n)
    u0, v0 = _initial_velocity(grid, amplitude, initial, seed, solenoidal=True)
    w0 = grid.ikx * np.fft.fft2(v0) - grid.iky * np.fft.fft2(u0)
    states = grid.evolve(w0[None], t, nu, _vorticity_rhs, cfl, amplitude)
    out = {"u": [], "v": [], "p": []}
    for w in states[:, 0]:
        uh, vh = grid.velocity(w)
        for name, field in zip(out, (uh, vh, grid.pressure(uh, vh))):
            out[name].append(field)
    return {name: grid.at_nodes(np.array(fields)) for name, fields in out.items()}


class _Grid:
    """The n × n Fourier grid of the periodic box spanned by the output axes x and y."""

    def __init__(self, x, y, n: int):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if n < 8 or n % 2:
            raise ValueError(f"n={n}: give an even number of Fourier nodes >= 8")
        self.lo = np.array([x.min(), y.min()])
        self.period = np.array([np.ptp(x), np.ptp(y)])
        if not np.all(self.period > 0):
            raise ValueError("the x and y axes must each span an interval (the period)")
        self.x, self.y, self.n = x, y, n
        k = np.fft.fftfreq(n, 1.0 / n)
        kx, ky = np.meshgrid(2 * np.pi * k / self.period[0], 2 * np.pi * k / self.period[1],
                             indexing="ij")
        self.ikx, self.iky = 1j * kx, 1j * ky
        self.k2 = kx ** 2 + ky ** 2
        keep = np.abs(k) < n / 3  # the 2/3 rule
        self.dealias = keep[:, None] & keep[None, :]
        self.nodes = [self.lo[i] + self.period[i] * np.arange(n) / n for i in range(2)]

    def physical(self, fh):
        return np.real(np.fft.ifft2(fh))

    def velocity(self, wh):
        """(û, v̂) of the vorticity ω̂: ψ̂ = ω̂ / |k|² (zero mean), u = ψ_y, v = −ψ_x."""
        psi = np.where(self.k2 > 0, wh / np.where(self.k2 > 0, self.k2, 1.0), 0.0)
        return self.iky * psi, -self.ikx * psi

    def pressure(self, uh, vh):
        """p̂ with Δp = −∂_i ∂_j (u_i u_j), zero mean."""
        u, v = self.physical(uh), self.physical(vh)
        kk = -(self.ikx ** 2 * np.fft.fft2(u * u) + 2 * self.ikx * self.iky * np.fft.fft2(u * v)
               + self.iky ** 2 * np.fft.fft2(v * v))
        return np.where(self.k2 > 0, -kk / np.where(self.k2 > 0, self.k2, 1.0), 0.0)

    def evolve(self, state, t, nu: float, rhs, cfl: float, speed: float):
        """The spectral state (m, n, n) at each time in `t` (ascending, from t[0]): integrating
        factor RK4 with exp(−ν|k|² h) per step."""
        if not nu > 0:
            raise ValueError(f"need nu > 0, got nu={nu}")
        t = np.asarray(t, dtype=np.float64)
        if np.any(np.diff(t) <= 0):
            raise ValueError("the t axis must be increasing")
        dx = float(np.min(self.period)) / self.n
        out = [state * self.dealias]
        for dt in np.diff(t):
            steps = max(1, int(np.ceil(dt * max(speed, 1e-12) / (cfl * dx))))
            h = dt / steps
            e_half = np.exp(-nu * self.k2 * h / 2)
            s = out[-1]
            for _ in range(steps):
                s = _ifrk4_step(s, h, e_half, lambda q: rhs(self, q) * self.dealias)
            out.append(s)
        return np.array(out)

    def at_nodes(self, states):
        """Fields (T, n, n) of spectral states (T, n, n) at the output grid: (len(x), len(y), T)."""
        k = np.fft.fftfreq(self.n, 1.0 / self.n)
        ex = np.exp(2j * np.pi * np.outer((self.x - self.lo[0]) / self.period[0], k))
        ey = np.exp(2j * np.pi * np.outer((self.y - self.lo[1]) / self.period[1], k))
        vals = np.real(np.einsum("ik,tkl,jl->ijt", ex, states, ey)) / self.n ** 2
        return vals


def _ifrk4_step(s, h, e_half, nonlinear):
    """One integrating factor RK4 step of s_t = −ν|k|² s + N(s) (e_half = exp(−ν|k|² h/2))."""
    a = h * nonlinear(s)
    b = h * nonlinear(e_half * (s + a / 2))
    c = h * nonlinear(e_half * s + b / 2)
    d = h * nonlinear(e_half ** 2 * s + e_half * c)
    return e_half ** 2 * s + (e_half ** 2 * a + 2 * e_half * (b + c) + d) / 6


def _burgers_rhs(grid: _Grid, s):
    """−(u·∇)u for the spectral velocity s = (û, v̂)."""
    u, v = grid.physical(s[0]), grid.physical(s[1])
    out = []
    for fh in s:
        fx, fy = grid.physical(grid.ikx * fh), grid.physical(grid.iky * fh)
        out.append(-np.fft.fft2(u * fx + v * fy))
    return np.stack(out)


def _vorticity_rhs(grid: _Grid, s):
    """−(u·∇)ω for the spectral vorticity s = (ω̂,)."""
    uh, vh = grid.velocity(s[0])
    u, v = grid.physical(uh), grid.physical(vh)
    wx, wy = grid.physical(grid.ikx * s[0]), grid.physical(grid.iky * s[0])
    return -np.fft.fft2(u * wx + v * wy)[None]


def _initial_velocity(grid: _Grid, amplitude: float, initial: str, seed: int,
                      solenoidal: bool):
    """(u, v) on the Fourier nodes, scaled to the largest speed `amplitude` (measured on a
    fixed fine grid, so that the state does not depend on n)."""
    if not amplitude > 0:
        raise ValueError(f"need amplitude > 0, got amplitude={amplitude}")
    if initial not in INITIAL:
        raise ValueError(f"initial={initial!r}: choose one of {list(INITIAL)}")
    fine = _Grid(grid.lo[0] + grid.period[0] * np.array([0.0, 1.0]),
                 grid.lo[1] + grid.period[1] * np.array([0.0, 1.0]), 256)
    u, v = _unscaled_velocity(fine, initial, seed, solenoidal)
    scale = amplitude / np.sqrt(u ** 2 + v ** 2).max()
    u, v = _unscaled_velocity(grid, initial, seed, solenoidal)
    return u * scale, v * scale


def _unscaled_velocity(grid: _Grid, initial: str, seed: int, solenoidal: bool):
    """The initial state's shape on the grid's nodes (X, Y the coordinates over the period)."""
    X, Y = np.meshgrid(*((grid.nodes[i] - grid.lo[i]) / grid.period[i] for i in range(2)),
                       indexing="ij")
    if initial == "random":
        return _random_modes(X, Y, seed, solenoidal, grid)
    psi = np.sin(2 * np.pi * X) * np.sin(2 * np.pi * Y)
    if solenoidal:
        psi = psi + 0.5 * np.cos(2 * np.pi * (2 * X + Y) + 0.3)
    ph = np.fft.fft2(psi)
    return grid.physical(grid.iky * ph), -grid.physical(grid.ikx * ph)


def _random_modes(X, Y, seed: int, solenoidal: bool, grid: _Grid):
    """Velocity from random low modes 1 ≤ |k| ≤ 3 (in periods) with amplitudes ∝ 1/|k|²: of a
    stream function (solenoidal) or of each component."""
    rng = np.random.default_rng(seed)
    fields = []
    for _ in range(1 if solenoidal else 2):
        f = np.zeros_like(X)
        for a in range(-3, 4):
            for b in range(0, 4):
                r2 = a * a + b * b
                if 0 < r2 <= 9 and (b > 0 or a > 0):
                    f += np.cos(2 * np.pi * (a * X + b * Y) + rng.uniform(0, 2 * np.pi)) / r2
        fields.append(f)
    if solenoidal:
        ph = np.fft.fft2(fields[0])
        return grid.physical(grid.iky * ph), -grid.physical(grid.ikx * ph)
    return fields[0], fields[1]
