"""Reference solvers: PDE residuals, quadrature convergence, Raissi's data, shipped files."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from pinn_cli.solvers import burgers1d_cole_hopf, heat1d_series
from pinn_cli.solvers import shipped

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


def test_shipped_writes_documented_files(tmp_path):
    shipped.main(["--out", tmp_path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["burgers1d.h5", "heat1d.h5"]
    expected = {
        "heat1d.h5": ((101, 101), {"k", "pde", "equation", "generator", "solver"}),
        "burgers1d.h5": ((256, 100), {"lambda1", "nu", "pde", "equation", "generator", "solver"}),
    }
    for name, (shape, attrs) in expected.items():
        with h5py.File(tmp_path / name, "r") as f:
            assert f["usol"].shape == shape == (f["x"].size, f["t"].size)
            assert all(f[d].dtype == np.float64 for d in ("x", "t", "usol"))
            assert [a.decode() for a in f["usol"].attrs["axes"]] == ["x", "t"]
            assert attrs <= set(f.attrs)
            assert f.attrs["pde"] == name.removesuffix(".h5")
    with h5py.File(tmp_path / "heat1d.h5", "r") as f:
        assert f.attrs["k"] == 0.1 and f["t"][-1] == 0.5
        np.testing.assert_allclose(f["usol"][:], heat1d_series(f["x"][:], f["t"][:], 0.1), atol=0)
    with h5py.File(tmp_path / "burgers1d.h5", "r") as f:
        assert f.attrs["nu"] == NU and f.attrs["lambda1"] == 1.0
        np.testing.assert_array_equal(f["t"][:], T_RAISSI)
