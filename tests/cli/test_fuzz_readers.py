"""pinn-fit on CSV, NPZ and MATLAB files: a sensor-log CSV fits; each malformed file (the ones
of tests/unit/io/test_readers.py) stops with exit code 2 and one message, before training, with
no traceback."""
import importlib.util

import numpy as np
import pytest

from conftest import REPO, run_cli, run_dirs, summary

_spec = importlib.util.spec_from_file_location("readers_cases",
                                               REPO / "tests/unit/io/test_readers.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

TINY = ["schedule.pretrain_steps=10", "schedule.identify_steps=20", "schedule.lbfgs_steps=10",
        "diagnostics=off", "plots=false", "arch.depth=2", "arch.width=10",
        "collocation.n_points=200"]


def test_pinn_fit_on_a_sensor_log_csv_completes(tmp_path):
    ref = cases._read(cases.HEAT, n_obs=400, seed=2)
    rows = np.c_[ref.x, ref.y[:, 0]]
    cases._csv(tmp_path / "log.csv", ["position", "time", "temperature"], rows,
               comment="# heat sensor log\n")
    r = run_cli(TINY + ["data.file=log.csv", "data.coords.x=position", "data.coords.t=time",
                        "data.fields.u=temperature", "data.n_obs=null"], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Traceback" not in out, out
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed" and s["unknowns"]["k"]["truth"] is None


FUZZ = ["bad_header", "missing_column", "non_numeric", "ragged", "empty", "nan_csv",
        "cell_mat", "struct_mat", "truncated_npz", "unknown_extension", "csv_named_npz", "npy",
        "ambiguous_npz", "ambiguous_mat"]


@pytest.mark.parametrize("kind", FUZZ)
def test_malformed_files_end_in_one_message(tmp_path, kind):
    path, kw = cases._write(tmp_path, kind)
    extra = [f"data.{k}={v}" for k, v in kw.items()]
    r = run_cli(TINY + [f"data.file={path.name}", "data.coords.x=x", "data.coords.t=t",
                        "data.fields.u=usol", "data.n_obs=null", *extra], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 2 and "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, out
    flat = " ".join(out.split())
    assert all(part in flat for part in cases.CASES[kind]), out
    for run in run_dirs(tmp_path / "outputs"):
        assert not (run / "params.csv").exists()  # refused before training
