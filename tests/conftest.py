import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# A short schedule on a small network: the run-folder mechanics, not the accuracy.
QUICK = ["schedule.pretrain_steps=100", "schedule.identify_steps=300", "schedule.lbfgs_steps=200",
         "arch.depth=3", "arch.width=20", "collocation.n_points=500", "data.n_obs=300",
         "plots=false"]


def run_cli(args, cwd, env=None, timeout=600, command=None):
    """Run `pinn-fit ARGS` (or the installed console script `command`) in `cwd` as a user
    would; returns the CompletedProcess."""
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env |= {"PYTHONUNBUFFERED": "1"} | (env or {})
    exe = [str(Path(sys.executable).parent / command)] if command else \
        [sys.executable, "-m", "pinn_cli"]
    return subprocess.run([*exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def run_inspect(args, cwd):
    """`pinn-inspect ARGS` in `cwd`, in this process (a subprocess's start-up is most of its
    cost): its exit code, stdout and stderr as the command line gives them, a SystemExit
    message on stderr."""
    from pinn_cli.cli.inspection import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as stop:
            if isinstance(stop.code, str):
                err.write(stop.code + "\n")
            code = 1 if isinstance(stop.code, str) else stop.code or 0
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def run_data(args, cwd, **kwargs):
    """Run `pinn-data ARGS` in `cwd`."""
    return run_cli(args, cwd, command="pinn-data", **kwargs)


def run_dirs(root: Path):
    return sorted(p.parent.parent for p in Path(root).rglob(".hydra/config.yaml"))


def summary(run_dir: Path):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def grid_file(tmp_path):
    """A small heat-equation grid file: x (21,), t (11,), usol (21, 11), truth k = 0.1."""
    from pinn_cli.solvers import heat1d_series

    def make(name="grid.h5", axes=True, transpose=False, **mutate):
        x, t = np.linspace(0, 1, 21), np.linspace(0, 0.5, 11)
        u = heat1d_series(x, t, 0.1)
        path = tmp_path / name
        with h5py.File(path, "w") as f:
            f["x"], f["t"] = x, t
            f["usol"] = u.T if transpose else u
            if axes:
                f["usol"].attrs["axes"] = ["t", "x"] if transpose else ["x", "t"]
            f.attrs["k"] = 0.1
            for k, v in mutate.items():
                del f[k]
                f[k] = v
        return path

    return make


@contextlib.contextmanager
def _single_thread():
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture
def one_thread():
    """Tiny nets gain nothing from threads, and on a 2-core machine busy with another job OpenMP
    hand-offs dominate (measured: the derivative checks took 0.9 s on 1 thread, 33 s on 2)."""
    with _single_thread():
        yield


@pytest.fixture(scope="module")
def one_thread_module():
    """`one_thread` for module-scoped fixtures, which are set up before function-scoped ones:
    one thread also makes their results independent of the worker's thread count (a basis
    trained on two threads rounds differently)."""
    with _single_thread():
        yield


@pytest.fixture
def float64():
    """torch's default dtype float64 for one test."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
