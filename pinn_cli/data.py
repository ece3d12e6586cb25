"""Observations from HDF5 (the `data` config group).

Two layouts:
- *grid*: one 1-D dataset per input (e.g. ``x`` (256,), ``t`` (100,)) and a field array on their
  product grid (``usol`` (256, 100)); the field's ``axes`` attribute names its axes in order
  (input or dataset names), otherwise they are matched by length.
- *scattered*: equal-length 1-D columns, one per input and one per field.

``n_obs`` points are drawn at random with their own seed and Gaussian noise of std
``noise * std(field)`` is added (the protocol of Raissi et al. 2019). File attributes named like
an unknown (e.g. ``nu``) are the truth the run reports against.
"""
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np

from pinn_cli.errors import PinnFitError


@dataclass
class Observations:
    x: np.ndarray  # (N, n_inputs), columns in the problem's input order
    y: np.ndarray  # (N, n_fields) noisy values
    fields: List[str]  # observed fields, columns of y
    file: str
    n_available: int
    truth: Dict[str, float] = field(default_factory=dict)


def resolve_file(path: str) -> Path:
    """A path as given (absolute, or relative to the current folder); failing that, a file of the
    same name among the data shipped with pinn-fit (so `data/heat1d.h5` works from anywhere)."""
    p = Path(path).expanduser()
    if p.exists() or p.is_absolute():
        return p
    shipped = Path(str(importlib.resources.files("pinn_cli.datasets") / p.name))
    return shipped if shipped.is_file() else p


def read_observations(file, coords, fields, inputs, outputs, unknowns, layout="grid",
                      n_obs=None, noise=0.0, seed=0, domain=None) -> Observations:
    path = resolve_file(file)
    _check_names(coords, fields, inputs, outputs)
    if not path.exists():
        raise PinnFitError(f"data.file: '{file}' does not exist (looked in {Path.cwd()} and in "
                           "the shipped data); pass data.file=PATH/TO/FILE.h5")
    if path.is_dir():
        raise PinnFitError(f"data.file: '{path}' is a directory; pass the HDF5 file inside it")
    try:
        with h5py.File(path, "r") as h5:
            xs, ys = _read_grid(h5, coords, fields) if layout == "grid" else \
                _read_scattered(h5, coords, fields) if layout == "scattered" else \
                _bad_layout(layout)
            truth = {k: float(np.asarray(h5.attrs[k])) for k in unknowns if k in h5.attrs}
    except OSError as err:
        raise PinnFitError(f"data.file: cannot read '{path}' as HDF5 ({err}); check the path "
                           "and that the file is an HDF5 file readable by you") from None
    x = np.stack([xs[i] for i in inputs], axis=1)
    y = np.stack([ys[f] for f in fields], axis=1)
    _check_domain(x, inputs, domain)
    n = len(x)
    rng = np.random.default_rng(seed)
    if n_obs is not None:
        if not 0 < n_obs <= n:
            raise PinnFitError(f"data.n_obs={n_obs}, but '{path}' has {n} points; choose "
                               f"1..{n}, or data.n_obs=null for all")
        keep = rng.choice(n, size=n_obs, replace=False)
        x, y = x[keep], y[keep]
    if noise < 0:
        raise PinnFitError(f"data.noise={noise} must be >= 0 (a fraction of std(field))")
    if noise > 0:
        y = y + noise * y.std(axis=0) * rng.standard_normal(y.shape)
    return Observations(x, y, list(fields), str(path), n, truth)


def _check_names(coords, fields, inputs, outputs):
    missing = [i for i in inputs if i not in coords]
    extra = [c for c in coords if c not in inputs]
    if missing or extra:
        raise PinnFitError(f"data.coords must map every pde input {inputs} to a dataset; "
                           f"missing {missing}, not inputs {extra}")
    if not fields:
        raise PinnFitError("data.fields is empty: map at least one pde output to a dataset")
    bad = [f for f in fields if f not in outputs]
    if bad:
        raise PinnFitError(f"data.fields names {bad}, which are not pde outputs {outputs}")


def _bad_layout(layout):
    raise PinnFitError(f"data.layout={layout!r}: choose grid or scattered")


def _dataset(h5, name, where) -> np.ndarray:
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        have = []
        h5.visit(lambda k: have.append(k) if isinstance(h5[k], h5py.Dataset) else None)
        raise PinnFitError(f"{where}: dataset '{name}' is not in '{h5.filename}', which has "
                           f"{have}; set {where}=<one of those>")
    arr = h5[name][()]
    if not np.issubdtype(np.asarray(arr).dtype, np.number) or np.iscomplexobj(arr):
        raise PinnFitError(f"{where}: dataset '{name}' holds {np.asarray(arr).dtype}, not real "
                           "numbers")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size == 0:
        raise PinnFitError(f"{where}: dataset '{name}' is empty")
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise PinnFitError(f"{where}: dataset '{name}' has {bad} NaN/Inf values; remove or fill "
                           "them before fitting")
    return arr


def _column(arr, name, where):
    arr = np.squeeze(arr)
    if arr.ndim != 1:
        raise PinnFitError(f"{where}: dataset '{name}' must be 1-D, has shape {arr.shape}")
    return arr


def _read_scattered(h5, coords, fields):
    xs = {i: _column(_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
          for i, d in coords.items()}
    ys = {f: _column(_dataset(h5, d, f"data.fields.{f}"), d, f"data.fields.{f}")
          for f, d in fields.items()}
    lengths = {k: len(v) for k, v in (xs | ys).items()}
    if len(set(lengths.values())) != 1:
        raise PinnFitError(f"data: scattered columns must have equal lengths, got {lengths}; "
                           "check data.coords/data.fields or use data.layout=grid")
    return xs, ys


def _read_grid(h5, coords, fields):
    axes = {i: _column(_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
            for i, d in coords.items()}
    inputs = list(coords)
    xs, ys = None, {}
    for f, d in fields.items():
        arr = _dataset(h5, d, f"data.fields.{f}")
        order = _axis_order(h5[d], arr.shape, axes, coords, f"data.fields.{f}")
        arr = np.transpose(arr, [order.index(i) for i in inputs])
        ys[f] = arr.reshape(-1)
        if xs is None:
            mesh = np.meshgrid(*(axes[i] for i in inputs), indexing="ij")
            xs = {i: m.reshape(-1) for i, m in zip(inputs, mesh)}
    return xs, ys


def _axis_order(ds, shape, axes, coords, where) -> List[str]:
    """The input name of each axis of a grid field."""
    by_name = {d: i for i, d in coords.items()} | {i: i for i in coords}
    if "axes" in ds.attrs:
        names = [a.decode() if isinstance(a, bytes) else str(a) for a in ds.attrs["axes"]]
        order = [by_name.get(a) for a in names]
        if None in order or sorted(order) != sorted(coords):
            raise PinnFitError(f"{where}: its 'axes' attribute {names} does not name the inputs "
                               f"{list(coords)} (or their datasets) once each")
    else:
        lengths = {i: len(a) for i, a in axes.items()}
        if len(set(lengths.values())) < len(lengths):
            raise PinnFitError(f"{where}: cannot tell which axis of shape {shape} is which "
                               f"input (lengths {lengths}); add an 'axes' attribute to the "
                               "dataset naming its axes in order")
        order = [next((i for i in coords if lengths[i] == n), None) for n in shape]
        if None in order:
            order = list(coords)  # reported as a shape mismatch below
    expected = tuple(len(axes[i]) for i in order)
    if len(shape) != len(coords) or tuple(shape) != expected:
        raise PinnFitError(f"{where}: shape {tuple(shape)} does not match the coordinate lengths "
                           f"{ {i: len(axes[i]) for i in coords} } in axis order {order}")
    return order


def _check_domain(x, inputs, domain):
    if domain is None:
        return
    for j, name in enumerate(inputs):
        lo, hi = domain[name]
        pad = 1e-6 * (hi - lo)
        if x[:, j].min() < lo - pad or x[:, j].max() > hi + pad:
            raise PinnFitError(f"observations span {name} in [{x[:, j].min():g}, "
                               f"{x[:, j].max():g}], outside pde.inputs.{name}=[{lo:g}, {hi:g}]; "
                               "widen the domain or pass matching data")
