"""Identifiability diagnostics: the classical cross-check, the Cramér–Rao bound, the verdict."""
import numpy as np
import pytest
from hydra import compose, initialize_config_module

from pinn_cli.schema import register
from pinn_cli.io.observations import Observations
from pinn_cli.targets import call
from pinn_cli.diagnostics.classical import SolverModel, classical_fit
from pinn_cli.diagnostics.identifiability import Quick
from pinn_cli.diagnostics.verdicts import training_warnings, verdict
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


def test_a_model_whose_parameters_repeat_a_name_is_refused():
    from pinn_cli.problem.unknowns import Unknown

    problem = _problem()
    obs = _heat_obs(np.linspace(0, 0.5, 3), 0.0, 0)
    model = SolverModel(problem, obs)
    model.nuisance = [Unknown(name="k", guess=0.1, transform="identity")]
    with pytest.raises(ValueError, match=r"repeat a name: \['k'\]"):
        classical_fit(model, problem, obs, 0.0, {"k": 0.3}, 30)


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
    assert ", identifiable: the data identify k (± " in report["verdict"]["k"]
    assert "; PINN is " in report["verdict"]["k"]
    assert report["verdict"]["k"].endswith(" bounds (30 %) from the classical fit: do not trust "
                                           "it yet")
    # the verdict line says it; no warning repeats it
    assert not any("do not trust" in w or "off the classical fit" in w
                   for w in report["warnings"])
    # heat1d's k has transform log: its interval is positive, computed in log k
    iv = report["interval"]["k"]
    assert set(iv) == {"center", "data_std", "data_source", "equation_std", "classical_gap",
                       "network_std", "std", "interval95"}
    lo, hi = iv["interval95"]
    assert 0 < lo < 0.07 < hi
    assert hi / 0.07 == pytest.approx(0.07 / lo)
    assert "on a log scale)" in report["verdict"]["k"]


def _classical(rel_std=0.0008, rms=0.01):
    """A classical fit of k = 0.1 with Cramér–Rao std 0.1 x rel_std, the noise std 0.01."""
    return {"estimate": {"k": 0.1}, "crlb_std": {"k": 0.1 * rel_std},
            "crlb_rel_std": {"k": rel_std}, "rms_residual": rms, "sigma": 0.01,
            "sigma_source": "configured noise (data.noise x std(field))"}


@pytest.mark.parametrize("pinn, says", [
    (0.10003, "identifiable: the data identify k (± 0.08 %); PINN agrees with the classical fit "
              "(0.4 bounds)"),
    # 6.2 bounds but only 0.5 % off: the data identify k, the PINN has not found it
    (0.100496, "identifiable: the data identify k (± 0.08 %); PINN is 6.2 bounds (0.5 %) "
               "from the classical fit: do not trust it yet")])
def test_a_verdict_says_what_the_data_identify_and_whether_the_pinn_agrees(pinn, says):
    line = verdict({"classical": _classical()}, {"k": pinn}, 0.05)["k"]
    assert line.endswith(", " + says)


def test_a_weak_verdict_and_a_reference_model_that_misses_the_data():
    weak = verdict({"classical": _classical(rel_std=0.3)}, {"k": 0.12}, 0.05)["k"]
    assert ", WEAKLY identifiable: the data barely constrain it; PINN agrees with the " \
        "classical fit (0.7 bounds)" in weak
    misfit = verdict({"classical": _classical(rms=0.12)}, {"k": 0.1}, 0.05)["k"]
    assert misfit.endswith(", the reference model does not fit these data (misfit 12× the "
                           "noise)")
    assert ", identifiable" not in misfit


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
    logs = {"params.csv": {"step": steps, "phase": ["identify"] * 10,
                           "k": [0.5] * 5 + [0.3, 0.25, 0.2, 0.2, 0.2],
                           "dL:data/dk": [1.0] * 10},
            "losses.csv": {"step": steps, "phase": ["identify"] * 10, "total": [1.0] * 10,
                           "data": [1e-3] * 10},
            "grad_norms.csv": {"step": steps, "lambda:data": [1.0] * 9 + [5e4]}}
    w = " ".join(training_warnings(problem, {"k": 0.2}, logs))
    assert "pinned at a bound" in w and "lambda:data reached 5e+04: that term dominates" in w
    assert "bound the weights (weighting.max_weight, 1000 unless set)" in w


def _logs(k, total, dk=1.0):
    """Logs of a run with 2000 identify steps then 1000 L-BFGS steps, a row every 100 steps:
    k and the total loss as functions of the step."""
    steps = list(range(0, 3001, 100))
    phase = ["identify" if s < 2000 else "lbfgs" for s in steps]
    return {"params.csv": {"step": steps, "phase": phase, "k": [k(s) for s in steps],
                           "dL:heat/dk": [dk] * len(steps)},
            "losses.csv": {"step": steps, "phase": phase, "total": [total(s) for s in steps]}}


def test_a_run_whose_unknown_still_moves_is_told_with_numbers():
    # k rises 1e-5 per step: from 0.128 to 0.130 over the L-BFGS tail (steps 2800-3000)
    logs = _logs(lambda s: 0.1 * (1 + 1e-4 * s), lambda s: 0.9 ** (s / 100))
    w = training_warnings(_problem(), {"k": 0.13}, logs)
    assert len(w) == 1
    assert w[0].startswith("k moved 1.5 % over the last 200 steps of the 'lbfgs' phase")
    assert "loss still falling 10 % per 100 steps" in w[0]
    assert "schedule.lbfgs_steps" in w[0]


def test_a_converged_run_gets_no_convergence_warning():
    # moved 0.3 % over the tail (the most a completed default run moves), the loss still
    # falling under L-BFGS as it does in those runs
    k = lambda s: 0.1 * (1 + 1.5e-5 * max(s - 2800, 0))  # noqa: E731
    w = training_warnings(_problem(), {"k": 0.1}, _logs(k, lambda s: 0.92 ** (s / 100)))
    assert w == []


def test_an_unknown_near_zero_is_not_flagged_as_negligible():
    # truth 1e-6: |dL/dk| x |k| is tiny, |dL/dk| x the guess's magnitude is not
    logs = _logs(lambda s: 1e-6, lambda s: 1.0, dk=1e-3)
    assert training_warnings(_problem(), {"k": 1e-6}, logs) == []
    logs = _logs(lambda s: 1e-6, lambda s: 1.0, dk=1e-9)
    assert "stayed negligible" in " ".join(training_warnings(_problem(), {"k": 1e-6}, logs))


class _Parabola:
    """A stand-in re-fit whose objective and data misfit are exactly m0 + c (k - k_star)^2."""

    def __init__(self, k_star, c, m0=1e-4):
        self.k_star, self.c, self.m0, self.calls = k_star, c, m0, []

    def __call__(self, name, value, steps):
        self.calls.append((name, value, steps))
        self.last_data_mse = self.m0 + self.c * (value - self.k_star) ** 2
        return self.last_data_mse


def test_profile_of_an_exact_parabola_gives_its_centre_and_width():
    from pinn_cli.diagnostics.profile import Z95, profile

    # deviance N c (k - k*)^2 / sigma2 with sigma2 = m0 (noise below the misfit): std = sqrt(m0/(N c))
    n, m0, c, k_star = 1000, 1e-4, 2.0, 0.1002
    refit = _Parabola(k_star, c, m0)
    p = profile(refit, "k", 0.1, n, noise_var=0.0, rel_step=0.01, points=[-2, -1, 1, 2],
                steps=7)
    assert {(name, steps) for name, _, steps in refit.calls} == {("k", 7)}
    expected_std = np.sqrt(m0 / (n * c))
    assert not p["flat"]
    assert p["center"] == pytest.approx(k_star, rel=1e-9)
    # sigma2 is the misfit at the estimate 0.1 (slightly above m0: 0.1 is not the minimum)
    assert p["sigma2"] == pytest.approx(m0 + c * (0.1 - k_star) ** 2)
    assert p["std"] == pytest.approx(np.sqrt(p["sigma2"] / (n * c)), rel=1e-9)
    assert p["std"] == pytest.approx(expected_std, rel=1e-3)
    lo, hi = p["interval95"]
    assert (hi - lo) / 2 == pytest.approx(Z95 * p["std"])
    assert len(p["values"]) == 5 and 0.1 in p["values"]


def test_a_flat_profile_is_reported_as_flat():
    from pinn_cli.diagnostics.profile import profile

    p = profile(_Parabola(0.1, 0.0), "k", 0.1, 1000, noise_var=1e-4, rel_step=0.01,
                points=[-1, 1], steps=1)
    assert p["flat"] and "interval95" not in p


class _TwoMisfits(_Parabola):
    """A stand-in re-fit whose objective J rises c_total (k - k*)^2 while its data misfit
    alone rises only c_data (k - k*)^2 (the network trading the residual for the data)."""

    def __init__(self, k_star, c_total, c_data, m0=1e-4):
        super().__init__(k_star, c_total, m0)
        self.c_data = c_data

    def __call__(self, name, value, steps):
        objective = super().__call__(name, value, steps)
        self.last_data_mse = self.m0 + self.c_data * (value - self.k_star) ** 2
        return objective


def test_profile_deviance_reads_the_objective_and_sigma_the_data_misfit():
    from pinn_cli.diagnostics.profile import profile

    n, m0, k_star = 1000, 1e-4, 0.1
    p = profile(_TwoMisfits(k_star, 8.0, 0.5, m0), "k", k_star, n, noise_var=0.0,
                rel_step=0.01, points=[-2, -1, 1, 2], steps=1)
    assert p["sigma2"] == pytest.approx(m0)  # the data misfit at the estimate
    assert p["std"] == pytest.approx(np.sqrt(m0 / (n * 8.0)), rel=1e-9)  # J's curvature
    assert p["data_mse"][0] == pytest.approx(m0 + 0.5 * (0.02 * k_star) ** 2)
    assert p["objective"][0] == pytest.approx(m0 + 8.0 * (0.02 * k_star) ** 2)


def test_refit_returns_the_weighted_loss_in_the_datas_units(float64):
    import torch

    from pinn_cli.training.losses import Losses
    from pinn_cli.problem.unknowns import Unknowns
    from pinn_cli.model.nets import MLP
    from pinn_cli.diagnostics.profile import Refit

    problem = _problem()  # heat1d: terms data, heat, left, right
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, generator=g, dtype=torch.float64) * torch.tensor([1.0, 0.5])
    cond = [x[:16].clone(), x[16:32].clone()]
    cond[0][:, 0], cond[1][:, 0] = 0.0, 1.0
    y = torch.sin(torch.pi * x[:, :1])
    losses = Losses(problem, x, y, ["u"], x, cond)
    torch.manual_seed(0)
    net = MLP([(0.0, 1.0), (0.0, 0.5)], [0.0], [1.0], width=8, depth=2).double()
    unknowns = Unknowns(problem.unknowns)
    lambdas = {"data": 30.0, "heat": 1.0, "left": 2.0, "right": 1.0}
    refit = Refit(net, unknowns, losses, lambdas)

    j0 = refit("k", 0.2, steps=0)
    with torch.no_grad():
        terms = losses(net, {"k": torch.tensor(0.2, dtype=torch.float64)})
    assert refit.last_data_mse == pytest.approx(float(terms["data"]), rel=1e-12)
    assert j0 == pytest.approx(float(sum(lambdas[k] * v for k, v in terms.items())) / 30.0,
                               rel=1e-12)
    assert j0 > refit.last_data_mse  # the residual's share is in it
    assert refit("k", 0.2, steps=20) < j0  # the re-fit lowers it
    assert float(unknowns.physical()["k"].detach()) == pytest.approx(0.5)  # trained state kept


class _Gaussian2:
    """A stand-in re-fit of two unknowns with objective and misfit m0 + ½ dᵀ H d, d = k − k*:
    holding one at a value, the other goes to its conditional minimum, as a re-fit would."""

    def __init__(self, cov, k_star=(0.1, 2.0), m0=1e-4):
        self.h, self.k_star, self.m0 = np.linalg.inv(np.asarray(cov)), np.asarray(k_star), m0
        self.names, self.last_unknowns = ("a", "b"), {}

    def __call__(self, name, value, steps):
        i = self.names.index(name)
        j = 1 - i
        d = np.zeros(2)
        d[i] = value - self.k_star[i]
        d[j] = -self.h[j, i] / self.h[j, j] * d[i]
        k = self.k_star + d
        self.last_unknowns = dict(zip(self.names, map(float, k)))
        self.last_data_mse = self.m0 + 0.5 * float(d @ self.h @ d)
        return self.last_data_mse


@pytest.mark.parametrize("r", [-0.8, 0.0, 0.6])
def test_profile_traces_give_the_correlation(r):
    from pinn_cli.diagnostics.profile import correlation, profile

    sa, sb = 1e-3, 5e-2
    refit = _Gaussian2([[sa * sa, r * sa * sb], [r * sa * sb, sb * sb]])
    profiles = {name: profile(refit, name, est, 1000, 1e-4, 0.01, [-2, -1, 1, 2], 5)
                for name, est in (("a", 0.1), ("b", 2.0))}
    assert profiles["a"]["trace"]["b"] and "a" in profiles["b"]["trace"]
    corr = correlation(profiles)
    assert corr["a"]["b"] == corr["b"]["a"] == pytest.approx(r, abs=1e-6)


def test_no_correlation_from_a_flat_profile():
    from pinn_cli.diagnostics.profile import correlation

    flat = {"flat": True, "values": [1, 2], "trace": {"b": [1, 1]}}
    assert correlation({"a": flat, "b": flat | {"trace": {"a": [1, 2]}}}) == {}


CLASSICAL = {"estimate": {"k": 0.1003}, "crlb_rel_std": {"k": 0.004}, "crlb_std": {"k": 0.0004},
             "rms_residual": 0.01, "sigma": 0.01, "sigma_source": "configured noise (x)"}
PROFILE = {"flat": False, "center": 0.1, "std": 0.0004, "interval95": [0.0992, 0.1008]}


def test_the_network_error_is_the_larger_of_the_gap_and_the_equation_std():
    from pinn_cli.diagnostics.verdicts import interval, verdict
    from pinn_cli.diagnostics.profile import Z95

    iv = interval("k", 0.1, CLASSICAL, PROFILE, 0.0001, 0.05)
    assert iv["classical_gap"] == pytest.approx(0.0003)
    assert iv["network_std"] == pytest.approx(0.0003)  # the gap beats the equation std
    assert iv["std"] == pytest.approx(0.0005)  # sqrt(0.0004² + 0.0003²)
    assert iv["interval95"] == pytest.approx([0.1 - Z95 * 0.0005, 0.1 + Z95 * 0.0005])
    assert interval("k", 0.1, CLASSICAL, PROFILE, 0.003, 0.05)["network_std"] == 0.003
    line = verdict({"interval": {"k": iv}, "profile": {"k": PROFILE}, "classical": CLASSICAL},
                   {"k": 0.1}, 0.05)["k"]
    assert "0.1 ± 0.0005 (profile 0.0004, network 0.0003; 95 %" in line
    assert f"[{0.1 - Z95 * 0.0005:.6g}, {0.1 + Z95 * 0.0005:.6g}]" in line


def test_without_profile_or_classical_fit_the_interval_is_the_equation_std_and_says_so():
    from pinn_cli.diagnostics.verdicts import interval, verdict

    iv = interval("k", 0.1, {"skipped": "no solver"}, None, 0.002, 0.05)
    assert iv["data_std"] is None and iv["std"] == pytest.approx(0.002)
    line = verdict({"interval": {"k": iv}, "classical": {"skipped": "no solver"}}, {"k": 0.1},
                   0.05)["k"]
    assert "the data's noise not included, network 0.002" in line
    assert "no classical cross-check (no solver)" in line


def test_the_cramer_rao_std_stands_in_for_the_profile_in_quick_diagnostics():
    from pinn_cli.diagnostics.verdicts import interval

    iv = interval("k", 0.1, CLASSICAL, None, 0.0, 0.05)
    assert iv["data_source"] == "Cramér–Rao" and iv["data_std"] == 0.0004
    assert iv["std"] == pytest.approx(0.0005)
    weak = CLASSICAL | {"crlb_rel_std": {"k": 0.3}}  # does not identify k: no gap, no CRLB
    iv = interval("k", 0.1, weak, None, 0.0002, 0.05)
    assert iv["classical_gap"] is None and iv["std"] == pytest.approx(0.0002)


def test_a_flat_profile_or_an_unreached_unknown_has_no_interval_and_a_warning():
    from pinn_cli.diagnostics.verdicts import interval, interval_warnings

    flat = interval("k", 0.1, CLASSICAL, PROFILE | {"flat": True}, 0.0001, 0.05)
    unreached = interval("c", 2.0, {}, None, float("inf"), 0.05)
    assert flat["interval95"] is None and unreached["interval95"] is None
    warnings = interval_warnings({"k": flat, "c": unreached}, CLASSICAL, 0.05)
    assert len(warnings) == 2 and all("no interval" in w for w in warnings)


def test_a_loose_pinn_estimate_is_warned_about_and_a_biased_one_told_once():
    from pinn_cli.diagnostics.verdicts import interval, interval_warnings, verdict

    loose = interval("k", 0.1, {}, None, 0.004, 0.05)  # ± 7.8 % at 95 %
    [w] = interval_warnings({"k": loose}, {}, 0.05)
    assert "determined only to ± 7.8 %" in w and "equation error" in w
    # 30 % off the classical fit: the verdict line says so, the warnings only that the
    # interval (which holds the gap) is wide
    far = interval("k", 0.13, CLASSICAL, None, 0.0, 0.05)
    [w] = interval_warnings({"k": far}, CLASSICAL, 0.05)
    assert w.startswith("k is determined only to ± 45 % (95 %)") and "classical" not in w
    line = verdict({"interval": {"k": far}, "classical": CLASSICAL}, {"k": 0.13}, 0.05)["k"]
    assert line.endswith("; PINN is 74.2 bounds (30 %) from the classical fit: do not trust it "
                         "yet")
    assert interval_warnings({"k": interval("k", 0.1, CLASSICAL, PROFILE, 0.0001, 0.05)},
                             CLASSICAL, 0.05) == []


def test_full_diagnostics_profile_the_pinn_and_say_so(tmp_path):
    import json

    from conftest import QUICK, run_cli, run_dirs, summary

    r = run_cli(QUICK + ["diagnostics=full", "diagnostics.refit_steps=20", "data.noise=0.01",
                         "diagnostics.points=[-1,1]", "plots=false"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    prof = json.loads((run / "identifiability.json").read_text())["profile"]["k"]
    assert len(prof["values"]) == 3 and len(prof["deviance"]) == 3
    assert min(prof["deviance"]) == 0.0 and all(np.isfinite(prof["data_mse"]))
    assert (run / "profile.png").is_file()
    ident = summary(run)["identifiability"]
    verdict, iv = ident["verdicts"]["k"], ident["intervals"]["k"]
    if prof["flat"]:  # a short run: the re-fit may find no curvature
        assert "(flat)" in verdict and iv["interval95"] is None
        assert any("k: no interval" in w for w in ident["warnings"])
    else:
        lo, hi = iv["interval95"]
        assert f"95 % [{lo:.6g}, {hi:.6g}], −" in verdict and "(profile " in verdict
        assert 0 < lo and "on a log scale)" in verdict  # heat1d's k has transform log
        assert iv["std"] >= iv["network_std"] > 0
    assert "classical" in verdict


def test_a_log_unknown_gets_a_positive_interval_computed_in_log_k():
    """k = 0.01 known only to ± 77 % (1 std): symmetric in k the interval reaches below 0; in
    log k it is [k e^(−1.96 σ_log), k e^(+1.96 σ_log)] with σ_log = std / k."""
    from pinn_cli.diagnostics.profile import Z95
    from pinn_cli.diagnostics.verdicts import interval, interval_warnings, verdict

    iv = interval("k", 0.01, {}, None, 0.0077, 0.05, log_scale=True)
    lo, hi = iv["interval95"]
    assert lo > 0
    assert lo == pytest.approx(0.01 * np.exp(-Z95 * 0.77), rel=1e-12)
    assert hi == pytest.approx(0.01 * np.exp(Z95 * 0.77), rel=1e-12)
    assert iv["std"] == pytest.approx(0.0077) and iv["network_std"] == pytest.approx(0.0077)
    line = verdict({"interval": {"k": iv}, "classical": {"skipped": "no solver"}},
                   {"k": 0.01}, 0.05, log_scale={"k"})["k"]
    assert ("0.01 ± 0.0077 (the data's noise not included, network 0.0077; 95 % "
            f"[{lo:.6g}, {hi:.6g}], −78 %/+352 % on a log scale)") in line
    [w] = interval_warnings({"k": iv}, {}, 0.05, log_scale={"k"})
    assert w.startswith("k is determined only to −78 %/+352 % (95 %)")


def test_a_log_interval_combines_the_same_sources_as_relative_errors():
    """Cramér–Rao std 0.0004 and the gap 0.0003 to the classical fit, around 0.1: σ_log =
    sqrt(0.004² + 0.003²) = 0.005, the relative std of the symmetric interval."""
    from pinn_cli.diagnostics.profile import Z95
    from pinn_cli.diagnostics.verdicts import interval

    sym = interval("k", 0.1, CLASSICAL, None, 0.0001, 0.05)
    log = interval("k", 0.1, CLASSICAL, None, 0.0001, 0.05, log_scale=True)
    assert {k: v for k, v in log.items() if k != "interval95"} == \
        {k: v for k, v in sym.items() if k != "interval95"}
    assert log["interval95"] == pytest.approx([0.1 * np.exp(-Z95 * 0.005),
                                               0.1 * np.exp(Z95 * 0.005)], rel=1e-12)
    prof = interval("k", 0.1, CLASSICAL, PROFILE, 0.0001, 0.05, log_scale=True)
    assert prof["center"] == 0.1 and prof["data_source"] == "profile"
    assert prof["interval95"] == pytest.approx(log["interval95"], rel=1e-12)


@pytest.mark.parametrize("rel", [0.01, 0.001])
def test_a_log_interval_agrees_with_the_symmetric_one_to_first_order(rel):
    """At 1 % relative std the bounds differ by (1.96 × 1 %)² / 2 ≈ 1.9e-4 of the centre, a
    second-order term; at 0.1 % by 100 times less."""
    from pinn_cli.diagnostics.profile import Z95
    from pinn_cli.diagnostics.verdicts import interval

    k = 0.37
    sym = interval("k", k, {}, None, rel * k, 0.05)["interval95"]
    log = interval("k", k, {}, None, rel * k, 0.05, log_scale=True)["interval95"]
    for a, b in zip(sym, log):
        assert b == pytest.approx(a, rel=2.5 * rel ** 2)
        assert (b - a) / k == pytest.approx((Z95 * rel) ** 2 / 2, rel=0.02)


def test_a_non_log_unknown_keeps_its_symmetric_interval():
    from pinn_cli.diagnostics.profile import Z95
    from pinn_cli.diagnostics.verdicts import interval, interval_warnings, verdict

    iv = interval("k", 0.01, {}, None, 0.0077, 0.05)
    assert iv["interval95"] == [0.01 - Z95 * 0.0077, 0.01 + Z95 * 0.0077]  # below 0: allowed
    line = verdict({"interval": {"k": iv}, "classical": {"skipped": "no solver"}},
                   {"k": 0.01}, 0.05, log_scale={"c"})["k"]
    assert line.endswith(f"95 % [{iv['interval95'][0]:.6g}, {iv['interval95'][1]:.6g}]), no "
                         "classical cross-check (no solver)")
    [w] = interval_warnings({"k": iv}, {}, 0.05, log_scale={"c"})
    assert w.startswith("k is determined only to ± 151 % (95 %)")


def test_a_log_unknown_with_a_profile_centred_below_zero_has_no_interval():
    from pinn_cli.diagnostics.verdicts import interval, interval_warnings

    iv = interval("k", 0.1, {}, PROFILE | {"center": -0.01}, 0.0001, 0.05, log_scale=True)
    assert iv["std"] is None and iv["interval95"] is None
    [w] = interval_warnings({"k": iv}, {}, 0.05, log_scale={"k"})
    assert w.startswith("k: no interval")
