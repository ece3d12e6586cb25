"""The generic reference solver on a periodic box in two space inputs: evolution equations and
incompressible flow (pressure by projection), fitted classically to exact solutions."""
import numpy as np
import pytest

from pinn_cli.diagnostics.classical import classical_fit
from pinn_cli.io.observations import Observations
from pinn_cli.problem.problem import Problem
from pinn_cli.solvers.from_equations import reference_model
from pinn_cli.solvers.periodic_box import BoxModel

BOX = {"x": [0.0, 2 * np.pi], "y": [0.0, 2 * np.pi]}


def _fit(problem, obs, n=16):
    model = BoxModel(problem, obs, ["x", "y"], n=n)
    start = {u.name: u.guess for u in problem.unknowns}
    return model, classical_fit(model, problem, obs, 0.0, start, 50)


def test_advection_diffusion_from_a_declared_initial_state_at_scattered_points():
    """u_t + a u_x + b u_y = D Δu from u = sin x cos 2y: u = e^(−5 D t) sin(x − a t) cos 2(y − b t)."""
    problem = Problem(name="adv", inputs={**BOX, "t": [0.0, 1.0]}, outputs=["u"],
                      unknowns={"D": {"guess": 0.05, "transform": "log"},
                                "a": {"guess": 0.5, "transform": "identity"}},
                      constants={"b": -0.3}, periodic=["x", "y"],
                      residuals={"adv": "u_t + a*u_x + b*u_y - D*(u_xx + u_yy)"},
                      conditions={"initial": {"at": {"t": 0.0},
                                              "equation": "u - sin(x)*cos(2*y)"}})
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (300, 3)) * [2 * np.pi, 2 * np.pi, 1.0]
    D, a, b = 0.02, 1.3, -0.3
    u = np.exp(-5 * D * x[:, 2]) * np.sin(x[:, 0] - a * x[:, 2]) * np.cos(2 * (x[:, 1] - b * x[:, 2]))
    obs = Observations(x, u[:, None], ["u"], "memory", len(u), {})
    model, fit = _fit(problem, obs)
    assert "from the conditions at t = 0" in model.description
    assert fit["estimate"]["D"] == pytest.approx(D, rel=1e-4)
    assert fit["estimate"]["a"] == pytest.approx(a, rel=1e-5)


def _taylor_green(x, nu):
    F = np.exp(-2 * nu * x[:, 2])
    return np.stack([np.cos(x[:, 0]) * np.sin(x[:, 1]) * F,
                     -np.sin(x[:, 0]) * np.cos(x[:, 1]) * F,
                     -(np.cos(2 * x[:, 0]) + np.cos(2 * x[:, 1])) / 4 * F ** 2 + 0.7], 1)


NAVIER_STOKES = dict(inputs={**BOX, "t": [0.0, 2.0]}, outputs=["u", "v", "p"],
                     unknowns={"nu": {"guess": 0.2, "transform": "log"}}, periodic=["x", "y"],
                     residuals={"mx": "u_t + u*u_x + v*u_y + p_x - nu*(u_xx + u_yy)",
                                "my": "v_t + u*v_x + v*v_y + p_y - nu*(v_xx + v_yy)",
                                "mass": "u_x + v_y"})


def test_incompressible_flow_from_the_observed_initial_slice_with_its_pressure():
    """Taylor–Green: the convective term is a pure gradient, balanced by the pressure, which
    is observed with an offset of its own (fitted as a nuisance)."""
    g = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    slice0 = np.stack([a.ravel() for a in np.meshgrid(g, g, [0.0], indexing="ij")], 1)
    later = np.random.default_rng(1).uniform(0, 1, (300, 3)) * [2 * np.pi, 2 * np.pi, 2.0]
    x = np.concatenate([slice0, later])
    obs = Observations(x, _taylor_green(x, 0.05), ["u", "v", "p"], "memory", len(x), {})
    model, fit = _fit(Problem(name="ns", **NAVIER_STOKES), obs)
    assert "incompressible (pressure p by projection)" in model.description
    assert "fitted to the 144 observations at t = 0" in model.description
    assert fit["estimate"]["nu"] == pytest.approx(0.05, rel=1e-4)


def test_a_noisy_initial_slice_is_fitted_with_few_modes():
    """The modes for the observed initial state are chosen by leave-one-out error: a single
    mode under 1 % noise gets a small K, and ν stays within a few tenths of a percent."""
    g = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    slice0 = np.stack([a.ravel() for a in np.meshgrid(g, g, [0.0], indexing="ij")], 1)
    later = np.random.default_rng(2).uniform(0, 1, (400, 3)) * [2 * np.pi, 2 * np.pi, 2.0]
    x = np.concatenate([slice0, later])
    y = _taylor_green(x, 0.05)[:, :2]
    y = y + 0.01 * y.std(0) * np.random.default_rng(3).standard_normal(y.shape)
    obs = Observations(x, y, ["u", "v"], "memory", len(x), {})
    model, fit = _fit(Problem(name="ns", **NAVIER_STOKES), obs)
    assert "modes |k| <= 1," in model.description
    assert fit["estimate"]["nu"] == pytest.approx(0.05, rel=5e-3)


@pytest.mark.parametrize("residuals,message", [
    ({"mx": "u_t + u*u_x + p*p_x - nu*u_xx", "my": "v_t + p_y - nu*v_yy", "mass": "u_x + v_y"},
     "only as one constant multiple of its gradient"),
    ({"mx": "u_t + p_x - nu*u_xx", "my": "v_t + 2*p_y - nu*v_yy", "mass": "u_x + v_y"},
     "only as one constant multiple of its gradient"),
    ({"mx": "u_t + p_x - nu*u_xx", "my": "v_t + p_y - nu*v_yy", "mass": "u_x - v_y"},
     "is not the divergence of"),
    ({"mx": "u_t + p_x - nu*u_xx", "my": "v_t + p_y - nu*v_yy"},
     "not an incompressible flow"),
])
def test_what_the_box_solver_cannot_do_is_said(residuals, message):
    problem = Problem(name="ns", **{**NAVIER_STOKES, "residuals": residuals})
    x = np.zeros((3, 3))
    with pytest.raises(ValueError, match=message):
        reference_model(problem, Observations(x, np.ones((3, 2)), ["u", "v"], "memory", 3, {}))


def test_an_initial_state_that_is_neither_declared_nor_observed_enough_is_said():
    problem = Problem(name="ns", **NAVIER_STOKES)
    x = np.random.default_rng(0).uniform(0, 1, (200, 3)) * [2 * np.pi, 2 * np.pi, 2.0]
    obs = Observations(x, _taylor_green(x, 0.05)[:, :2], ["u", "v"], "memory", 200, {})
    with pytest.raises(ValueError, match=r"only 1 observations lie at the earliest time .*"
                                         r"declare it \(pde.conditions.initial"):
        reference_model(problem, obs)
