"""The generic reference solver built from a problem's own equations: evolution form, ODE
systems with a fitted initial state, and the method of lines (Dirichlet, Neumann, periodic),
each fitted classically to data from an exact or independent solution."""
import re

import numpy as np
import pytest

from pinn_cli.diagnostics.classical import classical_fit
from pinn_cli.io.observations import Observations
from pinn_cli.problem.problem import Problem
from pinn_cli.solvers import heat1d_series, lotka_volterra_rk4
from pinn_cli.solvers.from_equations import (capped, evolution_form, extrapolated,
                                             reference_model)


def _problem(**spec):
    return Problem(**{"name": "mine", **spec})


def _obs(x, y, fields):
    return Observations(np.asarray(x, float), np.asarray(y, float), fields, "memory", len(x), {})


def _fit(problem, obs, model=None, start=None):
    """The classical fit from the guesses and from `start` (what a PINN run would pass)."""
    model = model or reference_model(problem, obs)
    start = start or {u.name: u.guess for u in problem.unknowns}
    return model, classical_fit(model, problem, obs, 0.0, start, 50)


LOTKA = dict(inputs={"t": [0.0, 15.0]}, outputs=["x", "y"],
             unknowns={"alpha": {"guess": 0.7, "transform": "log"},
                       "beta": {"guess": 0.13, "transform": "log"},
                       "gamma": {"guess": 1.2, "transform": "log"},
                       "delta": {"guess": 0.06, "transform": "log"}},
             residuals={"prey": "x_t - alpha*x + beta*x*y",
                        "predator": "y_t - delta*x*y + gamma*y"})


def test_evolution_form_solves_the_residuals_for_the_time_derivatives():
    form = evolution_form(_problem(**LOTKA))
    assert str(form["x"]) in ("alpha*x - beta*x*y", "x*(alpha - beta*y)")
    heat = _problem(inputs={"x": [0, 1], "t": [0, 1]}, outputs=["u"],
                    unknowns={"k": {"guess": 1.0}}, residuals={"heat": "2*u_t - k*u_xx"})
    assert str(evolution_form(heat)["u"]) == "k*u_xx/2"


@pytest.mark.parametrize("spec,message", [
    (dict(inputs={"x": [0, 1], "y": [0, 1]}, residuals={"p": "u_xx + u_yy - k"}),
     "no condition at x = 0 and x is not periodic"),
    (dict(inputs={"x": [0, 1], "t": [0, 1]}, residuals={"wave": "u_tt - k*u_xx"}),
     "second or higher time derivatives in a PDE"),
    (dict(inputs={"x": [0, 1], "t": [0, 1]}, residuals={"h": "u_t - k*u_xt"}),
     "the mixed derivative u_xt"),
    (dict(inputs={"x": [0, 1], "t": [0, 1]}, residuals={"h": "u_t**2 - k*u_xx"}),
     "cannot be solved for u_t"),
    (dict(inputs={"x": [0, 1], "y": [0, 1], "t": [0, 1]}, residuals={"h": "u_t - k*u_xx"}),
     "no condition at x = 0 and x is not periodic"),
    (dict(inputs={"x": [0, 1], "y": [0, 1], "z": [0, 1], "t": [0, 1]},
          residuals={"h": "u_t - k*u_xx"}), r"3 space inputs \(x, y, z\)"),
])
def test_what_the_generic_solver_cannot_do_is_said(spec, message):
    problem = _problem(outputs=["u"], unknowns={"k": {"guess": 1.0}}, **spec)
    obs = _obs(np.zeros((3, len(problem.inputs))), np.ones((3, 1)), ["u"])
    with pytest.raises(ValueError, match=message):
        reference_model(problem, obs)


def test_an_ode_system_is_fitted_with_its_initial_state():
    problem = _problem(**LOTKA)
    t = np.sort(np.random.default_rng(0).uniform(0.0, 15.0, 120))
    truth = {"alpha": 1.0, "beta": 0.1, "gamma": 1.5, "delta": 0.075}
    sol = lotka_volterra_rk4(t, **truth, x0=10.0, y0=5.0, dt=1e-3)
    obs = _obs(t[:, None], np.stack([sol["x"], sol["y"]], axis=1), ["x", "y"])
    model, fit = _fit(problem, obs, start={k: 1.03 * v for k, v in truth.items()})
    assert [u.name for u in model.nuisance] == [f"x(t={t[0]:g})", f"y(t={t[0]:g})"]
    for k, v in truth.items():  # the RK4 data's own error is ~1e-9
        assert fit["estimate"][k] == pytest.approx(v, rel=1e-5)
    assert set(fit["crlb_std"]) == set(truth)  # the nuisance is not reported


def _heat_problem(conditions, periodic=None, residual="u_t - k*u_xx"):
    return _problem(inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
                    unknowns={"k": {"guess": 0.3, "transform": "log"}},
                    residuals={"heat": residual}, conditions=conditions, periodic=periodic)


def _scattered(u, n=600, seed=1):
    rng = np.random.default_rng(seed)
    x, t = rng.uniform(0, 1, n), rng.uniform(0, 0.5, n)
    return _obs(np.stack([x, t], axis=1), u(x, t)[:, None], ["u"])


def test_dirichlet_heat_converges_at_second_order():
    problem = _heat_problem({
        "left": {"at": {"x": 0.0}, "equation": "u"}, "right": {"at": {"x": 1.0}, "equation": "u"},
        "initial": {"at": {"t": 0.0}, "equation": "u - sin(pi*x) - 0.5*sin(3*pi*x)"}})
    obs = _scattered(lambda x, t: np.array([heat1d_series(np.array([a]), np.array([b]), 0.1)[0, 0]
                                            for a, b in zip(x, t)]))
    model, coarse = _fit(problem, obs)
    finer = model.refined()
    _, fine = _fit(problem, obs, finer)
    e1, e2 = (abs(f["estimate"]["k"] - 0.1) for f in (coarse, fine))
    assert e1 < 2e-3 * 0.1 and 3.0 < e1 / e2 < 5.0  # second order: a quarter per halving
    # extrapolated to a zero step (Richardson), the error is far below the finer grid's
    best = extrapolated(model, finer, coarse["estimate"], fine["estimate"])["k"]
    assert model.step / finer.step == 2 and abs(best - 0.1) < e2 / 10


def test_neumann_heat_from_the_observed_initial_slice():
    problem = _heat_problem({"left": {"at": {"x": 0.0}, "equation": "u_x"},
                             "right": {"at": {"x": 1.0}, "equation": "u_x"}})
    exact = lambda x, t: np.exp(-0.1 * np.pi ** 2 * t) * np.cos(np.pi * x)  # noqa: E731
    grid = np.linspace(0, 1, 41)
    slice0 = _obs(np.stack([grid, np.zeros_like(grid)], axis=1), exact(grid, 0)[:, None], ["u"])
    rest = _scattered(exact)
    obs = _obs(np.concatenate([slice0.x, rest.x]), np.concatenate([slice0.y, rest.y]), ["u"])
    model, fit = _fit(problem, obs)
    assert "initial state fitted with the unknowns: u at " in model.description
    assert "(K by leave-one-out error on the 41 observations there)" in model.description
    assert fit["estimate"]["k"] == pytest.approx(0.1, rel=3e-3)


def test_periodic_advection_diffusion_recovers_both_coefficients():
    problem = _problem(inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
                       unknowns={"k": {"guess": 0.005, "transform": "log"}, "c": {"guess": 0.5}},
                       residuals={"ad": "u_t + c*u_x - k*u_xx"}, periodic=["x"],
                       conditions={"initial": {"at": {"t": 0.0}, "equation": "u - sin(2*pi*x)"}})
    exact = lambda x, t: np.exp(-0.01 * 4 * np.pi ** 2 * t) * np.sin(2 * np.pi * (x - 0.8 * t))  # noqa: E731,E501
    model, fit = _fit(problem, _scattered(exact))
    assert "periodic" in model.description
    assert fit["estimate"]["c"] == pytest.approx(0.8, rel=2e-3)
    assert fit["estimate"]["k"] == pytest.approx(0.01, rel=2e-2)


def test_an_unknown_initial_state_is_said():
    problem = _heat_problem({"left": {"at": {"x": 0.0}, "equation": "u"},
                             "right": {"at": {"x": 1.0}, "equation": "u"}})
    with pytest.raises(ValueError, match="the initial state is unknown; declare it"):
        reference_model(problem, _scattered(lambda x, t: np.sin(np.pi * x)))


def test_a_condition_it_cannot_impose_is_said():
    problem = _heat_problem({"left": {"at": {"x": 0.0}, "equation": "u*u_x - 1"},
                             "right": {"at": {"x": 1.0}, "equation": "u"},
                             "initial": {"at": {"t": 0.0}, "equation": "u - sin(pi*x)"}})
    with pytest.raises(ValueError, match=re.escape("conditions at x = 0 (u*u_x - 1) fix "
                                                   "neither u nor u_x")):
        reference_model(problem, _scattered(lambda x, t: np.sin(np.pi * x)))


@pytest.mark.parametrize("conditions,fitted", [
    (None, ["x(t=0)", "x_t(t=0)"]),
    ({"x0": {"at": {"t": 0.0}, "equation": "x - 1"}, "v0": {"at": {"t": 0.0}, "equation": "x_t"}},
     []),
])
def test_a_second_order_ode_becomes_a_first_order_system(conditions, fitted):
    from pinn_cli.solvers import oscillator_underdamped

    problem = _problem(inputs={"t": [0.0, 10.0]}, outputs=["x"],
                       unknowns={"c": {"guess": 0.5, "transform": "log"},
                                 "k": {"guess": 3.0, "transform": "log"}},
                       residuals={"oscillator": "x_tt + c*x_t + k*x"}, conditions=conditions)
    t = np.linspace(0.0, 10.0, 201)
    x = oscillator_underdamped(t, c=0.4, k=4.0, x0=1.0, v0=0.0)
    obs = _obs(t[:, None], np.asarray(x)[:, None], ["x"])
    model, fit = _fit(problem, obs, start={"c": 0.41, "k": 4.1})
    assert [u.name for u in model.nuisance] == fitted
    assert fit["estimate"]["c"] == pytest.approx(0.4, rel=1e-5)
    assert fit["estimate"]["k"] == pytest.approx(4.0, rel=1e-5)


def test_two_coupled_species_on_a_periodic_line():
    """u_t = D u_xx − a u + b v, v_t = D v_xx + a u − b v from u = sin 2πx, v = 0: u + v decays
    at λ = 4π²D and a u − b v at λ + a + b (exact)."""
    problem = _problem(inputs={"x": [0.0, 1.0], "t": [0.0, 1.0]}, outputs=["u", "v"],
                       unknowns={"D": {"guess": 0.02, "transform": "log"},
                                 "a": {"guess": 0.7, "transform": "log"},
                                 "b": {"guess": 0.7, "transform": "log"}},
                       residuals={"u": "u_t - D*u_xx + a*u - b*v", "v": "v_t - D*v_xx - a*u + b*v"},
                       periodic=["x"],
                       conditions={"u0": {"at": {"t": 0.0}, "equation": "u - sin(2*pi*x)"},
                                   "v0": {"at": {"t": 0.0}, "equation": "v"}})
    D, a, b = 0.01, 1.0, 0.5
    lam = 4 * np.pi ** 2 * D

    def exact(x, t):
        total, diff = np.exp(-lam * t), a * np.exp(-(lam + a + b) * t)
        u = (b * total + diff) / (a + b)
        return np.stack([u, total - u], axis=1) * np.sin(2 * np.pi * x)[:, None]

    rng = np.random.default_rng(2)
    x, t = rng.uniform(0, 1, 500), rng.uniform(0, 1, 500)
    obs = _obs(np.stack([x, t], axis=1), exact(x, t), ["u", "v"])
    model, fit = _fit(problem, obs)
    assert "from the conditions at t = 0" in model.description
    for k, v in {"D": D, "a": a, "b": b}.items():
        assert fit["estimate"][k] == pytest.approx(v, rel=5e-3)


def test_a_coarse_periodic_initial_slice_fitted_as_a_periodic_cubic_spline():
    """Ten observations of sin 2πx at t = 0: a straight line between them would flatten the
    peaks by ~5 % and read that as diffusion (k off by ~25 %)."""
    problem = _problem(inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
                       unknowns={"k": {"guess": 0.005, "transform": "log"}, "c": {"guess": 0.5}},
                       residuals={"ad": "u_t + c*u_x - k*u_xx"}, periodic=["x"])
    exact = lambda x, t: np.exp(-0.01 * 4 * np.pi ** 2 * t) * np.sin(2 * np.pi * (x - 0.8 * t))  # noqa: E731,E501
    grid, rest = np.arange(10) / 10, _scattered(exact)
    obs = _obs(np.concatenate([np.stack([grid, 0 * grid], axis=1), rest.x]),
               np.concatenate([exact(grid, 0)[:, None], rest.y]), ["u"])
    model, fit = _fit(problem, obs)
    assert "(K by leave-one-out error on the 10 observations there)" in model.description
    assert fit["estimate"]["k"] == pytest.approx(0.01, rel=5e-3)
    assert fit["estimate"]["c"] == pytest.approx(0.8, rel=1e-3)


def _gridded_heat(xs, ts):
    """u = e^{-kπ²t} cos πx + ½ e^{-4kπ²t} sin 2πx (k = 0.1) on the grid xs × ts: u(0, t) and
    u(1, t) change with t."""
    X, T = np.meshgrid(xs, ts, indexing="ij")
    u = np.exp(-0.1 * np.pi ** 2 * T) * np.cos(np.pi * X) + \
        0.5 * np.exp(-0.4 * np.pi ** 2 * T) * np.sin(2 * np.pi * X)
    return _obs(np.stack([X.ravel(), T.ravel()], axis=1), u.reshape(-1, 1), ["u"])


@pytest.mark.slow  # several classical fits at two resolutions
def test_undeclared_boundaries_from_the_observations_on_them():
    problem = _heat_problem(None)
    model, fit = _fit(problem, _gridded_heat(np.linspace(0, 1, 21), np.linspace(0, 0.5, 11)))
    assert "boundary at x = 0 fitted with the unknowns from 11 observations, boundary at x = 1 " \
        "fitted with the unknowns from 11" in model.description
    assert fit["estimate"]["k"] == pytest.approx(0.1, rel=1e-3)


def test_a_boundary_observed_at_the_fewest_times_is_fitted_through_them():
    """Four observed times on each side (MIN_TIMES): as many spline nodes as times."""
    model = reference_model(_heat_problem(None),
                            _gridded_heat(np.linspace(0, 1, 21), np.linspace(0, 0.5, 4)))
    assert "boundary at x = 0 fitted with the unknowns from 4 observations" in model.description
    assert sum(u.name.startswith("side u(x=0,") for u in model.nuisance) == 4
    names = [u.name for u in model.nuisance]  # the initial slice's own, apart
    assert len(set(names)) == len(names) and "u(x=0, t=0)" in names


def test_a_boundary_observed_too_rarely_still_needs_a_condition():
    """Observations on x = 1 at three times only: no spline in t; x = 0 is declared."""
    problem = _heat_problem({"left": {"at": {"x": 0.0}, "equation": "u - exp(-pi**2*t/10)"}})
    obs = _gridded_heat(np.linspace(0, 1, 21), np.linspace(0, 0.5, 3))
    with pytest.raises(ValueError, match=re.escape("no condition at x = 1 and x is not periodic: "
                                                   "declare one")):
        reference_model(problem, obs)


def test_gradient_matching_starts_an_ode_fit_far_from_the_guesses():
    """Splines through 40 noisy observations give the rates; the unknowns that match them start
    the fit near the truth although every guess is 2-3x off."""
    far = {"alpha": 2.5, "beta": 0.04, "gamma": 0.6, "delta": 0.2}
    problem = _problem(**{**LOTKA, "unknowns": {k: {"guess": v, "transform": "log"}
                                                for k, v in far.items()}})
    t = np.linspace(0.0, 15.0, 40)
    truth = {"alpha": 1.0, "beta": 0.1, "gamma": 1.5, "delta": 0.075}
    sol = lotka_volterra_rk4(t, **truth, x0=10.0, y0=5.0, dt=1e-3)
    y = np.stack([sol["x"], sol["y"]], axis=1)
    y = y + 0.01 * y.std(axis=0) * np.random.default_rng(2).standard_normal(y.shape)
    obs = _obs(t[:, None], y, ["x", "y"])
    model = reference_model(problem, obs)
    start = model.initial_guess(obs, [*problem.unknowns, *model.nuisance])
    for k, v in truth.items():
        assert start[k] == pytest.approx(v, rel=0.1)
    assert start["x(t=0)"] == pytest.approx(10.0, rel=0.05)
    _, fit = _fit(problem, obs, model)
    for k, v in truth.items():
        assert abs(fit["estimate"][k] - v) < 4 * fit["crlb_std"][k]


def test_an_integration_that_blows_up_is_rejected_not_run_for_ever():
    """x_t = k x² from x(0) = 1 blows up at t = 1/k: a ValueError (the classical fit rejects
    such trial values)."""
    problem = _problem(inputs={"t": [0.0, 1.0]}, outputs=["x"],
                       unknowns={"k": {"guess": 50.0, "transform": "log"}},
                       residuals={"growth": "x_t - k*x**2"},
                       conditions={"x0": {"at": {"t": 0.0}, "equation": "x - 1"}})
    t = np.linspace(0.0, 1.0, 11)
    model = reference_model(problem, _obs(t[:, None], np.ones((11, 1)), ["x"]))
    with pytest.raises(ValueError, match="integration"):
        model({"k": 50.0})
    assert capped(lambda t, y: y, limit=2)(0, 1) == 1
    with pytest.raises(ValueError, match="more than 2 evaluations"):
        counted = capped(lambda t, y: y, limit=2)
        for _ in range(3):
            counted(0, 1)
