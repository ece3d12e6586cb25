"""Causal training (`causal.epsilon`, `causal.chunks`; Wang, Sankaran & Perdikaris 2024): the
window weights, their hand computation, no gradient through them, off by default, clear errors."""
import math

import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from pinn_cli.schema import register
from pinn_cli.errors import PinnFitError
from pinn_cli.training.causal import causal_chunks, causal_weighted
from pinn_cli.training.losses import Losses
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Problem

from conftest import run_cli

register()
HEAT = dict(name="h", inputs={"x": [0.0, 1.0], "t": [0.0, 0.5]}, outputs=["u"],
            unknowns={"k": {"guess": 0.3}}, residuals={"heat": "u_t - k*u_xx"})
TWO = dict(HEAT, outputs=["u", "v"], residuals={"a": "u_t - k*u_xx", "b": "v_t - u*v_x"})


def _setup(spec, n=200, seed=0, **causal):
    """Losses on `n` random residual points of the problem, a random double MLP, params."""
    problem = Problem(**spec)
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([problem.domain[k][0] for k in problem.inputs], dtype=torch.float64)
    hi = torch.tensor([problem.domain[k][1] for k in problem.inputs], dtype=torch.float64)
    x = lo + (hi - lo) * torch.rand(n, len(lo), generator=g, dtype=torch.float64)
    m = len(problem.outputs)
    losses = Losses(problem, x[:4], torch.zeros(4, m, dtype=torch.float64), problem.outputs, x,
                    [], engine="auto", periodic_x=(), **causal)
    torch.manual_seed(seed)
    net = MLP([problem.domain[k] for k in problem.inputs], [0.0] * m, [1.0] * m, width=10,
              depth=3).double()
    return losses, net, {"k": torch.tensor(0.3, dtype=torch.float64)}, x


def _heat_residual(net, x, k=0.3):
    x = x.clone().requires_grad_(True)
    u = net(x)[:, 0]
    du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    u_xx = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)[0][:, 0]
    return du[:, 1] - k * u_xx


def test_off_by_default_the_residual_loss_is_the_plain_mean(one_thread, float64):
    losses, net, params, x = _setup(HEAT)  # no causal arguments: the defaults
    assert losses.causal_epsilon == 0.0 and losses.causal_chunks == 16
    terms = losses(net, params)
    # the Taylor engine against nested autograd: equal to rounding (one ulp apart with torch
    # 2.13; exact equality is not guaranteed)
    torch.testing.assert_close(terms["heat"], _heat_residual(net, x).square().mean(), rtol=1e-14,
                               atol=0)
    assert torch.equal(losses.causal_weights, torch.ones(16, dtype=torch.float64))
    assert losses.log_values() == {}
    assert set(terms) == {"data", "heat"}  # no extra loss term


def test_epsilon_zero_in_the_formula_is_the_plain_mean_even_with_unequal_windows(float64):
    """Σ_m (n_m/n) w_m L_m with w = 1 is the mean over all points, whatever the window sizes."""
    t = torch.tensor([0.01, 0.02, 0.03, 0.04, 0.05, 0.3, 0.9, 0.95])  # 5, 1, 0, 2 per window
    chunk, counts = causal_chunks(t, (0.0, 1.0), 4)
    assert counts.tolist() == [5.0, 1.0, 0.0, 2.0]
    r2 = torch.rand(8)
    terms, w, _ = causal_weighted({"a": r2}, chunk, counts, 0.0)
    assert torch.equal(w, torch.ones(4))
    torch.testing.assert_close(terms["a"], r2.mean(), rtol=1e-14, atol=0)


def test_windows_split_the_time_domain_evenly_the_last_one_closed():
    t = torch.tensor([0.0, 0.124, 0.125, 0.26, 0.49, 0.5])
    chunk, counts = causal_chunks(t, (0.0, 0.5), 4)  # windows of width 0.125
    assert chunk.tolist() == [0, 0, 1, 2, 3, 3] and counts.tolist() == [2, 1, 1, 2]


def test_hand_computation_on_a_tiny_case(float64):
    """Three windows of two points each, two residual terms a and b."""
    t = torch.tensor([0.05, 0.1, 0.4, 0.45, 0.7, 1.0])
    chunk, counts = causal_chunks(t, (0.0, 1.0), 3)
    assert chunk.tolist() == [0, 0, 1, 1, 2, 2]
    a = torch.tensor([1.0, 3.0, 2.0, 2.0, 5.0, 7.0])  # window means 2, 2, 6
    b = torch.tensor([0.0, 2.0, 1.0, 1.0, 0.0, 0.0])  # window means 1, 1, 0
    terms, w, window = causal_weighted({"a": a, "b": b}, chunk, counts, 0.5)
    assert window.tolist() == [3.0, 3.0, 6.0]  # summed over the terms
    # w_m = exp(-0.5 * (losses of the earlier windows)): exp(0), exp(-0.5*3), exp(-0.5*6)
    torch.testing.assert_close(w, torch.tensor([1.0, math.exp(-1.5), math.exp(-3.0)]))
    torch.testing.assert_close(terms["a"], torch.tensor(
        (2 + 2 * math.exp(-1.5) + 6 * math.exp(-3.0)) / 3))
    torch.testing.assert_close(terms["b"], torch.tensor((1 + math.exp(-1.5)) / 3))


def test_losses_match_a_hand_computation_from_the_network(one_thread, float64):
    eps, chunks = 2.0, 5
    losses, net, params, x = _setup(HEAT, n=300, causal_epsilon=eps, causal_chunks=chunks)
    heat = losses(net, params)["heat"]
    r2 = _heat_residual(net, x).square()
    window = torch.floor(x[:, 1] / 0.5 * chunks).long().clamp(max=chunks - 1)
    means = torch.stack([r2[window == m].mean() for m in range(chunks)])
    shares = torch.stack([(window == m).double().mean() for m in range(chunks)])
    w = torch.stack([torch.exp(-eps * means[:m].sum()) for m in range(chunks)])
    torch.testing.assert_close(heat, (shares * w * means).sum(), rtol=1e-12, atol=0)
    torch.testing.assert_close(losses.causal_weights, w.detach(), rtol=1e-12, atol=0)
    assert losses.log_values() == {"causal_min": pytest.approx(float(w.min().detach()),
                                                                rel=1e-12)}


@pytest.mark.parametrize("eps", [0.1, 1.0, 10.0, 1000.0])
def test_weights_start_at_one_and_never_increase_in_time(eps, one_thread, float64):
    losses, net, params, _ = _setup(TWO, causal_epsilon=eps, causal_chunks=16)
    losses(net, params)
    w = losses.causal_weights
    assert w.shape == (16,) and w[0] == 1.0 and not w.requires_grad
    assert torch.all(w[1:] <= w[:-1]) and torch.all(w >= 0)
    assert w[-1] < 1.0  # a random net has residuals in every window
    # the weights come from the sum over both residual terms: a term alone gives larger ones
    single, *_ = _setup(dict(HEAT, outputs=["u", "v"], residuals={"a": "u_t - k*u_xx"}),
                        causal_epsilon=eps, causal_chunks=16)
    single(net, params)
    assert torch.all(single.causal_weights >= w)


def test_no_gradient_flows_through_the_weights(float64):
    """With r² = θ c at every point, L = Σ_m s_m w_m θ c̄_m; if the weights were differentiated
    dL/dθ would carry the extra terms from w_m(θ)."""
    t = torch.linspace(0, 1, 12)
    chunk, counts = causal_chunks(t, (0.0, 1.0), 4)
    c = torch.arange(1.0, 13.0)
    theta = torch.tensor(0.7, requires_grad=True)
    terms, w, window = causal_weighted({"a": theta * c}, chunk, counts, 1.5)
    assert not w.requires_grad and not window.requires_grad
    (grad,) = torch.autograd.grad(terms["a"], theta)
    cbar = torch.stack([c[chunk == m].mean() for m in range(4)])
    expected = (w * counts / counts.sum() * cbar).sum()  # w held constant
    torch.testing.assert_close(grad, expected, rtol=1e-13, atol=0)
    differentiated = torch.autograd.functional.jacobian(
        lambda th: (torch.exp(-1.5 * torch.cat([th.new_zeros(1), torch.cumsum(th * cbar, 0)[:-1]]))
                    * counts / counts.sum() * th * cbar).sum(), theta.detach())
    assert abs(float(differentiated) - float(expected)) > 1e-3  # the test can tell them apart


def test_network_gradients_equal_those_with_the_weights_frozen(one_thread, float64):
    losses, net, params, x = _setup(HEAT, causal_epsilon=5.0, causal_chunks=8)
    heat = losses(net, params)["heat"]
    weights = list(net.parameters())[:-1]  # the head's bias does not enter u_t - k u_xx
    g = torch.autograd.grad(heat, weights)
    w = losses.causal_weights.clone()
    r2 = _heat_residual(net, x).square()
    chunk, counts = losses.causal_chunk, losses.causal_counts
    means = torch.zeros(8, dtype=torch.float64).index_add(0, chunk, r2) / counts
    frozen = (w * counts / counts.sum() * means).sum()
    g_frozen = torch.autograd.grad(frozen, weights)
    for a, b in zip(g, g_frozen):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_conditions_and_data_are_not_weighted(one_thread, float64):
    spec = dict(HEAT, conditions={"left": {"at": {"x": 0.0}, "equation": "u"}})
    problem = Problem(**spec)
    x = torch.rand(50, 2, dtype=torch.float64) * torch.tensor([1.0, 0.5], dtype=torch.float64)
    cond = x.clone()
    cond[:, 0] = 0.0
    y = torch.rand(50, 1, dtype=torch.float64)
    torch.manual_seed(0)
    net = MLP([(0.0, 1.0), (0.0, 0.5)], [0.0], [1.0], width=8, depth=2).double()
    params = {"k": torch.tensor(0.3, dtype=torch.float64)}
    plain = Losses(problem, x, y, ["u"], x, [cond])(net, params)
    causal = Losses(problem, x, y, ["u"], x, [cond], causal_epsilon=10.0)(net, params)
    assert causal["data"] == plain["data"] and causal["left"] == plain["left"]
    assert causal["heat"] < plain["heat"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(causal_epsilon=1.0, spec="no_t"),
     r"causal.epsilon=1.0: causal training .* needs an input named t, but problem 's' has "
     r"inputs \['x', 'y'\]; set causal.epsilon=0"),
    (dict(causal_chunks=0), r"causal.chunks=0: give the number of time windows, an integer >= 1"),
    (dict(causal_epsilon=-1.0), r"causal.epsilon=-1.0: give a number >= 0"),
    (dict(causal_epsilon=float("nan")), r"causal.epsilon=nan"),
])
def test_bad_causal_settings_say_how_to_fix(kwargs, message, float64):
    spec = HEAT
    if kwargs.pop("spec", None) == "no_t":
        spec = dict(HEAT, name="s", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0]},
                    residuals={"poisson": "u_xx + u_yy - k"})
    with pytest.raises(PinnFitError, match=message):
        _setup(spec, **kwargs)


def test_epsilon_zero_is_allowed_without_a_time_input(float64):
    spec = dict(HEAT, name="s", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0]},
                residuals={"poisson": "u_xx + u_yy - k"})
    losses, net, params, _ = _setup(spec)
    assert losses.causal_weights is None and losses.log_values() == {}
    losses(net, params)


def _compose(overrides):
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        return compose("config", overrides=overrides)


def test_config_defaults_off_and_schema_checks_types():
    cfg = _compose([])
    assert cfg.causal.epsilon == 0.0 and cfg.causal.chunks == 16
    assert _compose(["causal.epsilon=10", "causal.chunks=32"]).causal.chunks == 32
    with pytest.raises((ConfigCompositionException, ValidationError), match="abc"):
        _compose(["causal.chunks=abc"])
    with pytest.raises(ConfigCompositionException, match="epsilom"):
        _compose(["causal.epsilom=1"])


def test_cli_bad_chunks_gives_one_message(tmp_path):
    r = run_cli(["causal.epsilon=1", "causal.chunks=0"], tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "causal.chunks=0: give the number of time windows" in out and "Traceback" not in out


def test_causal_min_is_logged_in_losses_csv(tmp_path):
    from conftest import run_cli, run_dirs

    r = run_cli(["causal.epsilon=1", "schedule.pretrain_steps=20", "schedule.identify_steps=40",
                 "schedule.lbfgs_steps=5", "log_every=20", "plots=false"], tmp_path)
    assert r.returncode == 0, r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    import csv

    rows = list(csv.DictReader(open(run / "losses.csv")))
    assert "causal_min" in rows[0] and all(0 < float(x["causal_min"]) <= 1 for x in rows)
