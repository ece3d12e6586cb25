"""The generic steady solver (no input t): finite differences and Newton's method on the
problem's own equations, fitted classically to data from exact solutions."""
import numpy as np
import pytest

from pinn_cli.diagnostics.classical import classical_fit
from pinn_cli.io.observations import Observations
from pinn_cli.problem.problem import Problem
from pinn_cli.solvers.from_equations import reference_model
from pinn_cli.solvers.steady import SteadyModel


def _obs(x, y, fields=("u",)):
    x = np.asarray(x, float)
    return Observations(x if x.ndim == 2 else x[:, None], np.asarray(y, float)[:, None],
                        list(fields), "memory", len(x), {})


def _fit(problem, obs, model, start):
    return classical_fit(model, problem, obs, 0.0, start, 50)["estimate"]


def _dirichlet(value, equation, space="x"):
    return {"at": {space: value}, "equation": equation}


# -k u_xx = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0: u = sin(pi x) / k
POISSON_1D = dict(name="p1", inputs={"x": [0.0, 1.0]}, outputs=["u"],
                  unknowns={"k": {"guess": 1.0, "transform": "log"}},
                  residuals={"p": "-k*u_xx - pi**2*sin(pi*x)"},
                  conditions={"left": _dirichlet(0.0, "u"), "right": _dirichlet(1.0, "u")})


def test_a_1d_poisson_problem_recovers_its_coefficient():
    problem = Problem(**POISSON_1D)
    x = np.random.default_rng(1).uniform(0.0, 1.0, 60)
    k = 2.5
    obs = _obs(x, np.sin(np.pi * x) / k)
    model = reference_model(problem, obs)
    assert isinstance(model, SteadyModel)
    assert "101 points" in model.description and "dirichlet" in model.description
    estimate = _fit(problem, obs, model, {"k": 1.7})
    assert estimate["k"] == pytest.approx(k, rel=1e-3)


def test_a_nonlinear_1d_problem_with_a_neumann_side():
    # u_xx = k u^3 with u = 1/(1 + x): u_xx = 2/(1+x)^3 = 2 u^3, so k = 2;
    # u_x(0) = -1 (Neumann), u(1) = 1/2 (Dirichlet)
    problem = Problem(name="nl", inputs={"x": [0.0, 1.0]}, outputs=["u"],
                      unknowns={"k": {"guess": 1.0, "transform": "log"}},
                      residuals={"p": "u_xx - k*u**3"},
                      conditions={"left": _dirichlet(0.0, "u_x + 1"),
                                  "right": _dirichlet(1.0, "u - 1/2")})
    x = np.random.default_rng(2).uniform(0.0, 1.0, 50)
    obs = _obs(x, 1 / (1 + x))
    model = reference_model(problem, obs)
    assert "neumann" in model.description
    assert _fit(problem, obs, model, {"k": 1.3})["k"] == pytest.approx(2.0, rel=1e-3)


# -D (u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0 on its four sides:
# u = sin(pi x) sin(pi y) / D (the source is known, D is not)
POISSON_2D = dict(name="p2", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0]}, outputs=["u"],
                  unknowns={"D": {"guess": 1.0, "transform": "log"}},
                  residuals={"p": "-D*(u_xx + u_yy) - 2*pi**2*sin(pi*x)*sin(pi*y)"},
                  conditions={"a": _dirichlet(0.0, "u"), "b": _dirichlet(1.0, "u"),
                              "c": _dirichlet(0.0, "u", "y"), "d": _dirichlet(1.0, "u", "y")})


def _poisson_2d(D=0.8):
    problem = Problem(**POISSON_2D)
    xy = np.random.default_rng(3).uniform(0.0, 1.0, (80, 2))
    obs = _obs(xy, np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1]) / D)
    return problem, obs, D


def test_a_2d_poisson_problem_recovers_its_diffusivity():
    problem, obs, D = _poisson_2d()
    model = reference_model(problem, obs)
    assert "41×41 points" in model.description
    assert _fit(problem, obs, model, {"D": 1.4})["D"] == pytest.approx(D, rel=1e-3)


def test_a_mixed_derivative_with_a_condition_depending_on_the_other_input():
    # u = x y + x^2: u_xx + u_yy + u_xy = 2 + 0 + 1, fitted as u_xx + u_yy + k u_xy = 3 (k = 1); u on
    # the four sides from the exact solution (functions of the other input)
    problem = Problem(name="m", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0]}, outputs=["u"],
                      unknowns={"k": {"guess": 0.5}},
                      residuals={"p": "u_xx + u_yy + k*u_xy - 3"},
                      conditions={"a": _dirichlet(0.0, "u"), "b": _dirichlet(1.0, "u - y - 1"),
                                  "c": _dirichlet(0.0, "u - x**2", "y"),
                                  "d": _dirichlet(1.0, "u - x - x**2", "y")})
    xy = np.random.default_rng(4).uniform(0.0, 1.0, (60, 2))
    obs = _obs(xy, xy[:, 0] * xy[:, 1] + xy[:, 0] ** 2)
    model = SteadyModel(problem, obs, n=21)
    assert _fit(problem, obs, model, {"k": 0.5})["k"] == pytest.approx(1.0, rel=1e-6)


def test_refinement_moves_the_estimate_toward_the_truth():
    problem, obs, D = _poisson_2d()
    coarse = SteadyModel(problem, obs, n=11)
    fine = coarse.refined()
    assert fine.n == 21 and "21×21 points" in fine.description
    errors = [abs(_fit(problem, obs, m, {"D": 1.0})["D"] / D - 1) for m in (coarse, fine)]
    assert errors[1] < errors[0] / 2  # second order: about a quarter


def test_a_side_with_no_condition_is_named():
    spec = dict(POISSON_1D, conditions={"left": _dirichlet(0.0, "u")})
    problem = Problem(**spec)
    with pytest.raises(ValueError, match=r"no condition at x = 1 and x is not periodic: declare"):
        reference_model(problem, _obs([0.5], [0.1]))
