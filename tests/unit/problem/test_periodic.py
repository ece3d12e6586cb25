"""Periodic conditions (`pde.periodic: [x]`): which derivatives are matched, the loss term on both
derivative engines, clear errors, and a short end-to-end fit of pde=convection; the periodic input
embedding (`pde.periodic_by: embedding`): exact periodicity for every arch, Taylor derivatives
through it, no loss term, and a short run."""
import math

import pytest
import torch

from pinn_cli.io.collocation import sample_periodic
from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.model.nets import (MLP, FourierMLP, HardConstrainedTaylor, ModifiedMLP,
                           PeriodicEmbeddedTaylor, hard_constrained, periodic_embedded)
from pinn_cli.problem.problem import Problem

from conftest import run_cli, run_dirs, summary

TWO_PI = 2 * math.pi
CONVECTION = dict(name="c", inputs={"x": [0.0, TWO_PI], "t": [0.0, 1.0]}, outputs=["u"],
                  unknowns={"beta": {"guess": 10.0, "transform": "log"}},
                  residuals={"convection": "u_t + beta*u_x"},
                  conditions={"initial": {"at": {"t": 0.0}, "equation": "u - sin(x)"}},
                  periodic=["x"])
HEAT = dict(name="h", inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
            unknowns={"k": {"guess": 0.3}}, residuals={"heat": "u_t - k*u_xx"}, periodic=["x"])


def _losses(problem, n=64, seed=0):
    """Losses with only the periodic points mattering (data and residual at 4 dummy points)."""
    pts = sample_periodic(problem.domain, problem.periodic[0].input, n, "sobol", seed).double()
    dummy = pts[:4]
    return Losses(problem, dummy, torch.zeros(4, len(problem.outputs), dtype=torch.float64),
                  problem.outputs, dummy, [dummy] * len(problem.conditions), engine="auto", periodic_x=[pts]), pts


def _periodic_net(problem, activation="sin"):
    """An MLP periodic in x over its domain: with a sin first layer whose weights on the scaled x
    (in [-1, 1], period 2 of the domain) are integer multiples of pi, every layer after it is a
    function of periodic features, so the net and all its x-derivatives are periodic."""
    torch.manual_seed(0)
    net = MLP([problem.domain[k] for k in problem.inputs], [0.0] * len(problem.outputs),
              [1.0] * len(problem.outputs), width=12, depth=3, activation=activation).double()
    with torch.no_grad():
        col = problem.inputs.index(problem.periodic[0].input)
        net.hidden[0].weight[:, col] = math.pi * torch.randint(-3, 4, (12,)).double()
    return net


def test_matched_derivatives_follow_the_equation_order():
    (p,) = Problem(**CONVECTION).periodic
    assert (p.name, p.input, p.index, p.order, p.needs) == ("periodic_x", "x", 0, 0, [("u", ())])
    (p,) = Problem(**HEAT).periodic  # second order in x: u and u_x
    assert p.order == 1 and p.needs == [("u", ()), ("u", (0,))]
    two = dict(HEAT, outputs=["u", "v"], residuals={"a": "u_t - k*u_xx", "b": "v_t - u*v_x"})
    (p,) = Problem(**two).periodic  # every field, to the highest order over the residuals
    assert p.needs == [("u", ()), ("u", (0,)), ("v", ()), ("v", (0,))]
    assert Problem(**dict(HEAT, periodic=None)).periodic == []


def test_paired_points_differ_only_in_the_periodic_input():
    pts = sample_periodic({"x": (0.0, TWO_PI), "t": (0.0, 1.0)}, "x", 50, "sobol", 3)
    assert pts.shape == (100, 2)
    assert torch.all(pts[:50, 0] == 0.0) and torch.allclose(pts[50:, 0], torch.tensor(TWO_PI))
    assert torch.equal(pts[:50, 1], pts[50:, 1]) and pts[:, 1].std() > 0.2


@pytest.mark.parametrize("engine", ["taylor", "autograd"])
@pytest.mark.parametrize("spec", [CONVECTION, HEAT], ids=["convection", "heat"])
def test_periodic_loss_vanishes_for_a_periodic_net_only(spec, engine):
    problem = Problem(**spec)
    losses, _ = _losses(problem)
    losses.engine = engine
    params = {u.name: torch.tensor(u.guess, dtype=torch.float64) for u in problem.unknowns}
    periodic = losses(_periodic_net(problem), params)["periodic_x"]
    assert periodic < 1e-20  # rounding only (measured 3e-31 to 2e-29)
    torch.manual_seed(1)
    plain = MLP([problem.domain[k] for k in problem.inputs], [0.0], [1.0], width=12,
                depth=3).double()
    assert losses(plain, params)["periodic_x"] > 1e-3  # measured 0.043 and 0.115
    assert losses.kinds["periodic_x"] == "condition"  # weighted like the other conditions


def test_periodic_loss_is_the_mean_squared_mismatch_of_u_and_u_x():
    problem = Problem(**HEAT)
    losses, pts = _losses(problem, n=32)
    torch.manual_seed(2)
    net = MLP([(0.0, 1.0), (0.0, 0.5)], [0.0], [1.0], width=10, depth=3).double()
    x = pts.clone().requires_grad_(True)
    u = net(x)[:, 0]
    u_x = torch.autograd.grad(u.sum(), x, create_graph=True)[0][:, 0]
    expected = (u[:32] - u[32:]).square().mean() + (u_x[:32] - u_x[32:]).square().mean()
    params = {"k": torch.tensor(0.3, dtype=torch.float64)}
    for engine in ("taylor", "autograd"):
        losses.engine = engine
        torch.testing.assert_close(losses(net, params)["periodic_x"], expected, rtol=1e-10,
                                   atol=1e-14)


def test_periodic_loss_trains_to_zero_gradients_flow():
    problem = Problem(**CONVECTION)
    losses, pts = _losses(problem)
    torch.manual_seed(3)
    net = MLP([(0.0, TWO_PI), (0.0, 1.0)], [0.0], [1.0], width=10, depth=2).double()
    loss = losses(net, {"beta": torch.tensor(10.0, dtype=torch.float64)})["periodic_x"]
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("periodic,message", [
    (["xx"], r"pde.periodic names 'xx', which is not an input; inputs are \['x', 't'\]: list "
             r"inputs only, e.g. periodic: \[x\]"),
    (["x", "x"], "names 'x' twice"),
])
def test_bad_periodic_inputs_say_how_to_fix(periodic, message):
    with pytest.raises(PinnFitError, match=message):
        Problem(**dict(CONVECTION, periodic=periodic))


def test_periodic_name_clash_with_a_condition_is_rejected():
    spec = dict(CONVECTION, conditions={"periodic_x": {"at": {"t": 0.0}, "equation": "u"}})
    problem = Problem(**spec)
    with pytest.raises(PinnFitError, match="'periodic_x' is used twice"):
        _losses(problem)


def test_cli_typo_in_periodic_gives_one_message(tmp_path):
    r = run_cli(["pde=convection", "pde.periodic=[z]"], tmp_path, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pde.periodic names 'z'" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.slow  # 1500 steps of the default network: an accuracy run
def test_short_convection_fit_recovers_beta(tmp_path):
    """beta = 30 (the shipped data, Krishnapriyan et al.'s hard case) from guess 10, with the
    data weighted 100 (the command in docs/pde.md) and about a third of the default steps. Measured on
    a shared 2-core CPU: beta error 0.027 %, 0.077 %, 0.016 % for seeds 0, 1, 2 (34-37 s wall;
    0.015 % with derivatives=autograd). Without the data weight seeds 1 and 2 stay near the
    guess (full schedule: beta 10.2 and 10.4), so the test does not run the unweighted default."""
    r = run_cli(["pde=convection", "+weighting.weights.data=100", "schedule.pretrain_steps=200",
                 "schedule.identify_steps=800", "schedule.lbfgs_steps=500", "plots=false"],
                tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["final_losses"]["periodic_x"] < 5e-3  # measured 7e-5 to 4e-4; 0.02 if unfitted
    assert s["unknowns"]["beta"]["rel_error"] < 0.01, s["unknowns"]["beta"]


# --- periodic_by: embedding (nets.PeriodicEmbedded) --------------------------------------------
EMBEDDED = dict(CONVECTION, periodic_by="embedding")
NEEDS = [("u", ()), ("u", (0,)), ("u", (1,)), ("u", (0, 0)), ("u", (0, 1)), ("u", (1, 1))]


def _embedded(spec, arch, seed=0):
    """A random net of `arch` seen through the problem's periodic embedding and hard transform."""
    problem = Problem(**spec)
    torch.manual_seed(seed)
    net = periodic_embedded(lambda d: arch(d, [0.3], [2.0], width=12, depth=3),
                            [problem.domain[k] for k in problem.inputs], problem.periodic_embedded)
    return problem, hard_constrained(net, problem)


def _faces(problem, n=64, seed=5):
    """n points on x = lo, then the same points on x = hi."""
    return sample_periodic(problem.domain, "x", n, "sobol", seed).double()


@pytest.mark.parametrize("engine", ["taylor", "autograd"])
@pytest.mark.parametrize("arch", [MLP, ModifiedMLP, FourierMLP])
@pytest.mark.parametrize("spec", [EMBEDDED, dict(HEAT, periodic_by="embedding")],
                         ids=["convection", "heat"])
def test_embedding_makes_every_derivative_periodic(spec, arch, engine, float64, one_thread):
    problem, net = _embedded(spec, arch)
    assert isinstance(net, PeriodicEmbeddedTaylor)
    pts = _faces(problem)
    vals = evaluate_fields(net, pts, NEEDS, ["u"], engine=engine)
    for d, v in vals.items():
        torch.testing.assert_close(v[:64], v[64:], rtol=1e-12, atol=1e-12, msg=str(d))
    assert vals[("u", (0,))].abs().max() > 1e-2  # u does depend on x


@pytest.mark.parametrize("arch", [MLP, ModifiedMLP, FourierMLP])
@pytest.mark.parametrize("hard", [{}, {"u": "sin(x) + t*N"}], ids=["plain", "hard"])
def test_taylor_through_the_embedding_matches_autograd(arch, hard, float64, one_thread):
    problem, net = _embedded(dict(EMBEDDED, hard=hard), arch)
    assert isinstance(net, (HardConstrainedTaylor if hard else PeriodicEmbeddedTaylor))
    g = torch.Generator().manual_seed(4)
    x = torch.rand(100, 2, generator=g, dtype=torch.float64) * torch.tensor([TWO_PI, 1.0])
    taylor = evaluate_fields(net, x, NEEDS, ["u"], engine="taylor")
    auto = evaluate_fields(net, x, NEEDS, ["u"], engine="autograd")
    for d in NEEDS:
        torch.testing.assert_close(taylor[d], auto[d], rtol=1e-10, atol=1e-11)
    if hard:  # the initial condition is still exact
        x[:, 1] = 0.0
        assert torch.equal(net(x)[:, 0], torch.sin(x[:, 0]))


def test_embedding_replaces_the_periodic_loss_term():
    by_loss, embedded = Problem(**CONVECTION), Problem(**EMBEDDED)
    assert by_loss.periodic_by == "loss" and [p.name for p in by_loss.periodic_losses] == \
        ["periodic_x"] and by_loss.periodic_embedded == []
    assert embedded.periodic_losses == [] and embedded.periodic_embedded == [0]
    assert "periodic_x" in _losses(by_loss)[0].kinds
    dummy = torch.zeros(4, 2, dtype=torch.float64)
    losses = Losses(embedded, dummy, torch.zeros(4, 1, dtype=torch.float64), ["u"], dummy,
                    [dummy])
    assert list(losses.kinds) == ["data", "convection", "initial"]


def test_auto_embeds_a_periodic_box_and_keeps_the_loss_term_for_one_input():
    box = dict(CONVECTION, inputs={"x": [0.0, 1.0], "y": [0.0, 2.0], "t": [0.0, 1.0]},
               periodic=["x", "y"], conditions={})
    assert Problem(**box).periodic_by == "embedding"
    assert Problem(**box).periodic_embedded == [0, 1] and Problem(**box).periodic_losses == []
    assert Problem(**CONVECTION).periodic_by == "loss"  # one periodic input
    assert Problem(**dict(box, periodic_by="loss")).periodic_by == "loss"  # as asked


@pytest.mark.parametrize("changes,message", [
    ({"periodic_by": "embeding"}, r"pde.periodic_by='embeding' is not known; choose one of "
                                  r"\['auto', 'loss', 'embedding'\]"),
    ({"periodic": [], "periodic_by": "embedding"}, r"pde.periodic_by=embedding but pde.periodic "
                                                   r"lists no input"),
])
def test_bad_periodic_by_says_how_to_fix(changes, message):
    with pytest.raises(PinnFitError, match=message):
        Problem(**dict(CONVECTION, **changes))


def test_ip_basis_refuses_the_embedding_too():
    from pinn_cli.basis.offline import train_basis
    with pytest.raises(PinnFitError, match=r"periodic inputs \(by loss or by embedding\) are not "
                                           "supported by IP-Basis"):
        train_basis(Problem(**EMBEDDED), {"beta": {"lo": 1.0, "hi": 20.0}})


def test_cli_convection_with_the_embedding_composes(tmp_path):
    r = run_cli(["pde=convection", "pde.periodic_by=embedding", "schedule.pretrain_steps=20",
                 "schedule.identify_steps=30", "schedule.lbfgs_steps=20", "arch.depth=2",
                 "arch.width=16", "collocation.n_points=300", "data.n_obs=200", "plots=false",
                 "diagnostics=off"], tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed" and set(s["final_losses"]) == {"data", "convection",
                                                                     "initial"}
