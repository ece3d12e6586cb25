"""The Python API (pinn_cli.api): the same runs as the command line, in the calling process."""
import json
import logging
import signal

import h5py
import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

import pinn_cli as pf
from pinn_cli.errors import PinnFitError
from conftest import QUICK


def _heat_points(n=400, seed=0):
    """n scattered points of the heat1d series solution (k = 0.1)."""
    from pinn_cli.solvers import heat1d_series

    rng = np.random.default_rng(seed)
    x, t = rng.uniform(0, 1, n), rng.uniform(0, 0.5, n)
    u = np.array([heat1d_series(np.array([a]), np.array([b]), 0.1)[0, 0] for a, b in zip(x, t)])
    return x, t, u


def test_fit_writes_the_run_folder_and_returns_what_it_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    handlers, threads = logging.getLogger().handlers[:], torch.get_num_threads()
    sigint = signal.getsignal(signal.SIGINT)
    result = pf.fit("heat1d", QUICK, folder="run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert result.folder == tmp_path / "run" and result.status == "completed"
    assert result.estimates["k"] == summary["unknowns"]["k"]["estimate"]
    assert result.truth["k"] == 0.1
    assert result.errors["k"] == pytest.approx(abs(result.estimates["k"] - 0.1) / 0.1)
    assert result.verdicts["k"] == summary["identifiability"]["verdicts"]["k"]
    lo, hi = result.intervals["k"]
    assert lo < result.estimates["k"] < hi
    assert result.losses == summary["final_losses"]
    assert result.trajectories["k"][-1] == pytest.approx(result.estimates["k"], rel=1e-6)
    assert (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text().startswith("- pde=heat1d")
    assert "k = " in str(result) and str(tmp_path / "run") in str(result)
    # nothing of the run is left in the process: a second call composes afresh
    assert logging.getLogger().handlers == handlers and torch.get_num_threads() == threads
    assert signal.getsignal(signal.SIGINT) is sigint and not GlobalHydra.instance().is_initialized()
    assert result.report is None  # plots=false: no report.html
    plotted = [o for o in QUICK if o != "plots=false"]
    again = pf.fit("heat1d", plotted, folder="again")
    assert again.estimates == result.estimates
    assert again.report == tmp_path / "again" / "report.html" and again.report.is_file()
    read_back = pf.inspect(tmp_path / "run")
    assert read_back == result
    assert all((read_back.trajectories[k] == v).all() for k, v in result.trajectories.items())
    ended = pf.fit(resume=str(tmp_path / "run"))  # nothing left to do: the same run
    assert ended.estimates == result.estimates


def test_observations_in_memory_give_the_file_s_estimate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, t, u = _heat_points()
    with h5py.File(tmp_path / "same.h5", "w") as f:
        f["x"], f["t"], f["u"] = x, t, u
        f.attrs["k"] = 0.1
    from_file = pf.fit("heat1d", [*QUICK, "data.file=same.h5", "data.fields={u:u}", "data.layout=scattered",
                                  "data.n_obs=null"], folder="file")
    in_memory = pf.fit("heat1d", QUICK[:-2] + ["plots=false"], folder="memory",
                       data={"x": x, "t": t, "u": u}, truth={"k": 0.1})
    written = list((tmp_path / "data").glob("memory-*.h5"))
    assert len(written) == 1
    assert json.loads((tmp_path / "memory" / "summary.json").read_text())["data_file"] == \
        str(written[0])
    assert in_memory.truth == {"k": 0.1}
    assert in_memory.estimates["k"] == pytest.approx(from_file.estimates["k"], rel=1e-9)


def test_data_in_memory_that_does_not_fit_the_problem_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, t, u = _heat_points(20)
    with pytest.raises(PinnFitError, match=r"inputs \['x', 't'\].*\(no \['t'\]\)"):
        pf.fit("heat1d", QUICK, data={"x": x, "u": u})
    with pytest.raises(PinnFitError, match="lengths x 20, t 19, u 20"):
        pf.fit("heat1d", QUICK, data={"x": x, "t": t[:-1], "u": u})
    with pytest.raises(PinnFitError, match=r"data\['u'\] is <U1"):
        pf.fit("heat1d", QUICK, data={"x": x, "t": t, "u": np.array(["a"] * 20)})
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "data").exists()


def test_bad_input_raises_one_message_and_overwrites_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PinnFitError, match="schedule.identfy_steps"):
        pf.fit("heat1d", ["schedule.identfy_steps=3"])
    with pytest.raises(PinnFitError, match="a list of key=value strings"):
        pf.fit("heat1d", "plots=false")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(PinnFitError, match="already holds files that are not pinn-fit's"):
        pf.fit("heat1d", QUICK, folder="taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    with pytest.raises(PinnFitError, match="not a pinn-fit run folder"):
        pf.inspect(tmp_path / "taken")
    with pytest.raises(PinnFitError, match="pass only resume="):
        pf.fit("heat1d", resume="taken")
    with pytest.raises(PinnFitError, match=r"drop \['seed=3'\].*only the logger"):
        pf.fit(resume="taken", overrides=["seed=3"])
    assert not GlobalHydra.instance().is_initialized()


def test_generate_writes_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = pf.generate("heat1d", "heat.h5", ["noise=0.01", "sampling=scattered", "n_points=50"])
    with h5py.File(out) as f:
        assert f.attrs["noise"] == 0.01 and f.attrs["k"] == 0.1 and len(f["usol"]) == 50


def test_the_example_notebook_runs_and_its_estimates_are_the_run_folder_s(tmp_path):
    """The notebook's code cells as one script, with a short schedule set after its
    `parameters` cell (the papermill convention)."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    notebook = json.loads((REPO / "docs/examples/python_api.ipynb").read_text())
    lines = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            lines.append("".join(cell["source"]))
            if "parameters" in cell["metadata"].get("tags", []):
                lines.append(f"overrides = {QUICK!r}")
    lines.append("import json\nsummary = json.load(open('runs/heat1d/summary.json'))\n"
                 "assert result.estimates['k'] == summary['unknowns']['k']['estimate']\n"
                 "assert noisy.truth == {'k': 0.1} and noisy.status == 'completed'\n"
                 "print('notebook ok')")
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], cwd=tmp_path,
                          env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "notebook ok" in done.stdout
    assert (tmp_path / "heat_noisy.h5").is_file() and list((tmp_path / "data").glob("memory-*.h5"))


def test_the_same_data_as_hdf5_csv_npz_and_mat_give_the_same_estimate(tmp_path, monkeypatch):
    """heat1d's shipped grid written in each input format, fitted with the same seed."""
    import scipy.io
    from conftest import REPO

    monkeypatch.chdir(tmp_path)
    with h5py.File(REPO / "data" / "heat1d.h5", "r") as f:
        x, t, u = f["x"][()], f["t"][()], f["usol"][()]  # usol[i, j] = u(x_i, t_j)
    xx, tt = np.meshgrid(x, t, indexing="ij")
    rows = np.c_[xx.ravel(), tt.ravel(), u.ravel()]
    np.savetxt("heat.csv", rows, delimiter=",", header="x,t,usol", comments="", fmt="%.17g")
    np.savez("heat.npz", x=x, t=t, usol=u, axes=np.array(["x", "t"]))
    scipy.io.savemat("heat.mat", {"x": x, "t": t, "usol": u, "axes": "x,t"})
    tiny = QUICK + ["schedule.pretrain_steps=20", "schedule.identify_steps=60",
                    "schedule.lbfgs_steps=20", "diagnostics=off"]
    files = {"h5": REPO / "data" / "heat1d.h5", "csv": "heat.csv", "npz": "heat.npz",
             "mat": "heat.mat"}
    k = {name: pf.fit("heat1d", tiny + [f"data.file={file}"], folder=name).estimates["k"]
         for name, file in files.items()}
    assert k["h5"] != 0.5  # moved from its guess
    for name in ("csv", "npz", "mat"):
        assert k[name] == pytest.approx(k["h5"], rel=1e-9), k
