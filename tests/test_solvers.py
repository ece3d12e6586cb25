"""Reference solvers: PDE residuals under grid refinement, quadrature convergence, Raissi's data,
the shipped files."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from pinn_cli.solvers import burgers1d_cole_hopf, burgers2d_front, heat1d_series

from conftest import REPO

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "burgers_shock.h5"
NU = 0.01 / np.pi
X_RAISSI = np.linspace(-1.0, 1.0, 256)
T_RAISSI = np.linspace(0.0, 0.99, 100)


def test_heat_series_satisfies_pde_bc_ic():
    k, length = 0.1, 2.0
    x = np.linspace(0.0, length, 401)
    t = np.linspace(0.0, 0.5, 401)
    u = heat1d_series(x, t, k, length=length)
    assert u.shape == (401, 401) and u.dtype == np.float64
    dx, dt = x[1] - x[0], t[1] - t[0]
    u_t = (u[1:-1, 2:] - u[1:-1, :-2]) / (2 * dt)
    u_xx = (u[2:, 1:-1] - 2 * u[1:-1, 1:-1] + u[:-2, 1:-1]) / dx**2
    # Central differences are O(h^2): measured max residual 5.3e-5 against max |u_t| = 1.2.
    assert np.abs(u_t - k * u_xx).max() < 2e-4
    np.testing.assert_allclose(u[[0, -1], :], 0.0, atol=1e-14)
    ic = np.sin(np.pi * x / length) + 0.5 * np.sin(3 * np.pi * x / length)
    np.testing.assert_allclose(u[:, 0], ic, atol=1e-14)


def test_burgers_quadrature_converges():
    u = {n: burgers1d_cole_hopf(X_RAISSI, T_RAISSI, NU, n_quad=n) for n in (40, 80, 160, 320)}
    diffs = [np.abs(u[n] - u[2 * n]).max() for n in (40, 80, 160)]
    assert diffs[0] > diffs[1] > diffs[2]
    # Measured: 40 vs 80: 2.8e-5, 80 vs 160: 6.2e-14, 160 (default) vs 320: 1.6e-15.
    assert diffs[2] < 1e-12


def test_burgers_matches_raissi_reference():
    if not REFERENCE.exists():
        pytest.skip(f"reference file {REFERENCE} not present")
    with h5py.File(REFERENCE, "r") as f:
        x, t, usol = f["x"][:], f["t"][:], f["usol"][:]
        nu, lambda1 = float(f.attrs["nu"]), float(f.attrs["lambda1"])
    u = burgers1d_cole_hopf(x, t, nu, lambda1)
    # Measured max abs difference: 4.2e-11 (at x ≈ 0, t = 0.66).
    assert np.abs(u - usol).max() < 1e-9


def test_burgers_bc_ic_and_validation():
    u = burgers1d_cole_hopf(X_RAISSI, T_RAISSI, NU, lambda1=1.5)
    assert u.shape == (256, 100) and u.dtype == np.float64
    np.testing.assert_allclose(u[[0, -1], :], 0.0, atol=1e-12)
    np.testing.assert_array_equal(u[:, 0], -np.sin(np.pi * X_RAISSI))
    for bad in ({"nu": 0.0}, {"nu": NU, "lambda1": -1.0}, {"nu": NU, "n_quad": 1000}):
        with pytest.raises(ValueError):
            burgers1d_cole_hopf(X_RAISSI, T_RAISSI, **bad)


def _burgers2d_residual(n, nu):
    """Max central-difference residual of both 2-D Burgers equations on an n^3 grid."""
    x = y = t = np.linspace(0.0, 1.0, n)
    h = x[1] - x[0]
    f = burgers2d_front(x, y, t, nu)
    u, v = f["u"], f["v"]
    d = lambda a, ax: (np.roll(a, -1, ax) - np.roll(a, 1, ax))[1:-1, 1:-1, 1:-1] / (2 * h)
    d2 = lambda a, ax: (np.roll(a, -1, ax) - 2 * a + np.roll(a, 1, ax))[1:-1, 1:-1, 1:-1] / h**2
    inner = (slice(1, -1),) * 3
    out = []
    for w in (u, v):
        r = d(w, 2) + u[inner] * d(w, 0) + v[inner] * d(w, 1) - nu * (d2(w, 0) + d2(w, 1))
        out.append(np.abs(r).max())
    return max(out)


def test_burgers2d_front_residual_converges_at_second_order():
    errors = [_burgers2d_residual(n, 0.01) for n in (41, 81, 161)]
    # O(h^2) truncation: halving h divides the residual by ~4 (measured 3.6-3.9).
    assert errors[0] / errors[1] > 3.3 and errors[1] / errors[2] > 3.6
    assert errors[2] < 0.02 * 0.25 * 12.5  # vs |u_t| ~ front jump x steepness / 4
    f = burgers2d_front([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], 1e-4)  # thin front: no overflow
    assert np.all(np.isfinite(f["u"])) and np.allclose(f["u"] + f["v"], 1.5)
    with pytest.raises(ValueError):
        burgers2d_front([0.0], [0.0], [0.0], 0.0)


@pytest.mark.parametrize("name,solver,fields", [
    ("heat1d", heat1d_series, {"usol": ("x", "t")}),
    ("burgers1d", burgers1d_cole_hopf, {"usol": ("x", "t")}),
    ("burgers2d", burgers2d_front, {"u": ("x", "y", "t"), "v": ("x", "y", "t")}),
])
def test_shipped_files_hold_their_reference_solution(name, solver, fields):
    """data/*.h5 are exactly what their solver gives with the truth in the file's attributes."""
    with h5py.File(REPO / "data" / f"{name}.h5", "r") as f:
        attrs = dict(f.attrs)
        assert attrs["pde"] == name and attrs["layout"] == "grid" and attrs["noise"] == 0
        assert attrs["generator"].startswith(f"pinn-data pde={name}")
        axes = next(iter(fields.values()))
        truth = {k: float(attrs[k]) for k in ("k", "lambda1", "nu") if k in attrs}
        options = {"n_quad": 160} if name == "burgers1d" else {}
        expected = solver(**{a: f[a][:] for a in axes}, **truth, **options)
        expected = expected if isinstance(expected, dict) else {"usol": expected}
        for dataset, order in fields.items():
            assert [a.decode() for a in f[dataset].attrs["axes"]] == list(order)
            np.testing.assert_allclose(f[dataset][:], expected.get(dataset, expected.get(
                dataset[0])), rtol=0, atol=1e-14)
    if name == "burgers1d":
        assert truth == {"lambda1": 1.0, "nu": NU}
