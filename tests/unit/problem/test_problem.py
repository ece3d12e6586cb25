"""Equations parsed from strings match hand-written residuals; bad equations say why."""
import pytest
import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Problem

BURGERS = dict(name="b", inputs={"x": [-1, 1], "t": [0, 1]}, outputs=["u"],
               unknowns={"lambda1": {"guess": 0.5}, "nu": {"guess": 0.02, "transform": "log"}},
               residuals={"burgers": "u_t + lambda1*u*u_x - nu*u_xx"},
               conditions={"initial": {"at": {"t": 0.0}, "equation": "u + sin(pi*x)"}})


def _hand_burgers(net, x, lam, nu):
    x = x.clone().requires_grad_(True)
    u = net(x)[:, 0]
    du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    u_xx = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)[0][:, 0]
    return du[:, 1] + lam * u * du[:, 0] - nu * u_xx


def test_sympy_residual_equals_hand_written():
    torch.manual_seed(0)
    p = Problem(**BURGERS)
    net = MLP([(-1, 1), (0, 1)], [0.0], [1.0], width=10, depth=3).double()
    x = torch.rand(64, 2, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0])
    cond_x = x.clone()
    cond_x[:, 1] = 0.0
    losses = Losses(p, x, torch.zeros(64, 1, dtype=torch.float64), ["u"], x, [cond_x])
    params = {"lambda1": torch.tensor(0.7, dtype=torch.float64),
              "nu": torch.tensor(0.03, dtype=torch.float64)}
    terms = losses(net, params)
    expected = _hand_burgers(net, x, 0.7, 0.03).square().mean()
    torch.testing.assert_close(terms["burgers"], expected, rtol=1e-12, atol=1e-14)
    ic = (net(cond_x)[:, 0] + torch.sin(torch.pi * cond_x[:, 0])).square().mean()
    torch.testing.assert_close(terms["initial"], ic, rtol=1e-12, atol=1e-14)
    assert losses.kinds == {"data": "data", "burgers": "residual", "initial": "condition"}


def test_needs_are_inferred():
    p = Problem(**BURGERS)
    names = {p.derivative_name(d) for d in p.needs(p.residuals)}
    assert names == {"u", "u_x", "u_t", "u_xx"}
    assert p.derivative_symbol("u_tx") == p.derivative_symbol("u_xt") == ("u", (0, 1))


def test_transforms_round_trip():
    p = Problem(**BURGERS)
    unknowns = Unknowns(p.unknowns)
    phys = unknowns.physical()
    assert phys["nu"].item() == pytest.approx(0.02)
    assert unknowns.raw["nu"].item() == pytest.approx(torch.log(torch.tensor(0.02)).item())
    assert phys["lambda1"].item() == pytest.approx(0.5)


def test_bounds_are_enforced():
    spec = dict(BURGERS, unknowns={"lambda1": {"guess": 0.5, "bounds": [0.0, 2.0]},
                                   "nu": {"guess": 0.02, "transform": "log",
                                          "bounds": [0.001, 0.1]}})
    unknowns = Unknowns(Problem(**spec).unknowns)
    with torch.no_grad():
        unknowns.raw["lambda1"].fill_(5.0)
        unknowns.raw["nu"].fill_(-20.0)
    unknowns.project()
    phys = unknowns.physical()
    assert phys["lambda1"].item() == 2.0
    assert phys["nu"].item() == pytest.approx(0.001)


def hand_residual(values, params):
    """An escape-hatch residual: u_t - k u_xx written in Python."""
    return values["u_t"] - params["k"] * values["u_xx"]


def test_python_residual_via_target():
    spec = dict(name="h", inputs={"x": [0, 1], "t": [0, 1]}, outputs=["u"],
                unknowns={"k": {"guess": 0.3}},
                residuals={"heat": {"_target_": "test_problem.hand_residual",
                                    "needs": ["u_t", "u_xx"]}})
    p = Problem(**spec)
    vals = {"u_t": torch.ones(3), "u_xx": torch.full((3,), 2.0)}
    r = p.evaluate(p.residuals, vals, {"k": torch.tensor(0.25)})["heat"]
    torch.testing.assert_close(r, torch.full((3,), 0.5))


@pytest.mark.parametrize("equation,message", [
    ("u_t - kk*u_xx", "symbol 'kk' in 'u_t - kk\\*u_xx' is not declared"),
    ("u_t - k*(u_xx", "cannot parse equation"),
    ("u_t = k*u_xx", "write the residual that should vanish instead: 'u_t - \\(k\\*u_xx\\)'"),
    ("u_t - k*v_xx", "symbol 'v_xx'"),
    ("u_t - k*foo(u)", "function 'foo'"),
])
def test_bad_equations(equation, message):
    spec = dict(name="h", inputs={"x": [0, 1], "t": [0, 1]}, outputs=["u"],
                unknowns={"k": {"guess": 0.3}}, residuals={"heat": equation})
    with pytest.raises(PinnFitError, match=message):
        Problem(**spec)


def test_log_transform_needs_positive_guess():
    spec = dict(BURGERS, unknowns={"nu": {"guess": -1.0, "transform": "log"}})
    with pytest.raises(PinnFitError, match="positive guess"):
        Problem(**spec)


def test_periodic_order_from_a_python_residual():
    """`periodic: [x]` reads the x-order from a callable residual's `needs` (u_xx: u and u_x)."""
    spec = dict(name="h", inputs={"x": [0, 1], "t": [0, 1]}, outputs=["u"],
                unknowns={"k": {"guess": 0.3}}, periodic=["x"],
                residuals={"heat": {"_target_": "test_problem.hand_residual",
                                    "needs": ["u_t", "u_xx"]}})
    (p,) = Problem(**spec).periodic
    assert p.name == "periodic_x" and p.needs == [("u", ()), ("u", (0,))]
    assert Problem(**BURGERS).periodic == []


def test_shared_network_passes_give_the_terms_of_separate_ones():
    # The data term taken from the residual's pass (the observations' points at the tail of the
    # residual points, collocation.include_observations) and the conditions that need the same
    # derivatives evaluated in one call give each term as a pass of its own would, also in a
    # time window (which drops points from every set).
    torch.manual_seed(0)
    spec = dict(BURGERS, conditions={
        "initial": {"at": {"t": 0.0}, "equation": "u + sin(pi*x)"},
        "left": {"at": {"x": -1.0}, "equation": "u"},
        "flux": {"at": {"x": 1.0}, "equation": "u_x - 0.5"}})
    p = Problem(**spec)
    net = MLP([(-1, 1), (0, 1)], [0.0], [1.0], width=10, depth=3).double()
    box = lambda n: torch.rand(n, 2, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - \
        torch.tensor([1.0, 0.0])
    obs_x, drawn = box(50), box(80)
    obs_y = torch.sin(3 * obs_x[:, :1])
    conds = [box(30), box(20), box(25)]
    conds[0][:, 1], conds[1][:, 0], conds[2][:, 0] = 0.0, -1.0, 1.0
    colloc = torch.cat([drawn, obs_x])
    shared = Losses(p, obs_x, obs_y, ["u"], colloc, conds, residual_at_observations=True)
    apart = Losses(p, obs_x, obs_y, ["u"], colloc, conds)
    params = {"lambda1": torch.tensor(0.7, dtype=torch.float64),
              "nu": torch.tensor(0.03, dtype=torch.float64)}
    for window in (None, 0.5):
        shared.restrict_time(window)
        apart.restrict_time(window)
        terms = shared(net, params)
        assert list(terms) == ["data", "burgers", "initial", "left", "flux"]
        for name, value in apart(net, params).items():
            torch.testing.assert_close(terms[name], value, rtol=1e-12, atol=1e-14)
        keep = lambda x: x[x[:, 1] <= 0.5] if window else x
        o = keep(obs_x)
        data = (net(o) - torch.sin(3 * o[:, :1])).square().mean()
        left = net(keep(conds[1]))[:, 0].square().mean()
        torch.testing.assert_close(terms["data"], data, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(terms["left"], left, rtol=1e-12, atol=1e-14)
        xf = keep(conds[2]).clone().requires_grad_(True)
        u_x = torch.autograd.grad(net(xf).sum(), xf, create_graph=True)[0][:, 0]
        torch.testing.assert_close(terms["flux"], (u_x - 0.5).square().mean(), rtol=1e-12,
                                   atol=1e-14)
