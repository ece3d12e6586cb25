"""IP-Basis PINNs (pinn_cli.basis.offline): offline basis, online queries, variable projection, safety.

The oscillator and heat1d options declare no initial condition (their reference solvers fix
one), and a basis needs it (without conditions every readout collapses to u = 0), so the
problems here add the reference solvers' initial conditions: x(0) = 1, x_t(0) = 0 and
u(x, 0) = sin(pi x) + 0.5 sin(3 pi x)."""
import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from pinn_cli.basis.network import Basis, is_linear, query_points
from pinn_cli.basis.offline import train_basis
from pinn_cli.basis.query import fit_query
from pinn_cli.basis.ranges import Range, ranges_for, sample_parameters
from pinn_cli.schema import register
from pinn_cli.errors import PinnFitError
from pinn_cli.targets import call
from pinn_cli.solvers import heat1d_series, oscillator_underdamped

register()

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

OSC_IC = {"x0": {"at": {"t": 0.0}, "equation": "x - 1"},
          "v0": {"at": {"t": 0.0}, "equation": "x_t"}}
HEAT_IC = {"initial": {"at": {"t": 0.0}, "equation": "u - sin(pi*x) - 0.5*sin(3*pi*x)"}}
OSC_RANGES = {"c": {"lo": 0.2, "hi": 0.8}, "k": {"lo": 2.0, "hi": 6.0}}
HEAT_RANGES = {"k": {"lo": 0.05, "hi": 0.2, "sampling": "log"}}


def _problem(name, conditions=None):
    """The pde option `name` as the CLI composes it, with `conditions` added."""
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"pde={name}"])
    spec = OmegaConf.to_container(cfg.pde, resolve=True, enum_to_str=True)
    spec["conditions"] = (spec.get("conditions") or {}) | (conditions or {})
    return call(OmegaConf.create(spec))


def _oscillator_obs(c, k, n=50, seed=0):
    """n of the 201 reference times on [0, 10] (pde.reference.grid), clean."""
    t = np.linspace(0, 10, 201)
    pick = np.sort(np.random.default_rng(seed).choice(len(t), n, replace=False))
    return t[pick, None], oscillator_underdamped(t[pick], c, k)[:, None]


@pytest.fixture(scope="module")
def oscillator(one_thread_module):
    """A small basis for the oscillator over c ∈ [0.2, 0.8], k ∈ [2, 6] (float32, the project's
    default precision). sin activations: with tanh the same budget left 5-60 % errors (the
    solutions oscillate up to 4 times over the domain). Measured: about 8 s on one thread."""
    problem = _problem("oscillator", OSC_IC)
    basis = train_basis(problem, OSC_RANGES, n_basis=16, n_readouts=16, steps=2000, lr=3e-3,
                        width=32, depth=3, activation="sin", n_points=256,
                        n_condition_points=1, validate_every=500, n_obs=50, seed=0)
    colloc, cond = query_points(problem, 256, 1, seed=99)
    return problem, basis, colloc, cond


def test_oscillator_queries_recover_c_and_k_by_variable_projection(oscillator):
    """Truths inside the range, none a training θ_k. Measured errors 0.01-0.2 %; the tolerance,
    1 %, is what a 16-function basis is expected to reach (the paper reports 1-2 %)."""
    problem, basis, colloc, cond = oscillator
    thetas = np.stack([basis.thetas["c"].numpy(), basis.thetas["k"].numpy()], 1)
    truths = [tuple(problem.reference["truth"][k] for k in ("c", "k")), (0.3, 3.0), (0.7, 5.5)]
    for c, k in truths:
        assert np.abs(thetas - [c, k]).min(0).max() > 1e-3  # not a training readout's θ
        obs_x, obs_y = _oscillator_obs(c, k)
        r = fit_query(basis, problem, obs_x, obs_y, ["x"], colloc, cond)
        assert r["method"] == "varpro"  # auto: the oscillator is linear in x
        assert r["estimates"]["c"] == pytest.approx(c, rel=0.01)
        assert r["estimates"]["k"] == pytest.approx(k, rel=0.01)
        assert not r["warnings"]
        assert not any(f["outside_range"] or f["at_range_edge"] for f in r["range"].values())
    # Section 2.4: the kept R is the one with the smallest validation error seen.
    curve = basis.history["curve"]
    assert basis.history["validation_error"] == min(p["validation_error"] for p in curve)


def test_variable_projection_agrees_with_the_gradient_path(oscillator):
    """Both minimise the same loss; projection solves the readout exactly, so its loss is never
    above the gradient path's, and its estimates are the truth's within 1 %. The gradient path
    converges slowly (the basis functions are nearly collinear): its c is 0.15 % from the
    projection's when this module runs alone, but 1.2-2.9 % after other test modules in the same
    process (an order dependence not yet explained; torch's process-wide default dtype, which
    earlier tests set, is the likely cause), so its estimates are not compared here."""
    problem, basis, colloc, cond = oscillator
    obs_x, obs_y = _oscillator_obs(0.4, 4.0)
    vp = fit_query(basis, problem, obs_x, obs_y, ["x"], colloc, cond, method="varpro")
    gd = fit_query(basis, problem, obs_x, obs_y, ["x"], colloc, cond, method="gradient",
                   steps=1000)
    assert (vp["method"], gd["method"]) == ("varpro", "gradient")
    assert vp["steps"]["adam"] == 0 and gd["steps"]["adam"] == 1000
    assert vp["loss"] <= gd["loss"] * (1 + 1e-6)
    for name, truth in (("c", 0.4), ("k", 4.0)):
        assert vp["estimates"][name] == pytest.approx(truth, rel=0.01)


def test_query_outside_the_range_is_flagged(oscillator):
    """k = 8 beyond the range's k <= 6 (measured estimate 7.99, outside); a truth inside gives
    no flag (the test above)."""
    problem, basis, colloc, cond = oscillator
    obs_x, obs_y = _oscillator_obs(0.4, 8.0)
    r = fit_query(basis, problem, obs_x, obs_y, ["x"], colloc, cond)
    flags = r["range"]["k"]
    assert flags["outside_range"] or flags["at_range_edge"]
    assert flags["position"] > 0.98
    assert any(w.startswith("k = ") for w in r["warnings"])


def test_features_are_computed_once_per_query(oscillator, monkeypatch):
    """Online, R runs once (one forward-mode pass over all points), whatever the step count."""
    problem, basis, colloc, cond = oscillator
    calls = {"taylor": 0, "forward": 0}
    body_taylor, body = basis.net.body_taylor, basis.net.body

    def count(name, fn):
        def wrapped(*args):
            calls[name] += 1
            return fn(*args)
        return wrapped

    monkeypatch.setattr(basis.net, "body_taylor", count("taylor", body_taylor))
    monkeypatch.setattr(basis.net, "body", count("forward", body))
    obs_x, obs_y = _oscillator_obs(0.5, 5.0)
    for method in ("varpro", "gradient"):
        calls.update(taylor=0, forward=0)
        r = fit_query(basis, problem, obs_x, obs_y, ["x"], colloc, cond, method=method)
        assert sum(r["steps"].values()) > 5
        assert calls == {"taylor": 1, "forward": 0}, method


def test_save_load_round_trip(oscillator, tmp_path):
    problem, basis, colloc, cond = oscillator
    loaded = Basis.load(basis.save(tmp_path / "basis.pt"))
    assert loaded.settings() == basis.settings()
    assert loaded.settings()["problem_name"] == "oscillator"
    needs = problem.needs(problem.residuals)
    x = torch.rand(64, 1) * 10
    a, b = basis.features(x, needs), loaded.features(x, needs)
    assert set(a) == set(b) == set(needs)
    for d in needs:
        assert torch.equal(a[d], b[d]), d
    for k in basis.thetas:
        assert torch.equal(basis.thetas[k], loaded.thetas[k])
    assert torch.equal(basis.readouts, loaded.readouts)
    assert not any(p.requires_grad for p in loaded.net.parameters())  # R frozen
    obs_x, obs_y = _oscillator_obs(0.4, 4.0)
    r1, r2 = (fit_query(m, problem, obs_x, obs_y, ["x"], colloc, cond) for m in (basis, loaded))
    for k in r1["estimates"]:  # equal Φ; BLAS may round differently with memory alignment
        assert r1["estimates"][k] == pytest.approx(r2["estimates"][k], rel=1e-9)
    with pytest.raises(PinnFitError, match="trained for problem oscillator"):
        fit_query(loaded, _problem("heat1d", HEAT_IC), obs_x, obs_y, ["u"], colloc, cond)


@pytest.mark.slow  # about 11 s: in CI's short slow form
def test_heat_query_recovers_k_by_variable_projection(float64):
    """u_t = k u_xx over k ∈ [0.05, 0.2] (log-uniform); data on the 21 x 11 grid of the other
    heat tests, truth k = 0.1 (pde.reference) and 0.15. float64 and Adam then L-BFGS: in
    float32 the same budget gave 1-3 % errors. The data are clean, so their term is weighted
    100 (with weight 1, measured errors 1.5 %: the small basis's residual floor then pulls k).
    Measured about 10 s on one thread and errors 0.3-0.6 %; tolerance 2 %."""
    problem = _problem("heat1d", HEAT_IC)
    weights = {"data": 100.0}
    basis = train_basis(problem, HEAT_RANGES, n_basis=16, n_readouts=8, steps=500,
                        lbfgs_steps=500, lr=3e-3, width=32, depth=3, n_points=400,
                        n_condition_points=32, validate_every=250, n_obs=100, seed=0,
                        query_options={"weights": weights})
    assert is_linear(problem, basis.ranges)
    colloc, cond = query_points(problem, 400, 32, seed=99)
    x, t = np.linspace(0, 1, 21), np.linspace(0, 0.5, 11)
    X, T = np.meshgrid(x, t, indexing="ij")
    for k in (problem.reference["truth"]["k"], 0.15):
        assert (basis.thetas["k"] - k).abs().min() > 1e-3
        u = heat1d_series(x, t, k).reshape(-1, 1)
        r = fit_query(basis, problem, np.stack([X.ravel(), T.ravel()], 1), u, ["u"], colloc,
                      cond, weights=weights)
        assert r["method"] == "varpro"
        assert r["estimates"]["k"] == pytest.approx(k, rel=0.02)
        assert not r["warnings"]


def test_linearity_is_detected_from_the_equations():
    """Oscillator and heat are affine in their fields (conditions such as x - 1 included);
    Burgers is not, even though its guess lambda1 = 0 would hide the u u_x term."""
    osc, heat = _problem("oscillator", OSC_IC), _problem("heat1d", HEAT_IC)
    burgers = _problem("burgers1d")
    assert is_linear(osc, ranges_for(osc, OSC_RANGES))
    assert is_linear(heat, ranges_for(heat, HEAT_RANGES))
    b_ranges = ranges_for(burgers, {"lambda1": {"lo": 0.5, "hi": 1.5},
                                    "nu": {"lo": 1e-3, "hi": 1e-2, "sampling": "log"}})
    assert not is_linear(burgers, b_ranges)
    basis = Basis("burgers1d", burgers.inputs, burgers.outputs, burgers.domain, 4, b_ranges, 8, 2)
    basis.net.requires_grad_(False)
    colloc, cond = query_points(burgers, 32, 8, seed=0)
    with pytest.raises(PinnFitError, match="method=varpro needs"):
        fit_query(basis, burgers, colloc[:8].numpy(), np.zeros((8, 1)), ["u"], colloc, cond,
                  method="varpro")
    r = fit_query(basis, burgers, colloc[:8].numpy(), np.zeros((8, 1)), ["u"], colloc, cond,
                  steps=5, lbfgs_steps=5)
    assert r["method"] == "gradient" and all(math.isfinite(v) for v in r["estimates"].values())


def test_a_basis_needs_conditions_and_a_range_per_unknown():
    osc = _problem("oscillator")
    with pytest.raises(PinnFitError, match="declares no conditions"):
        train_basis(osc, OSC_RANGES, steps=1)
    with pytest.raises(PinnFitError, match="one for each unknown"):
        train_basis(_problem("oscillator", OSC_IC), {"c": {"lo": 0.2, "hi": 0.8}}, steps=1)
    with pytest.raises(PinnFitError, match="lo > 0 for log"):
        ranges_for(osc, {"c": {"lo": 0.0, "hi": 1.0, "sampling": "log"}, "k": {"lo": 1, "hi": 2}})


def test_margin_widens_the_readouts_draw_not_the_range():
    """basis.margin: the readouts' unknowns are drawn over each range extended by margin × its
    width on each side (in log scale for log sampling), so that queries near the edges are not
    at the edge of the offline draw; the basis keeps, and reports against, the declared range."""
    lin = Range(2.0, 6.0).widened(0.25)
    assert (lin.lo, lin.hi, lin.sampling) == (1.0, 7.0, "uniform")
    log_r = Range(0.02, 0.08, "log").widened(0.5)
    assert (log_r.lo, log_r.hi, log_r.sampling) == (pytest.approx(0.01), pytest.approx(0.16),
                                                    "log")
    assert Range(0.05, 0.2, "log").widened(0.0) == Range(0.05, 0.2, "log")
    heat = _problem("heat1d", HEAT_IC)
    opts = dict(n_basis=2, n_readouts=16, steps=1, width=4, depth=1, n_points=16,
                n_condition_points=4, n_validation=0, seed=3)
    plain = train_basis(heat, HEAT_RANGES, **opts)
    wide = train_basis(heat, HEAT_RANGES, margin=0.2, **opts)
    # margin 0 is the draw over the range itself; with a margin, the same Sobol points mapped
    # onto [0.05 / 4**0.2, 0.2 * 4**0.2]
    r = ranges_for(heat, HEAT_RANGES)
    assert torch.allclose(plain.thetas["k"], sample_parameters(r, 16, 3)["k"])
    assert torch.allclose(wide.thetas["k"], sample_parameters(
        {"k": Range(0.05 / 4 ** 0.2, 0.2 * 4 ** 0.2, "log")}, 16, 3)["k"])
    assert wide.thetas["k"].min() < 0.05 and wide.thetas["k"].max() > 0.2
    assert (wide.ranges["k"].lo, wide.ranges["k"].hi) == (0.05, 0.2)
    assert wide.history["margin"] == 0.2 and plain.history["margin"] == 0.0
    for bad in (-0.1, math.nan):
        with pytest.raises(PinnFitError, match="margin="):
            train_basis(heat, HEAT_RANGES, margin=bad, **opts)
