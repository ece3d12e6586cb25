"""End-to-end runs of the `pinn-fit` command in a temporary folder."""
import csv
import time

import h5py
import numpy as np
import pytest

from conftest import QUICK, REPO, run_cli, run_dirs, summary


def _header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_default_problem_run_writes_documented_folder(tmp_path):
    launched = time.time()
    r = run_cli(QUICK + ["plots=true"], tmp_path)
    ended = time.time()
    assert r.returncode == 0, r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    assert run.parent.parent.name == "outputs"  # outputs/<date>/<time>
    for name in ("params.csv", "losses.csv", "grad_norms.csv", "summary.json", "checkpoint.pt",
                 "params.png", "losses.png", "grad_norms.png", ".hydra/config.yaml",
                 ".hydra/overrides.yaml", "pinn-fit.log"):
        assert (run / name).is_file(), name
    terms = ["data", "heat", "left", "right"]
    assert _header(run / "params.csv") == ["step", "phase", "elapsed_s", "k"] + \
        [f"dL:{t}/dk" for t in terms]
    assert _header(run / "losses.csv") == ["step", "phase", "elapsed_s", "total"] + terms
    assert _header(run / "grad_norms.csv") == ["step", "phase"] + \
        [f"{s}:{t}" for t in terms for s in ("max", "mean", "lambda")]
    rows = _rows(run / "params.csv")
    assert rows[0]["step"] == "0" and rows[-1]["step"] == "600"
    assert [r["phase"] for r in rows].count("pretrain") == 2  # steps 0 and 100
    assert [r["phase"] for r in rows] == sorted([r["phase"] for r in rows],
                                                key=["pretrain", "identify", "lbfgs"].index)
    assert all(float(r["k"]) == 0.5 for r in rows if r["phase"] == "pretrain")
    assert float(rows[0]["dL:heat/dk"]) != 0.0 and float(rows[0]["dL:data/dk"]) == 0.0
    s = summary(run)
    assert s["status"] == "completed"
    assert s["steps"] == {"pretrain": 100, "identify": 300, "lbfgs": 200}
    # the training clock starts after the process's start-up, and its rows fit in the run
    assert launched < s["clock_start_unix"] < launched + 30
    assert s["clock_start_unix"] + float(rows[-1]["elapsed_s"]) < ended
    k = s["unknowns"]["k"]
    assert k["truth"] == pytest.approx(0.1)
    assert k["estimate"] == pytest.approx(float(rows[-1]["k"]))
    assert k["rel_error"] == pytest.approx(abs(k["estimate"] - 0.1) / 0.1)
    assert float(rows[3]["k"]) != 0.5  # identify moved k (accuracy: tests/test_accuracy.py)
    for png in run.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_annealing_sweep_leaves_complete_folders(tmp_path):
    short = ["schedule.pretrain_steps=20", "schedule.identify_steps=40", "log_every=10",
             "schedule.lbfgs_steps=0",
             "arch.depth=2", "collocation.n_points=100", "data.n_obs=100", "plots=false"]
    r = run_cli(["-m", "weighting=fixed,annealing", "seed=0,1"] + short, tmp_path)
    assert r.returncode == 0, r.stderr
    runs = run_dirs(tmp_path / "multirun")
    assert len(runs) == 4
    for run in runs:
        assert summary(run)["status"] == "completed"
        overrides = (run / ".hydra/overrides.yaml").read_text()
        lam = [float(r["lambda:data"]) for r in _rows(run / "grad_norms.csv")]
        if "weighting=annealing" in overrides:
            assert lam[-1] != lam[0]
        else:
            assert set(lam) == {1.0}


def _bad_file(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["t"] = np.linspace(0, 1, 5), np.linspace(0, 0.5, 4)
        u = np.ones((5, 4))
        u[2, 2] = np.nan
        f["usol"] = u
    return path


@pytest.mark.parametrize("args,message", [
    (["data.file=missing.h5"], "data.file: 'missing.h5' does not exist"),
    (["data.fields.u=temperature"], "dataset 'temperature' is not in"),
    (["data.file=BAD"], "1 NaN/Inf values"),
    (["pde.residuals.heat=u_t - kappa*u_xx"], "symbol 'kappa'"),
    (["pde.residuals.heat='u_t - k*(u_xx'"], "cannot parse equation"),
    (["data.n_obs=999999"], "data.n_obs=999999"),
    (["schedule.identify_steps=0", "schedule.lbfgs_steps=0"], "no phase trains the unknowns"),
    (["collocation.resample_every=-5"], "collocation.resample_every=-5: give 0 (never)"),
    (["schedule._target_=nope.Schedule"],
     "schedule._target_=nope.Schedule cannot be imported (No module named 'nope')"),
    (["arch._target_=pinn_cli.model.nets.Nope"], "arch._target_=pinn_cli.model.nets.Nope cannot be imported "
     "(module 'pinn_cli.model.nets' has no attribute 'Nope')"),
    # refused before the training, not by the diagnostics after it
    (["pde.reference.solver=nope.solve"],
     "pde.reference.solver=nope.solve cannot be imported (No module named 'nope')"),
    (["+pde.residuals.extra={_target_: nope.f, needs: [u_t]}"],
     "pde.residuals.extra._target_=nope.f cannot be imported (No module named 'nope')"),
])
def test_bad_input_gives_one_message(tmp_path, args, message):
    args = [a.replace("BAD", str(_bad_file(tmp_path))) for a in args]
    r = run_cli(QUICK + args, tmp_path)
    assert r.returncode == 2, r.stderr
    out = r.stdout + r.stderr
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_diverging_run_is_recorded_and_exits_nonzero(tmp_path):
    r = run_cli(["schedule.pretrain_steps=5", "schedule.identify_steps=50", "log_every=1",
                 "schedule.lbfgs_steps=0",
                 "schedule.unknowns_lr=1e4", "plots=false"], tmp_path)
    assert r.returncode == 3, r.stderr
    assert "diverged" in r.stdout + r.stderr and "Traceback" not in r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "diverged" and "NaN/Inf" in s["error"]
    assert len(_rows(run / "params.csv")) >= 1  # what was logged stays


def test_full_traceback_on_request(tmp_path):
    r = run_cli(["data.file=missing.h5"], tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert r.returncode != 0
    assert "Traceback" in r.stderr and "PinnFitError" in r.stderr


def test_run_folders_never_collide(tmp_path):
    short = ["schedule.pretrain_steps=2", "schedule.identify_steps=2", "schedule.lbfgs_steps=2",
             "plots=false",
             "arch.depth=1", "collocation.n_points=10", "data.n_obs=10"]
    for _ in range(2):
        assert run_cli(short, tmp_path).returncode == 0
    runs = run_dirs(tmp_path / "outputs")
    assert len(runs) == 2 and runs[0] != runs[1]


def test_existing_run_is_not_overwritten(tmp_path):
    short = ["schedule.pretrain_steps=2", "schedule.identify_steps=2", "schedule.lbfgs_steps=2",
             "plots=false",
             "arch.depth=1", "collocation.n_points=10", "data.n_obs=10"]
    target = tmp_path / "myrun"
    assert run_cli(short + [f"hydra.run.dir={target}"], tmp_path).returncode == 0
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    r = run_cli(short + ["seed=1", f"hydra.run.dir={target}"], tmp_path)
    assert r.returncode == 2 and "already holds a run" in r.stdout + r.stderr
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_adaptive_weighting_under_an_lbfgs_only_schedule_is_warned_about(tmp_path):
    r = run_cli(["pde=burgers1d", "weighting=annealing", "schedule.steps=3",
                 "schedule.finish_steps=2", "data.n_obs=50", "collocation.n_points=50",
                 "diagnostics=off", "plots=false"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = " ".join((r.stdout + r.stderr).split())  # rich wraps long lines
    assert "weighting=annealing adapts the loss weights during Adam steps only" in out
    (run,) = run_dirs(tmp_path / "outputs")
    assert summary(run)["steps"] == {"lbfgs": 3, "lbfgs_float64": 2}


@pytest.mark.parametrize("command", ["pinn-fit", "pinn-data", "pinn-basis", "pinn-query",
                                     "pinn-inspect"])
def test_version_is_the_packages_own(tmp_path, command):
    import re

    version = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M)[1]
    r = run_cli(["--version"], tmp_path, command=command)
    assert r.returncode == 0 and r.stdout.strip() == f"{command} {version}", r.stdout + r.stderr


def test_a_sweep_with_cfg_gets_one_message(tmp_path):
    r = run_cli(["-m", "seed=0,1", "--cfg", "job"], tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--cfg prints the config of one run; drop -m" in r.stderr


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """`pinn-fit --help | head`: the reader stops early; no traceback, the pipe's exit code."""
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.Popen([str(Path(sys.executable).parent / "pinn-fit"), "--help"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141) and "Traceback" not in err, err
