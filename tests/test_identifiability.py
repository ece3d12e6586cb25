"""Identifiability diagnostics: the classical cross-check, the Cramér–Rao bound, the verdict."""
import numpy as np
import pytest
from hydra import compose, initialize_config_module

from pinn_cli.config import register
from pinn_cli.data import Observations
from pinn_cli.fit import call
from pinn_cli.identifiability import Quick, SolverModel, classical_fit, training_warnings
from pinn_cli.solvers import heat1d_series

register()


def _problem(*overrides):
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return call(cfg.pde)


def _heat_obs(t_values, noise, seed, n_x=21):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n_x)
    u = heat1d_series(x, t_values, 0.1)
    X, T = np.meshgrid(x, t_values, indexing="ij")
    y = u.reshape(-1, 1)
    y = y + noise * y.std() * rng.standard_normal(y.shape)
    return Observations(np.stack([X.ravel(), T.ravel()], 1), y, ["u"], "mem", len(y))


def test_classical_fit_recovers_truth_on_clean_data():
    problem = _problem()
    obs = _heat_obs(np.linspace(0, 0.5, 11), 0.0, 0)
    c = classical_fit(SolverModel(problem, obs), problem, obs, 0.0, {"k": 0.3}, 30)
    assert c["estimate"]["k"] == pytest.approx(0.1, rel=1e-7)
    assert c["sigma_source"].startswith("nominal")  # clean: the solver reproduces the data


def test_cramer_rao_interval_contains_truth_across_noise_seeds():
    """1 % noise: |k̂ - k| < 3 σ_CRLB in every one of 10 seeds, and the spread of k̂ over the
    seeds matches the bound (it is attained by least squares for this near-linear model)."""
    problem = _problem()
    estimates, stds = [], []
    for seed in range(10):
        obs = _heat_obs(np.linspace(0, 0.5, 11), 0.01, seed)
        c = classical_fit(SolverModel(problem, obs), problem, obs, 0.01, {"k": 0.3}, 30)
        estimates.append(c["estimate"]["k"])
        stds.append(c["crlb_std"]["k"])
        assert abs(c["estimate"]["k"] - 0.1) < 3 * c["crlb_std"]["k"]
    assert 0.4 < np.std(estimates, ddof=1) / np.mean(stds) < 2.0


def test_observations_that_do_not_feel_k_are_flagged(tmp_path):
    """Only t = 0 (the initial condition, independent of k) and t = 1e-4: ∂u/∂k ≈ 0."""
    problem = _problem()
    obs = _heat_obs(np.array([0.0, 1e-4]), 0.01, 0)
    report = Quick()(problem=problem, obs=obs, noise=0.01, estimates={"k": 0.12},
                     run_dir=tmp_path, logs={})
    assert "WEAKLY identifiable" in report["verdict"]["k"]
    assert report["classical"]["crlb_rel_std"]["k"] > 0.05
    assert (tmp_path / "identifiability.json").exists()
    assert (tmp_path / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"


def test_well_posed_run_is_identifiable_and_a_wrong_pinn_is_called_out(tmp_path):
    problem = _problem()
    obs = _heat_obs(np.linspace(0, 0.5, 11), 0.01, 0)
    report = Quick()(problem=problem, obs=obs, noise=0.01, estimates={"k": 0.07},
                     run_dir=tmp_path, logs={})
    line = report["verdict"]["k"]
    assert ", identifiable" in line and "do not trust it yet" in line


def test_two_unknowns_get_a_correlation_matrix(tmp_path):
    problem = _problem("pde=burgers1d")
    x, t = np.linspace(-1, 1, 64), np.linspace(0, 0.99, 25)
    from pinn_cli.solvers import burgers1d_cole_hopf

    u = burgers1d_cole_hopf(x, t, 0.01 / np.pi)
    X, T = np.meshgrid(x, t, indexing="ij")
    obs = Observations(np.stack([X.ravel(), T.ravel()], 1), u.reshape(-1, 1), ["u"], "mem",
                       u.size)
    c = classical_fit(SolverModel(problem, obs), problem, obs, 0.0,
                      {"lambda1": 0.9, "nu": 0.005}, 30)
    assert c["estimate"]["lambda1"] == pytest.approx(1.0, rel=1e-5)
    assert c["estimate"]["nu"] == pytest.approx(0.01 / np.pi, rel=1e-5)
    assert -1 <= c["correlation"]["lambda1"]["nu"] <= 1


def test_training_warnings_read_the_logs():
    problem = _problem("pde.unknowns.k.bounds=[0.2,1.0]")
    steps = list(range(0, 1000, 100))
    logs = {"params.csv": {"step": steps, "k": [0.5] * 5 + [0.3, 0.25, 0.2, 0.2, 0.2],
                           "dL:data/dk": [1.0] * 10},
            "losses.csv": {"step": steps, "total": [1.0] * 10, "data": [1e-3] * 10},
            "grad_norms.csv": {"step": steps, "lambda:data": [1.0] * 9 + [5e4]}}
    w = " ".join(training_warnings(problem, {"k": 0.2}, logs))
    assert "pinned at a bound" in w and "lambda:data reached 5e+04" in w
