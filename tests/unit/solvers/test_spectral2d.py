"""The pseudo-spectral periodic flows against exact solutions and under refinement."""
import numpy as np
import pytest

from pinn_cli.solvers import (burgers1d_cole_hopf, periodic_burgers2d, periodic_navier_stokes2d,
                              taylor_green_vortex)
from pinn_cli.solvers.spectral2d import _burgers_rhs, _Grid, _vorticity_rhs


def test_navier_stokes_keeps_the_taylor_green_vortex_exact():
    """A single Taylor-Green mode decays as exp(-2 nu t) with the pressure -(cos 2x + cos 2y)/4 F^2."""
    x, t = np.linspace(0, 2 * np.pi, 17), np.linspace(0, 1, 5)
    grid = _Grid(x, x, 32)
    X, Y = np.meshgrid(*grid.nodes, indexing="ij")
    u0, v0 = -np.cos(X) * np.sin(Y), np.sin(X) * np.cos(Y)
    w0 = grid.ikx * np.fft.fft2(v0) - grid.iky * np.fft.fft2(u0)
    states = grid.evolve(w0[None], t, 0.1, _vorticity_rhs, 0.2, 1.0)
    uh, p = zip(*[(uh, grid.pressure(uh, vh)) for uh, vh in map(grid.velocity, states[:, 0])])
    exact = taylor_green_vortex(x, x, t, lambda1=1.0, nu=0.1)
    assert np.abs(grid.at_nodes(np.array(uh)) - exact["u"]).max() < 1e-12
    assert np.abs(grid.at_nodes(np.array(p)) - exact["p"]).max() < 1e-12


def test_burgers_reduces_to_the_cole_hopf_solution_along_x():
    """u(x, y, 0) = -sin(pi x), v = 0 on [-1, 1]^2: every line y = const is Raissi's 1-D Burgers
    flow, whose Cole-Hopf solution is known to quadrature accuracy."""
    x, t, nu = np.linspace(-1, 1, 41), np.linspace(0, 0.5, 6), 0.05
    grid = _Grid(x, x, 128)
    X, _ = np.meshgrid(*grid.nodes, indexing="ij")
    s0 = np.stack([np.fft.fft2(-np.sin(np.pi * X)), np.zeros_like(X, dtype=complex)])
    u = grid.at_nodes(grid.evolve(s0, t, nu, _burgers_rhs, 0.2, 1.0)[:, 0])
    exact = burgers1d_cole_hopf(x, t, nu=nu, lambda1=1.0, n_quad=200)
    assert np.abs(u - exact[:, None, :]).max() < 1e-7


@pytest.mark.parametrize("solver", [periodic_burgers2d, periodic_navier_stokes2d])
@pytest.mark.parametrize("initial", ["vortex", "random"])
def test_converges_under_refinement(solver, initial):
    """48, 64 and 128 Fourier nodes agree at the output nodes (spectral accuracy), and the
    flow is not trivial: it changes by more than 10 % of its speed over the interval."""
    axes = dict(x=np.linspace(0, 1, 17), y=np.linspace(0, 1, 17), t=np.linspace(0, 0.5, 6))
    runs = [solver(**axes, nu=0.01, initial=initial, n=n) for n in (48, 64, 128)]
    for name in runs[0]:
        fine = runs[2][name]
        scale = np.abs(fine).max()
        assert np.abs(runs[1][name] - fine).max() < 1e-4 * scale
        assert np.abs(runs[0][name] - fine).max() < 1e-2 * scale
    u = runs[2]["u"]
    assert np.abs(u[..., -1] - u[..., 0]).max() > 0.1 * np.abs(u).max()


def test_navier_stokes_fields_solve_the_velocity_pressure_form():
    """u_x + v_y = 0 and the x momentum balance hold at the nodes (finite differences in time
    and spectral accuracy in space: residuals small against the terms)."""
    n, nu = 32, 0.01
    x = np.linspace(0, 1, n + 1)
    t = np.linspace(0, 0.01, 3)
    f = periodic_navier_stokes2d(x, x, t, nu=nu, n=64)
    k = 2 * np.pi * np.fft.fftfreq(n, 1.0 / n)

    def d(a, axis, order=1):
        return np.real(np.fft.ifft((1j * k) ** order * np.fft.fft(a, axis=axis).swapaxes(
            axis, -1)).swapaxes(axis, -1))

    u, v, p = (f[name][:n, :n, 1] for name in "uvp")
    assert np.abs(d(u, 0) + d(v, 1)).max() < 1e-8
    u_t = (f["u"][:n, :n, 2] - f["u"][:n, :n, 0]) / (t[2] - t[0])
    residual = u_t + u * d(u, 0) + v * d(u, 1) + d(p, 0) - nu * (d(u, 0, 2) + d(u, 1, 2))
    assert np.abs(residual).max() < 1e-3 * np.abs(u * d(u, 0)).max()


@pytest.mark.parametrize("bad, message", [({"nu": 0.0}, "nu > 0"), ({"amplitude": -1}, "amplitude"),
                                          ({"initial": "gauss"}, "choose one of"),
                                          ({"n": 15}, "even number")])
def test_refuses_bad_options(bad, message):
    axes = dict(x=np.linspace(0, 1, 5), y=np.linspace(0, 1, 5), t=np.linspace(0, 0.1, 2))
    with pytest.raises(ValueError, match=message):
        periodic_burgers2d(**axes, **({"nu": 0.01} | bad))
