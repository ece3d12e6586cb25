"""Hostile input, generated (hypothesis): malformed HDF5 files and malformed overrides end in one
clear message (PinnFitError, which the CLI prints as one line with exit code 2, or Hydra's own
one-line config error, exit code 1), never another exception, and write nothing. Through pinn-fit
itself: hostile files (broken links, missing virtual sources, terabyte declared shapes) and
degenerate data stop before training with one message; a bad truth attribute only warns."""
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf.errors import OmegaConfBaseException

from pinn_cli.schema import register
from pinn_cli.io.observations import read_observations
from pinn_cli.errors import PinnFitError
from pinn_cli.workflows.build import build

from conftest import QUICK, run_cli, run_dirs, summary

register()

MUTATIONS = ["delete", "rename", "rank", "short", "nan", "inf", "empty", "int", "string",
             "complex", "group", "scalar", "axes_attr", "transpose", "constant", "tiny", "huge",
             "soft_link", "external_link", "virtual", "truth"]
BAD_TRUTH = [np.nan, np.inf, "0.1", np.array([0.1, 0.2]), 1j, np.bool_(True)]
DATASETS = ["x", "t", "usol"]


def _valid(path, nx, nt):
    x, t = np.linspace(0, 1, nx), np.linspace(0, 0.5, nt)
    with h5py.File(path, "w") as f:
        f["x"], f["t"] = x, t
        f["usol"] = np.sin(np.pi * x)[:, None] * np.exp(-t)[None, :]
        f["usol"].attrs["axes"] = ["x", "t"]
        f.attrs["k"] = 0.1


def _mutate(path, what, name, where, draw_bytes):
    if what == "not_hdf5":
        path.write_bytes(draw_bytes)
        return
    if what == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        return
    if what == "directory":
        path.unlink()
        path.mkdir()
        return
    with h5py.File(path, "a") as f:
        if what == "truth":
            f.attrs["k"] = BAD_TRUTH[where % len(BAD_TRUTH)]
            return
        if not isinstance(f.get(name), h5py.Dataset) or f[name].size > 10 ** 6:
            return  # nothing to mutate, or declared too large to read (mutation "huge")
        arr = f[name][()]
        del f[name]
        if what == "delete":
            return
        if what == "rename":
            f[name + "_old"] = arr
        elif what == "rank":
            f[name] = arr[..., None, None]
        elif what == "short":
            f[name] = arr[:-1] if arr.ndim else arr
        elif what in ("nan", "inf"):
            flat = np.array(np.real(arr), dtype=np.float64).reshape(-1)
            if flat.size:
                flat[where % flat.size] = np.nan if what == "nan" else -np.inf
            f[name] = flat.reshape(np.shape(arr))
        elif what == "empty":
            f[name] = np.zeros((0,))
        elif what == "int":
            with np.errstate(invalid="ignore"):  # an earlier NaN/Inf mutation casts to garbage
                f[name] = np.round(np.real(np.asarray(arr)) * 10).astype(np.int32)
        elif what == "string":
            f[name] = np.array([b"a", b"b"])
        elif what == "complex":
            f[name] = np.asarray(arr) + 1j
        elif what == "group":
            f.create_group(name)
        elif what == "scalar":
            f[name] = 1.0
        elif what == "axes_attr":
            f[name] = arr
            f[name].attrs["axes"] = ["x", "x"] if where % 2 else ["a", "b", "c"]
        elif what == "transpose":
            f[name] = np.asarray(arr).T
        elif what == "constant":
            f[name] = np.full(np.shape(arr), float(where))
        elif what == "tiny":
            f[name] = 1e-35 * np.real(np.asarray(arr, dtype=complex))
        elif what == "huge":  # 8 TB declared, nothing written
            f.create_dataset(name, shape=(10 ** 12,) if where % 2 else (10 ** 6, 10 ** 6),
                             dtype="f8", chunks=True)
        elif what == "soft_link":
            f[name] = h5py.SoftLink("/nowhere")
        elif what == "external_link":
            f[name] = h5py.ExternalLink("missing.h5", "/" + name)
        elif what == "virtual":
            layout = h5py.VirtualLayout(shape=np.shape(arr) or (1,), dtype="f8")
            layout[...] = h5py.VirtualSource("missing.h5", name, shape=np.shape(arr) or (1,))
            f.create_virtual_dataset(name, layout, fillvalue=np.nan if where % 2 else 0.0)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nx=st.integers(1, 6), nt=st.integers(1, 6),
    mutations=st.lists(st.tuples(st.sampled_from(MUTATIONS + ["not_hdf5", "truncated",
                                                              "directory"]),
                                 st.sampled_from(DATASETS), st.integers(0, 100)),
                       min_size=1, max_size=3),
    junk=st.binary(min_size=0, max_size=64),
    layout=st.sampled_from(["grid", "scattered", "auto", "pdebench", "bogus"]),
    n_obs=st.one_of(st.none(), st.integers(-2, 50)),
    noise=st.one_of(st.floats(-1, 1), st.sampled_from([float("nan"), float("inf")])),
)
def test_malformed_files_give_one_message(nx, nt, mutations, junk, layout, n_obs, noise):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "obs.h5"
        _valid(path, nx, nt)
        for what, name, where in mutations:
            try:
                _mutate(path, what, name, where, junk)
            except (OSError, ValueError, TypeError):  # already broken beyond this mutation
                break
        before = sorted(os.listdir(tmp))
        try:
            obs = read_observations(str(path), {"x": "x", "t": "t"}, {"u": "usol"}, ["x", "t"],
                                    ["u"], ["k"], layout=layout, n_obs=n_obs, noise=noise,
                                    domain={"x": (0.0, 1.0), "t": (0.0, 0.5)})
        except PinnFitError as err:
            assert str(err) and "\n" not in str(err)
        else:  # what was accepted is usable: finite, matching shapes, not degenerate
            assert obs.x.shape[0] == obs.y.shape[0] > 1 and obs.x.shape[1] == 2
            assert np.isfinite(obs.x).all() and np.isfinite(obs.y).all()
            for v in (*obs.x.T, *obs.y.T):
                assert np.ptp(v) > 1e-12 * np.abs(v).max() and np.ptp(v) > 0
            assert np.abs(obs.y).max() >= 1e-30
            assert set(obs.truth) <= {"k"} and all(np.isfinite(list(obs.truth.values())))
        assert sorted(os.listdir(tmp)) == before


OVERRIDES = {
    "data.n_obs": st.one_of(st.integers(-3, 600).map(str), st.just("null"), st.just("abc")),
    "data.noise": st.sampled_from(["-0.1", "0.02", "nan", "inf", "x"]),
    "data.file": st.sampled_from(["missing.h5", "''", "/", "data", "README.md"]),
    "data.layout": st.sampled_from(["grid", "scattered", "auto", "pdebench", "xyz", "''"]),
    "data.sample": st.sampled_from(["0", "1", "-1", "a"]),
    "data.coords.x": st.sampled_from(["x", "t", "usol", "nope"]),
    "data.fields.u": st.sampled_from(["usol", "x", "0", "nope"]),
    "pde.inputs.x": st.sampled_from(["[0,1]", "[1,0]", "[0]", "[0,0]", "abc", "[a,b]"]),
    "pde.unknowns.k.guess": st.sampled_from(["0.5", "0", "-1", "nan", "inf", "abc"]),
    "pde.unknowns.k.transform": st.sampled_from(["log", "identity", "scaled", "exp"]),
    "pde.unknowns.k.scale": st.sampled_from(["1", "0", "-2", "1e-3"]),
    "pde.unknowns.k.bounds": st.sampled_from(["[0,1]", "[1,0]", "[0.6,1]", "[0]", "null"]),
    "pde.residuals.heat": st.text(alphabet="uktx_*+-/()^ 0123456789=.,", min_size=0,
                                  max_size=20).map(lambda s: f"'{s}'"),
    "pde.conditions.left.at": st.sampled_from(["{x: 0.0}", "{y: 0}", "{}", "abc"]),
    "arch.width": st.integers(-2, 30).map(str),
    "arch.depth": st.integers(-2, 5).map(str),
    "arch.activation": st.sampled_from(["tanh", "sin", "relu", "softmax", ""]),
    "schedule.lr": st.sampled_from(["1e-3", "0", "-1", "nan"]),
    "schedule.pretrain_steps": st.integers(-5, 5).map(str),
    "schedule.lbfgs_steps": st.integers(-5, 5).map(str),
    "collocation.n_points": st.integers(-5, 600).map(str),
    "collocation.n_condition_points": st.integers(-2, 50).map(str),
    "collocation.sampler": st.sampled_from(["sobol", "uniform", "halton"]),
    "precision": st.sampled_from(["float32", "float64", "float16"]),
    "device": st.sampled_from(["cpu", "cuda", "tpu"]),
    "weighting": st.sampled_from(["fixed", "annealing", "bogus"]),
    "arch": st.sampled_from(["mlp", "modified_mlp", "cnn"]),
    "pde": st.sampled_from(["heat1d", "burgers1d", "nope"]),
    "typo": st.sampled_from(["seeed=1", "arch.widht=3", "data.nobs=5", "+unknown=1"]),
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.sampled_from(sorted(OVERRIDES)), min_size=1, max_size=3, unique=True),
       data=st.data())
def test_malformed_overrides_give_one_message(picks, data):
    overrides = []
    for key in picks:
        value = data.draw(OVERRIDES[key], label=key)
        overrides.append(value if key == "typo" else f"{key}={value}")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            with initialize_config_module("pinn_cli.conf", version_base="1.3"):
                cfg = compose("config", overrides=overrides)
            from pinn_cli.targets import call
            from pinn_cli.workflows.build import setup_torch

            device = setup_torch(cfg)
            build(cfg, device)
            call(cfg.weighting)
            call(cfg.schedule)
        except (PinnFitError, HydraException, OmegaConfBaseException) as err:
            assert str(err)
        finally:
            os.chdir(cwd)
            torch.set_default_dtype(torch.float32)
        assert os.listdir(tmp) == []


# --- hostile and degenerate files through pinn-fit -------------------------------------------
TINY = [q for q in QUICK if not q.startswith(("schedule.", "data.n_obs"))] + [
    "schedule.pretrain_steps=5", "schedule.identify_steps=5", "schedule.lbfgs_steps=2",
    "diagnostics=off"]


def _heat_file(path, **change):
    """A valid heat1d grid file (truth k = 0.1), then `change`: name -> a function of the open
    file and the dataset's name that writes the replacement."""
    _valid(path, 21, 11)
    with h5py.File(path, "a") as f:
        for name, write in change.items():
            if name in f:
                del f[name]
            write(f, name)
    return path


def _virtual(f, name):
    layout = h5py.VirtualLayout(shape=(21, 11), dtype="f8")
    layout[...] = h5py.VirtualSource("gone.h5", "u", shape=(21, 11))
    f.create_virtual_dataset(name, layout, fillvalue=0.0)


def _set(value):
    def write(f, name):
        f[name] = value
    return write


HOSTILE = {
    "huge": ({"usol": lambda f, n: f.create_dataset(n, shape=(10 ** 6, 10 ** 6), dtype="f8",
                                                    chunks=True)}, [],
             "data.fields.u: dataset 'usol' in 'obs.h5' declares shape (1000000, 1000000) of "
             "float64, 8 TB once read as 64-bit floats, more than half of the"),
    "soft_link": ({"usol": _set(h5py.SoftLink("/nowhere"))}, [],
                  "data.fields.u: dataset 'usol' in 'obs.h5' cannot be opened: 'usol' is a soft "
                  "link to '/nowhere', which does not exist"),
    "external_link": ({"t": _set(h5py.ExternalLink("gone.h5", "/t"))}, [],
                      "data.coords.t: dataset 't' in 'obs.h5' cannot be opened: 't' is an "
                      "external link to '/t' in file 'gone.h5', which is missing"),
    "virtual": ({"usol": _virtual}, [],
                "data.fields.u: dataset 'usol' in 'obs.h5' is a virtual dataset, and its source "
                "file 'gone.h5' is missing"),
    "constant": ({"usol": _set(np.full((21, 11), 2.5))}, [],
                 "'usol' in 'obs.h5' is constant (all 231 values equal 2.5): nothing can be "
                 "fitted"),
    "tiny": ({"usol": _set(1e-33 * np.ones((21, 1)) * np.linspace(1, 2, 11))}, [],
             "its largest |u| is 2e-33, below 1e-30, where 32-bit floats lose precision"),
    "one_time": ({"t": _set(np.array([0.2])), "usol": _set(np.ones((21, 1)) *
                                                         np.linspace(1, 2, 21)[:, None])}, [],
                 "data.coords.t: all 21 points of 'obs.h5' have t = 0.2"),
    "one_observation": ({}, ["data.n_obs=1"],
                        "data: only 1 observation in the 1 points drawn from 'obs.h5'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_and_degenerate_files_give_one_message_before_training(tmp_path, case):
    change, extra, message = HOSTILE[case]
    _heat_file(tmp_path / "obs.h5", **change)
    r = run_cli(TINY + ["data.file=obs.h5", *extra], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 2 and "Traceback" not in out, out
    assert message in " ".join(out.split()), out
    assert len([line for line in out.splitlines() if line.startswith("ERROR")]) == 1, out
    assert not run_dirs(tmp_path / "outputs")  # refused before training: no run folder stays


@pytest.mark.parametrize("value", [np.nan, -np.inf, "0.1", np.array([0.1, 0.2])])
def test_a_bad_truth_attribute_is_ignored_with_one_warning_and_the_run_goes_on(tmp_path, value):
    _heat_file(tmp_path / "obs.h5")
    with h5py.File(tmp_path / "obs.h5", "a") as f:
        f.attrs["k"] = value
    r = run_cli(TINY + ["data.file=obs.h5", "data.n_obs=100"], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Traceback" not in out, out
    warned = [line for line in out.splitlines() if "attribute 'k' of 'obs.h5'" in line]
    assert len(warned) == 1 and warned[0].startswith("WARNING"), out
    assert "truth of k is unknown" in " ".join(out.split())
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed" and s["unknowns"]["k"]["truth"] is None
