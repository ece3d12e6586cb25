"""Weighting schemes against hand computations."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from pinn_cli.io.collocation import sample_periodic
from pinn_cli.errors import PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Problem
from pinn_cli.training.schedule import Phase
from pinn_cli.training.trainer import Hooks, Trainer
from pinn_cli.training.weighting import NTK, Annealing, Fixed, GradNorm, ntk_traces

KINDS = {"data": "data", "pde": "residual", "pde2": "residual", "bc": "condition"}


def _grads(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(50, generator=g, dtype=torch.float64) * s
            for k, s in zip(KINDS, (0.01, 1.0, 0.5, 0.1))}


@pytest.mark.parametrize("scheme, reference, own", [
    # Algorithm 1 of Wang, Teng & Perdikaris (2021): max |∇θ L_r| / mean |∇θ L_i|
    ("annealing", lambda g: np.max(np.abs(g)), lambda g: np.mean(np.abs(g))),
    # ‖∇θ L_r‖₂ / ‖∇θ L_i‖₂ (the L2 balancing of grad_norm)
    ("grad_norm", np.linalg.norm, np.linalg.norm),
])
def test_balancing_matches_hand_computation(scheme, reference, own):
    w = {"annealing": Annealing, "grad_norm": GradNorm}[scheme](alpha=0.9, update_every=10)
    w.setup(KINDS)
    lam = {k: 1.0 for k in KINDS}
    for seed in range(3):
        grads = _grads(seed)
        w.update(grads)
        g = {k: v.numpy() for k, v in grads.items()}
        ref = reference(g["pde"] + g["pde2"])  # L_r = sum of the residual terms
        for k in ("data", "bc"):
            lam[k] = 0.1 * lam[k] + 0.9 * ref / own(g[k])
        for k in KINDS:
            assert w.lambdas[k] == pytest.approx(lam[k], rel=1e-12)


@pytest.mark.parametrize("cls", [Annealing, GradNorm])
def test_max_weight_bounds_the_weights_and_leaves_the_rest_as_computed(cls):
    free, bounded = cls(alpha=0.9, update_every=10), cls(alpha=0.9, update_every=10,
                                                          max_weight=5.0)
    for w in (free, bounded):
        w.setup(KINDS)
        for seed in range(3):
            w.update(_grads(seed))
    assert free.lambdas["data"] > 5.0  # data's gradient is the smallest: its λ the largest
    assert bounded.lambdas["data"] == 5.0
    for k in ("pde", "pde2"):
        assert bounded.lambdas[k] == free.lambdas[k] == 1.0
    assert bounded.lambdas["bc"] == pytest.approx(min(free.lambdas["bc"], 5.0), rel=1e-12)


def test_annealing_update_schedule():
    w = Annealing(alpha=0.9, update_every=10)
    assert [s for s in range(35) if w.wants_gradients(s)] == [0, 10, 20, 30]


def test_fixed_weights_and_typo():
    w = Fixed({"data": 10.0})
    w.setup(KINDS)
    assert w.lambdas == {"data": 10.0, "pde": 1.0, "pde2": 1.0, "bc": 1.0}
    assert not w.wants_gradients(0)
    with pytest.raises(PinnFitError, match="'dta'"):
        Fixed({"dta": 1.0}).setup(KINDS)
    w = Fixed({"data": 3.0}, pde_weights={"data": 10.0, "bc": 2.0})  # the config's win
    w.setup(KINDS)
    assert w.lambdas == {"data": 3.0, "pde": 1.0, "pde2": 1.0, "bc": 2.0}
    with pytest.raises(PinnFitError, match=r"pde.weights names \['dta'\]"):
        Fixed(pde_weights={"dta": 1.0}).setup(KINDS)


def test_annealing_rejects_bad_alpha():
    with pytest.raises(PinnFitError, match="alpha"):
        Annealing(alpha=1.5, update_every=10)


# --- grad_norm and ntk --------------------------------------------------------------------------


@pytest.mark.parametrize("cls,kwargs,match", [
    (GradNorm, dict(alpha=0.0, update_every=10), r"weighting.alpha=0.0 must lie in \(0, 1\]"),
    (GradNorm, dict(alpha=0.5, update_every=0), "weighting.update_every=0 must be >= 1"),
    (NTK, dict(alpha=1.5, update_every=10), "alpha"),
    (NTK, dict(alpha=1.0, update_every=-1), "update_every"),
    (NTK, dict(alpha=1.0, update_every=10, max_points=0), "weighting.max_points=0 must be >= 1"),
    (Annealing, dict(alpha=0.9, update_every=10, max_weight=0), "weighting.max_weight=0 must be "
                                                               "a positive number, or null"),
    (GradNorm, dict(alpha=0.9, update_every=10, max_weight=float("nan")), "max_weight=nan"),
])
def test_bad_settings_raise(cls, kwargs, match):
    with pytest.raises(PinnFitError, match=match):
        cls(**kwargs)


def test_grad_norm_needs_a_residual_term():
    w = GradNorm(alpha=0.5, update_every=1)
    w.setup({"data": "data", "bc": "condition"})
    with pytest.raises(PinnFitError, match="grad_norm needs at least one residual"):
        w.update({"data": torch.ones(3), "bc": torch.ones(3)})


def test_ntk_without_the_network_says_what_is_missing():
    with pytest.raises(PinnFitError, match=r"weighting=ntk needs .*weighting.bind\(net, unknowns"):
        NTK(alpha=1.0, update_every=10).setup(KINDS)


# A small Burgers problem with every kind of term: data, residual, condition and periodic.
BURGERS = dict(name="b", inputs={"x": [-1.0, 1.0], "t": [0.0, 1.0]}, outputs=["u"],
               unknowns={"lambda1": {"guess": 0.7}, "nu": {"guess": 0.03, "transform": "log"}},
               residuals={"burgers": "u_t + lambda1*u*u_x - nu*u_xx"},
               conditions={"initial": {"at": {"t": 0.0}, "equation": "u + sin(pi*x)"}},
               periodic=["x"])


@pytest.fixture
def small(request):
    """float64 Burgers: (net, unknowns, losses, params, points)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    problem = Problem(**BURGERS)
    net = MLP([(-1.0, 1.0), (0.0, 1.0)], [0.1], [1.5], width=8, depth=2)
    x = torch.rand(23, 2) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])
    obs_x, obs_y = x[:9], torch.randn(9, 1)
    cond_x = x[:7].clone()
    cond_x[:, 1] = 0.0
    per_x = sample_periodic(problem.domain, "x", 6, "sobol", 0).double()
    losses = Losses(problem, obs_x, obs_y, ["u"], x, [cond_x], engine="auto", periodic_x=[per_x])
    unknowns = Unknowns(problem.unknowns)
    params = {k: v.detach() for k, v in unknowns.physical().items()}
    yield net, unknowns, losses, params, dict(obs=(obs_x, obs_y), colloc=x, cond=cond_x,
                                              per=per_x)
    torch.set_default_dtype(old)


def _hand_residuals(net, pts, params):
    """Each term's per-point residuals by plain nested autograd, written out for Burgers."""
    def fields(x):
        x = x.clone().requires_grad_(True)
        u = net(x)[:, 0]
        du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
        u_xx = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)[0][:, 0]
        return u, du[:, 0], du[:, 1], u_xx

    obs_x, obs_y = pts["obs"]
    u, u_x, u_t, u_xx = fields(pts["colloc"])
    lam, nu = params["lambda1"], params["nu"]
    n = len(pts["per"]) // 2
    lo, hi = fields(pts["per"][:n]), fields(pts["per"][n:])
    return {"data": net(obs_x)[:, 0] - obs_y[:, 0],
            "burgers": u_t + lam * u * u_x - nu * u_xx,
            "initial": net(pts["cond"])[:, 0] + torch.sin(math.pi * pts["cond"][:, 0]),
            # u_xx in the residual: u and u_x must match across the faces
            "periodic_x": torch.cat([lo[0] - hi[0], lo[1] - hi[1]])}


def _direct_traces(net, residuals):
    """tr K_ii = Σ_n ‖∇θ r_i(x_n)‖², one backward pass per point."""
    weights = list(net.parameters())
    out = {}
    for term, r in residuals.items():
        out[term] = sum(sum(float(g.square().sum()) for g in
                            torch.autograd.grad(r[n], weights, retain_graph=True))
                        for n in range(len(r)))
    return out


def test_ntk_trace_matches_direct_per_point_computation(small):
    net, _, losses, params, pts = small
    hand = _hand_residuals(net, pts, params)
    terms = losses(net, params)  # the hand residuals are those of the loss terms
    for term, r in hand.items():
        n_points = len(pts["per"]) // 2 if term == "periodic_x" else len(r)
        torch.testing.assert_close(r.square().sum() / n_points, terms[term], rtol=1e-12, atol=0)
    direct = _direct_traces(net, hand)
    got = ntk_traces(net, losses, params)  # Taylor engine, torch.func per-point Jacobians
    assert set(got) == set(losses.kinds)
    for term in direct:
        assert got[term] == pytest.approx(direct[term], rel=1e-10), term

    class NoTaylor(nn.Module):  # the same network, without the Taylor engine: the loop path
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    looped = ntk_traces(NoTaylor(net), losses, params, chunk_size=5)
    for term in direct:
        assert looped[term] == pytest.approx(direct[term], rel=1e-10), term


def test_ntk_trace_on_a_subset_of_points(small):
    net, _, losses, params, pts = small
    hand = _hand_residuals(net, pts, params)
    idx = torch.linspace(0, len(hand["data"]) - 1, 4).round().long()  # 9 points, 4 used
    direct = _direct_traces(net, {"data": hand["data"][idx]})["data"] * 9 / 4
    got = ntk_traces(net, losses, params, max_points=4)
    assert got["data"] == pytest.approx(direct, rel=1e-10)
    assert ntk_traces(net, losses, params, max_points=1000) == \
        pytest.approx(ntk_traces(net, losses, params), rel=1e-12)


def test_ntk_weights_are_trace_ratios(small):
    net, unknowns, losses, params, _ = small
    w = NTK(alpha=0.5, update_every=1)
    w.bind(net, unknowns, losses)
    w.setup(losses.kinds)
    w.update({})
    tr = ntk_traces(net, losses, params)
    total = sum(tr.values())
    for term in losses.kinds:  # from λ = 1: λ ← 0.5 + 0.5 Σ_j tr K_jj / tr K_ii
        assert w.lambdas[term] == pytest.approx(0.5 + 0.5 * total / tr[term], rel=1e-10)
        assert w.traces[term] == pytest.approx(tr[term], rel=1e-12)


def test_ntk_in_a_short_training_run(small):
    """With bind() called before the Trainer's setup(), as train.py is to do, the λ reach the
    logged rows."""
    net, unknowns, losses, _, _ = small
    w = NTK(alpha=1.0, update_every=2)
    w.bind(net, unknowns, losses)
    rows = []
    trainer = Trainer(net=net, unknowns=unknowns, losses=losses, weighting=w,
                      phases=[Phase("identify", 4, unknowns_lr=1e-2)], log_every=2,
                      hooks=Hooks(on_row=rows.append))
    trainer.run()
    assert [r.step for r in rows] == [0, 2, 4]
    for r in rows:
        assert all(v > 1 for v in r.lambdas.values())  # Σ_j tr K_jj / tr K_ii > 1, 4 terms
    assert rows[-1].lambdas == w.lambdas


def test_ntk_traces_see_the_residuals_in_the_datas_units(small):
    """With residual scaling (Losses' residual_factors f_i, L_i = f_i mean r_i²) the NTK trace of
    term i is that of √f_i r_i: f_i times the unscaled one; the other terms are unchanged."""
    net, _, losses, params, pts = small
    name = losses.problem.residuals[0].name
    scaled = Losses(losses.problem, *pts["obs"], ["u"], pts["colloc"], [pts["cond"]],
                    periodic_x=[pts["per"]], residual_factors={name: 4.0})
    plain, got = ntk_traces(net, losses, params), ntk_traces(net, scaled, params)
    assert got[name] == pytest.approx(4.0 * plain[name], rel=1e-12)
    assert {k: v for k, v in got.items() if k != name} == \
        pytest.approx({k: v for k, v in plain.items() if k != name}, rel=1e-12)
    assert float(scaled(net, params)[name].detach()) == pytest.approx(
        4.0 * float(losses(net, params)[name].detach()), rel=1e-12)
