"""Reference solvers: PDE residuals under grid refinement, quadrature convergence, Raissi's data,
the shipped files."""


import h5py
import numpy as np
import pytest

from pinn_cli.solvers import burgers1d_cole_hopf, burgers2d_front, heat1d_series

from conftest import REPO

REFERENCE = REPO / "data" / "burgers_shock.h5"
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


def _convection_residual(n, beta):
    """Max central-difference residual of u_t + beta u_x on an n x n grid over [0, 2 pi] x [0, 1]."""
    from pinn_cli.solvers import convection_exact

    x, t = np.linspace(0.0, 2 * np.pi, n), np.linspace(0.0, 1.0, n)
    u = convection_exact(x, t, beta)
    u_t = (u[1:-1, 2:] - u[1:-1, :-2]) / (2 * (t[1] - t[0]))
    u_x = (u[2:, 1:-1] - u[:-2, 1:-1]) / (2 * (x[1] - x[0]))
    return np.abs(u_t + beta * u_x).max()


def test_convection_exact_satisfies_pde_ic_and_periodicity():
    from pinn_cli.solvers import convection_exact

    errors = [_convection_residual(n, 30.0) for n in (201, 401, 801)]
    # O(h^2): halving h divides the residual by ~4 (measured 4.00, 4.00: 0.107, 0.027, 0.0067
    # against |u_t| up to beta = 30).
    assert errors[0] / errors[1] > 3.8 and errors[1] / errors[2] > 3.8
    assert errors[2] < 0.01
    x, t = np.linspace(0.0, 2 * np.pi, 64), np.linspace(0.0, 1.0, 33)
    u = convection_exact(x, t, 30.0)
    assert u.shape == (64, 33) and u.dtype == np.float64
    np.testing.assert_array_equal(u[:, 0], np.sin(x))
    np.testing.assert_allclose(u[0, :], u[-1, :], atol=1e-12)  # periodic in x
    with pytest.raises(ValueError):
        convection_exact(x, t, float("nan"))


def test_shipped_convection_file_holds_its_reference_solution():
    from pinn_cli.solvers import convection_exact

    with h5py.File(REPO / "data" / "convection.h5", "r") as f:
        attrs = dict(f.attrs)
        assert attrs["pde"] == "convection" and attrs["layout"] == "grid" and attrs["noise"] == 0
        assert attrs["generator"].startswith("pinn-data pde=convection")
        assert [a.decode() for a in f["usol"].attrs["axes"]] == ["x", "t"]
        x, t = f["x"][:], f["t"][:]
        assert (len(x), len(t)) == (256, 100) and float(attrs["beta"]) == 30.0
        np.testing.assert_allclose(f["usol"][:], convection_exact(x, t, float(attrs["beta"])),
                                   rtol=0, atol=1e-14)


# --- oscillator, Lotka-Volterra, Fisher-KPP, Taylor-Green --------------------------------------

def test_oscillator_closed_form_is_exact_and_matches_its_initial_values():
    import sympy as sp

    from pinn_cli.solvers import oscillator_underdamped

    t_, c_, k_, x0_, v0_ = sp.symbols("t c k x0 v0", real=True)
    w = sp.sqrt(k_ - c_**2 / 4)
    x = sp.exp(-c_ * t_ / 2) * (x0_ * sp.cos(w * t_) + (v0_ + c_ * x0_ / 2) / w * sp.sin(w * t_))
    assert sp.simplify(sp.diff(x, t_, 2) + c_ * sp.diff(x, t_) + k_ * x) == 0
    assert sp.simplify(x.subs(t_, 0) - x0_) == 0 and sp.simplify(sp.diff(x, t_).subs(t_, 0) - v0_) == 0
    t = np.linspace(0.0, 10.0, 201)
    exact = sp.lambdify(t_, x.subs({c_: 0.4, k_: 4.0, x0_: 1.5, v0_: -0.5}), "numpy")(t)
    np.testing.assert_allclose(oscillator_underdamped(t, 0.4, 4.0, x0=1.5, v0=-0.5), exact,
                               rtol=0, atol=1e-13)


def _oscillator_residual(n, c=0.4, k=4.0):
    from pinn_cli.solvers import oscillator_underdamped

    t = np.linspace(0.0, 10.0, n)
    h = t[1] - t[0]
    x = oscillator_underdamped(t, c, k)
    x_t, x_tt = (x[2:] - x[:-2]) / (2 * h), (x[2:] - 2 * x[1:-1] + x[:-2]) / h**2
    return np.abs(x_tt + c * x_t + k * x[1:-1]).max()


def test_oscillator_residual_converges_at_second_order_and_validates():
    from pinn_cli.solvers import oscillator_underdamped

    errors = [_oscillator_residual(n) for n in (201, 401, 801)]
    # O(h^2) central differences: measured ratios 3.98, 4.00 (residual 3.4e-3 at n = 201).
    assert 3.9 < errors[0] / errors[1] < 4.1 and 3.9 < errors[1] / errors[2] < 4.1
    for bad in ({"c": -0.1, "k": 4.0}, {"c": 0.4, "k": 0.0}, {"c": 4.0, "k": 4.0},
                {"c": 5.0, "k": 4.0}, {"c": float("nan"), "k": 4.0}):
        with pytest.raises(ValueError):
            oscillator_underdamped(np.linspace(0, 1, 5), **bad)
    with pytest.raises(ValueError):
        oscillator_underdamped(np.zeros((2, 2)), 0.4, 4.0)


LV = dict(alpha=1.0, beta=0.1, gamma=1.5, delta=0.075, x0=10.0, y0=5.0)


def test_lotka_volterra_rk4_converges_at_fourth_order():
    from pinn_cli.solvers import lotka_volterra_rk4

    t = np.array([0.0, 5.0, 10.0, 15.0])  # coarse output times: the step is dt, not the grid's
    ref = lotka_volterra_rk4(t, **LV, dt=1e-3)
    errors = []
    for dt in (0.04, 0.02, 0.01):
        s = lotka_volterra_rk4(t, **LV, dt=dt)
        errors.append(max(np.abs(s[f] - ref[f]).max() for f in "xy"))
    # Halving the step divides the error by ~16 (measured 15.7, 15.9; 7.5e-6 at dt = 0.04).
    assert 14 < errors[0] / errors[1] < 18 and 14 < errors[1] / errors[2] < 18


def test_lotka_volterra_rk4_conserves_the_invariant_lands_on_the_grid_and_is_fast():
    import time

    from pinn_cli.solvers import lotka_volterra_rk4

    t = np.linspace(0.0, 15.0, 301)  # the shipped grid
    start = time.perf_counter()
    s = lotka_volterra_rk4(t, **LV)
    elapsed = time.perf_counter() - start
    # Measured 0.03-0.07 s on a 2-core machine (15 000 RK4 steps in plain floats).
    assert elapsed < 1.0, elapsed
    a, b, g, d = (LV[k] for k in ("alpha", "beta", "gamma", "delta"))
    V = d * s["x"] - g * np.log(s["x"]) + b * s["y"] - a * np.log(s["y"])
    assert np.abs(V - V[0]).max() < 1e-10  # measured 5e-14: the exact flow conserves V
    assert (s["x"][0], s["y"][0]) == (10.0, 5.0)
    # The cycle is visible: x in [7.9, 40.6], y in [3.1, 23.3] over the shipped [0, 15].
    assert s["x"].max() > 40 and s["y"].max() > 23 and s["x"].min() < 8 and s["y"].min() < 3.2
    # Output times off the step grid are landed on exactly: t = 0.0105 with dt = 0.01 is two
    # steps of 0.00525, not an interpolation.
    one = lotka_volterra_rk4([0.0105], **LV, dt=0.01)
    two = lotka_volterra_rk4([0.0105], **(LV | {"x0": 10.0}), dt=0.00525)
    assert one["x"][0] == two["x"][0]


@pytest.mark.parametrize("bad", [{"alpha": 0.0}, {"beta": -0.1}, {"gamma": float("inf")},
                                 {"delta": float("nan")}, {"x0": 0.0}, {"y0": -1.0}, {"dt": 0.0}])
def test_lotka_volterra_rk4_rejects_bad_arguments(bad):
    from pinn_cli.solvers import lotka_volterra_rk4

    with pytest.raises(ValueError):
        lotka_volterra_rk4([0.0, 1.0], **(LV | bad))


def test_lotka_volterra_rk4_reports_an_unstable_step():
    from pinn_cli.solvers import lotka_volterra_rk4

    with pytest.raises(ValueError, match="too large for the rates"):
        lotka_volterra_rk4(np.linspace(0.0, 15.0, 301), **(LV | {"alpha": 50.0}), dt=0.1)


@pytest.mark.parametrize("t", [[1.0, 0.5], [-1.0, 0.0], [[0.0, 1.0]], [0.0, float("nan")]])
def test_lotka_volterra_rk4_rejects_bad_times(t):
    from pinn_cli.solvers import lotka_volterra_rk4

    with pytest.raises(ValueError):
        lotka_volterra_rk4(t, **LV)


def test_fisher_kpp_wave_is_exact():
    import sympy as sp

    from pinn_cli.solvers import fisher_kpp_wave

    x_, t_, D_, r_, x0_ = sp.symbols("x t D r x0", positive=True)
    C = sp.exp(-sp.sqrt(r_ / (6 * D_)) * x0_)
    u = (1 + C * sp.exp(sp.sqrt(r_ / (6 * D_)) * x_ - 5 * r_ * t_ / 6)) ** -2
    assert sp.simplify(sp.diff(u, t_) - D_ * sp.diff(u, x_, 2) - r_ * u * (1 - u)) == 0
    x, t = np.linspace(0.0, 10.0, 101), np.linspace(0.0, 6.0, 61)
    exact = sp.lambdify((x_, t_), u.subs({D_: 0.1, r_: 1.0, x0_: 3.0}), "numpy")
    X, T = np.meshgrid(x, t, indexing="ij")
    np.testing.assert_allclose(fisher_kpp_wave(x, t, 0.1, 1.0, x0=3.0), exact(X, T),
                               rtol=1e-12, atol=1e-15)


def _fisher_residual(n, D=0.1, r=1.0):
    from pinn_cli.solvers import fisher_kpp_wave

    x, t = np.linspace(0.0, 10.0, n), np.linspace(0.0, 6.0, n)
    u = fisher_kpp_wave(x, t, D, r, x0=3.0)
    u_t = (u[1:-1, 2:] - u[1:-1, :-2]) / (2 * (t[1] - t[0]))
    u_xx = (u[2:, 1:-1] - 2 * u[1:-1, 1:-1] + u[:-2, 1:-1]) / (x[1] - x[0]) ** 2
    inner = u[1:-1, 1:-1]
    return np.abs(u_t - D * u_xx - r * inner * (1 - inner)).max()


def test_fisher_kpp_wave_residual_converges_moves_and_validates():
    from pinn_cli.solvers import fisher_kpp_wave

    errors = [_fisher_residual(n) for n in (101, 201, 401)]
    # O(h^2): measured ratios 4.0, 4.0 (residual 9.6e-5 at n = 101 against max u_t = 0.25).
    assert 3.8 < errors[0] / errors[1] < 4.2 and 3.8 < errors[1] / errors[2] < 4.2
    # On the shipped domain the front (u = 1/4) moves from x = 3 to 3 + 5/6 sqrt(0.6) * 6 = 6.87.
    x = np.linspace(0.0, 10.0, 10001)
    u = fisher_kpp_wave(x, [0.0, 6.0], 0.1, 1.0, x0=3.0)
    front = [x[np.argmin(np.abs(u[:, j] - 0.25))] for j in (0, 1)]
    np.testing.assert_allclose(front, [3.0, 3.0 + 5 / 6 * np.sqrt(0.6) * 6], atol=2e-3)
    far = fisher_kpp_wave([-1e4, 1e4], [0.0], 1e-6, 10.0)  # huge exponents: no overflow
    assert np.all(np.isfinite(far)) and far[0, 0] == 1.0 and far[1, 0] == 0.0
    for bad in ({"D": 0.0, "r": 1.0}, {"D": 0.1, "r": -1.0}, {"D": float("nan"), "r": 1.0}):
        with pytest.raises(ValueError):
            fisher_kpp_wave([0.0], [0.0], **bad)


def test_taylor_green_vortex_is_exact_with_the_signs_of_the_code():
    import sympy as sp

    from pinn_cli.solvers import taylor_green_vortex

    x_, y_, t_, nu_, l1_ = sp.symbols("x y t nu lambda1", positive=True)
    F = sp.exp(-2 * nu_ * t_)
    u, v = -sp.cos(x_) * sp.sin(y_) * F, sp.sin(x_) * sp.cos(y_) * F
    p = -l1_ * (sp.cos(2 * x_) + sp.cos(2 * y_)) / 4 * F**2
    d = sp.diff
    mx = d(u, t_) + l1_ * (u * d(u, x_) + v * d(u, y_)) + d(p, x_) - nu_ * (d(u, x_, 2) + d(u, y_, 2))
    my = d(v, t_) + l1_ * (u * d(v, x_) + v * d(v, y_)) + d(p, y_) - nu_ * (d(v, x_, 2) + d(v, y_, 2))
    assert [sp.simplify(e) for e in (mx, my, d(u, x_) + d(v, y_))] == [0, 0, 0]
    # u.grad(vorticity) = 0: lambda1 is seen only through the pressure (docs/pde.md).
    w = d(v, x_) - d(u, y_)
    assert sp.simplify(u * d(w, x_) + v * d(w, y_)) == 0
    assert sp.simplify(mx - 2 * d(p, x_)) != 0  # with -p it fails: the pressure's sign matters
    grid = np.linspace(0.0, np.pi, 9), np.linspace(0.0, np.pi, 7), np.linspace(0.0, 3.0, 5)
    got = taylor_green_vortex(*grid, lambda1=0.7, nu=0.1)
    X, Y, T = np.meshgrid(*grid, indexing="ij")
    for name, expr in (("u", u), ("v", v), ("p", p)):
        f = sp.lambdify((x_, y_, t_), expr.subs({nu_: 0.1, l1_: 0.7}), "numpy")
        np.testing.assert_allclose(got[name], f(X, Y, T) + 0 * X, rtol=0, atol=1e-15)
    for bad in ({"lambda1": 1.0, "nu": 0.0}, {"lambda1": 0.0, "nu": 0.1},
                {"lambda1": float("nan"), "nu": 0.1}):
        with pytest.raises(ValueError):
            taylor_green_vortex([0.0], [0.0], [0.0], **bad)


@pytest.mark.parametrize("name", ["oscillator", "lotka_volterra", "reaction_diffusion",
                                  "navier_stokes2d"])
def test_shipped_problem_files_hold_their_reference_solution(name):
    """data/NAME.h5 is what the solver in its config attribute gives with the file's truth."""
    from hydra.utils import get_method
    from omegaconf import OmegaConf

    with h5py.File(REPO / "data" / f"{name}.h5", "r") as f:
        attrs = dict(f.attrs)
        assert attrs["pde"] == name and attrs["layout"] == "grid" and attrs["noise"] == 0
        assert attrs["generator"] == f"pinn-data pde={name} out=data/{name}.h5 overwrite=true"
        ref = OmegaConf.create(attrs["config"]).pde.reference
        truth = {k: float(attrs[k]) for k in ref.truth}
        assert truth == dict(ref.truth)
        fields = [k for k in f if k not in ref.grid]
        axes = [a.decode() for a in f[fields[0]].attrs["axes"]]
        assert axes == list(ref.grid)
        expected = get_method(ref.solver)(**{a: f[a][:] for a in axes}, **truth,
                                          **OmegaConf.to_container(ref.options))
        expected = expected if isinstance(expected, dict) else {fields[0]: expected}
        assert sorted(expected) == sorted(fields)
        for k in fields:
            assert [a.decode() for a in f[k].attrs["axes"]] == axes
            np.testing.assert_allclose(f[k][:], expected[k], rtol=0, atol=1e-14)
