"""A pde YAML of the user's own, without a reference solver, gets the classical cross-check from
the generic solver (the shipped heat1d data come from the exact series solution, independent of
the method of lines), or a verdict line that says why it cannot."""
import json

import pytest

from conftest import QUICK, REPO, run_cli

SHORT = QUICK + ["schedule.pretrain_steps=50", "schedule.identify_steps=200",
                 "schedule.lbfgs_steps=100", "data=heat1d"]
INITIAL = "  initial: {at: {t: 0.0}, equation: u - sin(pi*x) - 0.5*sin(3*pi*x)}\n"


def _own_heat(tmp_path, extra=""):
    """conf/pde/heat1d.yaml as the user's my_heat.yaml: no reference solver, `extra` conditions."""
    text = (REPO / "conf" / "pde" / "heat1d.yaml").read_text()
    text = text[:text.index("reference:")].replace("name: heat1d", "name: my_heat")
    (tmp_path / "myconf" / "pde").mkdir(parents=True)
    (tmp_path / "myconf" / "pde" / "my_heat.yaml").write_text(text + extra)


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
