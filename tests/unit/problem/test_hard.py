"""Hard constraints (`pde.hard`): the output transform holds the conditions exactly for any
network, its derivatives (Taylor engine, by the chain rule) match autograd, a bad transform says
why, and a short heat1d run with both boundaries exact recovers k."""
import math

import pytest
import torch

from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.model.nets import (MLP, FourierMLP, HardConstrained, HardConstrainedTaylor, ModifiedMLP,
                           hard_constrained)
from pinn_cli.problem.problem import Problem

from conftest import run_cli, run_dirs, summary

HEAT = dict(name="heat1d", inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
            unknowns={"k": {"guess": 0.5, "transform": "log"}},
            residuals={"heat": "u_t - k*u_xx"},
            conditions={"left": {"at": {"x": 0.0}, "equation": "u"},
                        "right": {"at": {"x": 1.0}, "equation": "u"}},
            hard={"u": "x*(1 - x)*N"})
CONVECTION = dict(name="c", inputs={"x": [0.0, 2 * math.pi], "t": [0.0, 1.0]}, outputs=["u"],
                  unknowns={"beta": {"guess": 10.0}}, residuals={"convection": "u_t + beta*u_x"},
                  conditions={"initial": {"at": {"t": 0.0}, "equation": "u - sin(x)"}},
                  hard={"u": "sin(x) + t*N"})
# two fields, one transformed with a nonlinear use of N, the other passed through
TWO = dict(name="b2", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0], "t": [0.0, 1.0]},
           outputs=["u", "v"], unknowns={"nu": {"guess": 0.01}}, constants={"a": 0.75},
           residuals={"u": "u_t + u*u_x + v*u_y - nu*(u_xx + u_yy)",
                      "v": "v_t + u*v_x + v*v_y - nu*(v_xx + v_yy)"},
           hard={"u": "a*cos(pi*y) + t*x*exp(N/2)"})
NEEDS_2D = [("u", ()), ("u", (0,)), ("u", (1,)), ("u", (0, 0)), ("u", (0, 1)), ("u", (1, 1))]


def _net(problem, arch=MLP, seed=0, **kw):
    torch.manual_seed(seed)
    m = len(problem.outputs)
    inner = arch([problem.domain[k] for k in problem.inputs], [0.3] * m, [2.0] * m, width=12,
                 depth=3, **kw).double()
    return hard_constrained(inner, problem)


def _random(problem, n, seed=1, **fixed):
    g = torch.Generator().manual_seed(seed)
    cols = []
    for k in problem.inputs:
        lo, hi = problem.domain[k]
        cols.append(torch.full((n,), float(fixed[k]), dtype=torch.float64) if k in fixed else
                    lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64))
    return torch.stack(cols, 1)


@pytest.mark.parametrize("arch", [MLP, ModifiedMLP, FourierMLP])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boundaries_are_exactly_zero_for_an_untrained_net(arch, seed, float64, one_thread):
    problem = Problem(**HEAT)
    net = _net(problem, arch, seed)
    for x0 in (0.0, 1.0):
        x = _random(problem, 500, seed=seed + 10, x=x0)
        assert torch.all(net(x) == 0.0)
    inside = net(_random(problem, 500, seed=seed + 20))
    assert inside.abs().min() > 0 and inside.std() > 1e-3  # the field is not trivially 0


def test_initial_condition_holds_exactly(float64, one_thread):
    problem = Problem(**CONVECTION)
    net = _net(problem)
    x = _random(problem, 500, t=0.0)
    assert torch.equal(net(x)[:, 0], torch.sin(x[:, 0]))


def test_condition_losses_vanish_and_the_other_terms_see_the_field(float64, one_thread):
    problem = Problem(**HEAT)
    net = _net(problem)
    x = _random(problem, 200)
    conds = [_random(problem, 100, seed=3, x=0.0), _random(problem, 100, seed=4, x=1.0)]
    y = torch.rand(200, 1, dtype=torch.float64)
    terms = Losses(problem, x, y, ["u"], x, conds)(net, {"k": torch.tensor(0.1)})
    assert terms["left"] == 0.0 and terms["right"] == 0.0
    u = net.net(x)[:, 0] * x[:, 0] * (1 - x[:, 0])  # the transform by hand
    torch.testing.assert_close(terms["data"], (u - y[:, 0]).square().mean(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("arch", [MLP, ModifiedMLP, FourierMLP])
@pytest.mark.parametrize("spec", [HEAT, CONVECTION], ids=["heat", "convection"])
def test_taylor_derivatives_through_the_transform_match_autograd(spec, arch, float64,
                                                                 one_thread):
    problem = Problem(**spec)
    net = _net(problem, arch)
    assert isinstance(net, HardConstrainedTaylor)  # so derivatives=auto keeps the Taylor engine
    x = _random(problem, 100)
    taylor = evaluate_fields(net, x, NEEDS_2D, problem.outputs, engine="taylor")
    auto = evaluate_fields(net, x, NEEDS_2D, problem.outputs, engine="autograd")
    for d in NEEDS_2D:
        torch.testing.assert_close(taylor[d], auto[d], rtol=1e-10, atol=1e-12)


def test_derivatives_of_a_nonlinear_transform_with_a_passed_through_field(float64, one_thread):
    problem = Problem(**TWO)
    net = _net(problem)
    x = _random(problem, 80)
    needs = problem.needs(problem.residuals)
    assert len(needs) == 12  # u, v and five derivatives of each
    taylor = evaluate_fields(net, x, needs, problem.outputs, engine="taylor")
    auto = evaluate_fields(net, x, needs, problem.outputs, engine="autograd")
    for d in needs:
        torch.testing.assert_close(taylor[d], auto[d], rtol=1e-10, atol=1e-12)
    # against the transform written by hand: u = a cos(pi y) + t x exp(N/2), v = N_v
    xx = x.clone().requires_grad_(True)
    n = net.net(xx)
    u = 0.75 * torch.cos(math.pi * xx[:, 1]) + xx[:, 2] * xx[:, 0] * torch.exp(n[:, 0] / 2)
    du = torch.autograd.grad(u.sum(), xx, create_graph=True)[0]
    u_yy = torch.autograd.grad(du[:, 1].sum(), xx)[0][:, 1]
    torch.testing.assert_close(taylor[("u", (1, 1))], u_yy, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(taylor[("v", ())], n[:, 1].detach(), rtol=0, atol=0)


def test_wrapped_net_without_taylor_falls_back_to_autograd(float64, one_thread):
    problem = Problem(**HEAT)

    class Plain(torch.nn.Module):  # a network with no `taylor` method
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1).double()

        def forward(self, x):
            return torch.tanh(self.lin(x))

    net = hard_constrained(Plain(), problem)
    assert type(net) is HardConstrained and not hasattr(net, "taylor")
    x = _random(problem, 20)
    out = evaluate_fields(net, x, NEEDS_2D, ["u"], engine="auto")
    assert out[("u", (0, 0))].shape == (20,)
    with pytest.raises(PinnFitError, match="taylor engine needs a net with a `taylor` method"):
        evaluate_fields(net, x, NEEDS_2D, ["u"], engine="taylor")


def test_no_transform_leaves_the_net_alone():
    problem = Problem(**dict(HEAT, hard=None))
    net = MLP([(0.0, 1.0), (0.0, 0.5)], [0.0], [1.0], width=4, depth=1)
    assert problem.hard == {} and hard_constrained(net, problem) is net


@pytest.mark.parametrize("spec,hard,exact", [
    (HEAT, {"u": "x*(1 - x)*N"}, ["left", "right"]),
    (HEAT, {"u": "x*N"}, ["left"]),
    (HEAT, {"u": "sin(pi*x)*N"}, ["left", "right"]),  # sin(pi) is 0 to rounding only
    (HEAT, {"u": "N"}, []),
    (CONVECTION, {"u": "sin(x) + t*N"}, ["initial"]),
    (CONVECTION, {"u": "cos(x) + t*N"}, []),
])
def test_exact_conditions_are_reported(spec, hard, exact):
    assert Problem(**dict(spec, hard=hard)).exact_conditions() == exact


@pytest.mark.parametrize("hard,message", [
    ({"u": "x*(1 - x*N"}, r"pde.hard.u: cannot parse 'x\*\(1 - x\*N'"),
    ({"u": "k*x*N"}, r"pde.hard.u: symbol 'k' in 'k\*x\*N' cannot be used: a hard transform "
                     r"may use only the inputs \['x', 't'\], the constants \[\] and N"),
    ({"u": "u_x*N"}, r"symbol 'u_x'"),
    ({"u": "x*(1 - x)"}, r"does not depend on N, the network's output"),
    ({"u": "x*N - x*N"}, r"does not depend on N"),
    ({"u": "u = x*N"}, r"has an '='; give only the right-hand side"),
    ({"w": "x*N"}, r"pde.hard.w: 'w' is not a field; fields are \['u'\]"),
    ({"u": "foo(x)*N"}, r"function 'foo' in 'foo\(x\)\*N' is not supported"),
    ({"u": ""}, r"expected an expression string"),
    ({"u": 3}, r"expected an expression string"),
])
def test_bad_transform_gives_one_clear_error(hard, message):
    with pytest.raises(PinnFitError, match=message):
        Problem(**dict(HEAT, hard=hard))


def test_a_name_N_in_the_problem_clashes():
    with pytest.raises(PinnFitError, match="declares a name 'N'"):
        Problem(**dict(HEAT, constants={"N": 2.0}))


def test_cli_bad_transform_gives_one_message(tmp_path):
    r = run_cli(["+pde.hard.u='x*(1-x*N'"], tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "pde.hard.u: cannot parse 'x*(1-x*N'" in out and "Traceback" not in out
    assert not list((tmp_path / "outputs").rglob("losses.csv"))


@pytest.mark.slow  # 1500 steps of the default network: an accuracy run
def test_short_heat1d_run_with_exact_boundaries_recovers_k(tmp_path):
    """heat1d with u = x(1 - x) N and the boundary terms dropped, on a short schedule. Measured
    on a shared 2-core CPU (other jobs running): k error 0.14 % (seed 0; seeds 1, 2: 2.7 %,
    0.42 %), 35-39 s of training; the same schedule without the transform, with the boundary
    terms: 8.5 %, 0.28 %, 14.3 %."""
    r = run_cli(["+pde.hard.u='x*(1 - x)*N'", "~pde.conditions.left",
                 "~pde.conditions.right", "schedule.pretrain_steps=200",
                 "schedule.identify_steps=800", "schedule.lbfgs_steps=500", "plots=false",
                 "diagnostics=off"], tmp_path, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "hard constraints u = x*(1 - x)*N" in out
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert set(s["final_losses"]) == {"data", "heat"}  # the boundary terms were dropped
    assert s["unknowns"]["k"]["rel_error"] < 0.03, s["unknowns"]["k"]
