"""Data that the reference solver cannot reproduce (here made from another initial state than
the one heat1d's solver is told) get "the reference model does not fit these data", never a
false verdict; told the right initial state, the same data get a correct one."""
import json

import pytest

from conftest import QUICK, run_cli, run_data

FIT = QUICK + ["data.n_obs=null", "diagnostics.max_iterations=30"]
OTHER = "pde.reference.options.modes=[[2,1.0]]"  # u(x,0) = sin(2 pi x)


@pytest.fixture(scope="module")
def other_start(tmp_path_factory):
    """heat1d data with 1 % noise from u(x,0) = sin(2 pi x) on a 21 x 11 grid."""
    root = tmp_path_factory.mktemp("misfit")
    r = run_data(["pde=heat1d", OTHER, "pde.reference.grid={x: 21, t: 11}", "noise=0.01",
                  "out=other.h5"], root)
    assert r.returncode == 0, r.stdout + r.stderr
    return root


@pytest.mark.parametrize("told, says", [
    ([], "the reference model does not fit these data (misfit "),
    ([OTHER], "identifiable: the data identify k")])
def test_data_from_another_initial_state(other_start, tmp_path, told, says):
    r = run_cli([*FIT, "data.file=" + str(other_start / "other.h5"), *told,
                 f"hydra.run.dir={tmp_path / 'run'}"], other_start)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "run" / "identifiability.json").read_text())
    line = report["verdict"]["k"]
    assert says in line, line
    assert "WEAKLY" not in line
    if told:
        c = report["classical"]
        assert abs(c["estimate"]["k"] - 0.1) < 4 * c["crlb_std"]["k"]
