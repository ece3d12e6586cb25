"""Hostile input, generated (hypothesis): malformed HDF5 files and malformed overrides end in one
clear message (PinnFitError, which the CLI prints as one line with exit code 2, or Hydra's own
one-line config error, exit code 1), never another exception, and write nothing."""
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
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

register()

MUTATIONS = ["delete", "rename", "rank", "short", "nan", "inf", "empty", "int", "string",
             "complex", "group", "scalar", "axes_attr", "transpose"]
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
        if not isinstance(f.get(name), h5py.Dataset):
            return
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
        else:  # what was accepted is usable: finite, matching shapes
            assert obs.x.shape[0] == obs.y.shape[0] > 0 and obs.x.shape[1] == 2
            assert np.isfinite(obs.x).all() and np.isfinite(obs.y).all()
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
