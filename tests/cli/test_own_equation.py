"""A pde YAML of the user's own, without a reference solver, gets the classical cross-check from
the generic solver (the shipped heat1d data come from the exact series solution, independent of
the method of lines), or a verdict line that says why it cannot; pinn-data makes its data with
the same generic solver where the initial state is declared."""
import json

import pytest
import yaml

from conftest import QUICK, REPO, run_cli, run_data

SHORT = QUICK + ["schedule.pretrain_steps=50", "schedule.identify_steps=200",
                 "schedule.lbfgs_steps=100", "data=heat1d"]
INITIAL = "  initial: {at: {t: 0.0}, equation: u - sin(pi*x) - 0.5*sin(3*pi*x)}\n"


def _own_heat(tmp_path, extra=""):
    """conf/pde/heat1d.yaml as the user's my_heat.yaml: no reference solver, `extra` conditions."""
    text = (REPO / "conf" / "pde" / "heat1d.yaml").read_text()
    text = text[:text.index("reference:")].replace("name: heat1d", "name: my_heat")
    (tmp_path / "myconf" / "pde").mkdir(parents=True)
    (tmp_path / "myconf" / "pde" / "my_heat.yaml").write_text(text + extra)


@pytest.mark.slow  # about 16 s: in CI's short slow form
def test_the_generic_solver_gives_the_users_equation_a_classical_fit(tmp_path):
    _own_heat(tmp_path, INITIAL)
    r = run_cli(["--config-dir", "myconf", "pde=my_heat", *SHORT, "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "run" / "identifiability.json").read_text())
    classical = report["classical"]
    assert classical["reference"].startswith("method of lines in x (401 points")
    assert classical["estimate"]["k"] == pytest.approx(0.1, rel=5e-4)  # truth of the data
    assert classical["coarse_estimate"]["k"] == pytest.approx(0.1, rel=2e-3)
    assert ", classical (generic solver) 0.1" in report["verdict"]["k"]


def test_what_the_generic_solver_cannot_do_is_in_the_verdict_line(tmp_path):
    _own_heat(tmp_path)  # no initial condition, and sparse observations: no initial state
    r = run_cli(["--config-dir", "myconf", "pde=my_heat", *SHORT, "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "run" / "identifiability.json").read_text())
    line = report["verdict"]["k"]
    assert "no classical cross-check (the problem names no reference solver, and the generic " \
           "one cannot help: no condition at t = 0 fixes u" in line
    assert "the initial state is unknown" in line


OWN = REPO / "docs" / "examples"
TINY = ["schedule.pretrain_steps=20", "schedule.identify_steps=50", "schedule.lbfgs_steps=20",
        "arch.depth=3", "arch.width=20", "collocation.n_points=300", "plots=false"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)  # 14-16 s each: in
                                  for n in ("my_lorenz", "my_two_species", "my_kdv")])  # CI's slow form
def test_an_equation_written_only_as_yaml_gets_a_classical_estimate_and_bound(tmp_path, name):
    """docs/examples/pde: a Lorenz-type ODE system (4 unknowns, 25 observations), two species
    with D = 2e-3, and KdV (u_xxx), each with 1 % noise made by pinn-data's generic solver; the
    PINN is barely trained, so the verdict's classical part is what is checked: the truth within
    4 Cramér–Rao stds of the classical estimate, each unknown identified."""
    r = run_data(["--config-dir", str(OWN), f"pde={name}", "noise=0.01", f"out={name}.h5"],
                 tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli(["--config-dir", str(OWN), f"pde={name}", *TINY, "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    truth = yaml.safe_load((OWN / "pde" / f"{name}.yaml").read_text())["reference"]["truth"]
    report = json.loads((tmp_path / "run" / "identifiability.json").read_text())
    classical = report["classical"]
    for k, value in truth.items():
        est, std = classical["estimate"][k], classical["crlb_std"][k]
        assert abs(est - value) < 4 * std < 0.05 * abs(value), (k, est, std)
        assert f", classical (generic solver) {est:.6g} ± " in report["verdict"][k]
        assert "identifiable: the data identify" in report["verdict"][k]


def test_pinn_data_needs_the_initial_state_declared_for_the_generic_solver(tmp_path):
    _own_heat(tmp_path, "reference: {truth: {k: 0.1}, grid: {x: 21, t: 11}}\n")
    r = run_data(["--config-dir", "myconf", "pde=my_heat", "data=heat1d", "out=my.h5"], tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    message = r.stdout + r.stderr
    assert "pde.reference names no solver, and the generic solver built from the equations " \
           "cannot make these data: no condition at t = 0 fixes u" in " ".join(message.split())
    assert not (tmp_path / "my.h5").exists()
