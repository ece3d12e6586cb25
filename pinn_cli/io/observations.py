"""Observations from HDF5 (the `data` config group).

Four layouts (``data.layout``):
- *grid*: one 1-D dataset per input (e.g. ``x`` (256,), ``t`` (100,)) and a field array on their
  product grid (``usol`` (256, 100)); the field's ``axes`` attribute names its axes in order
  (input or dataset names), otherwise they are matched by length.
- *scattered*: equal-length 1-D columns, one per input and one per field.
- *auto*: the one of these two the file's ``layout`` attribute names (pinn-data writes it), else
  grid.
- *pdebench*: PDEBench's tensor files (1D_Advection, 1D_Burgers, 1D/2D CFD, ...): a field of shape
  [samples, t, x(, y)(, channels)] and 1-D coordinates ``t-coordinate``, ``x-coordinate``
  (``y-coordinate``); ``data.sample`` picks the sample (axis 0).
- *pdebench_grouped*: PDEBench's files with one group per seed (``0000``, ``0001``, ...: 2D
  diffusion-reaction, shallow water, diffusion-sorption), each holding ``data`` of shape
  [t, x(, y), channels] and ``grid/t``, ``grid/x`` (``grid/y``); ``data.sample`` picks the group
  by position in sorted name order (sample=3 is the fourth group, usually ``0003``).

In the two PDEBench layouts the field's axes are ordered t, x, y, z, and each input's axis is
found from the name of its coordinate dataset (``data.coords.x=x-coordinate`` or ``grid/x``: the
part after the last ``/``, less ``-coordinate``). ``data.fields`` maps each output either to a
dataset name, whose array is the field itself ([samples, t, x(, y)] or, grouped, [t, x(, y)]; a
trailing channel axis of length 1 is dropped), e.g. ``{u: tensor}`` or ``{rho: density}``; or to a
channel index (an integer, or a string of digits), which picks that channel of the trailing
channel axis of ``tensor`` (pdebench) or ``data`` (pdebench_grouped), e.g. ``{u: "0", v: "1"}``.
Only the chosen sample is read from disk.

``n_obs`` points are drawn at random with their own seed and Gaussian noise of std
``noise * std(field)`` is added (the protocol of Raissi et al. 2019). File attributes named like
an unknown (e.g. ``nu``) are the truth the run reports against (grouped files: the chosen group's
attributes first, then the file's; other attributes, such as PDEBench's ``config``, are ignored).
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
                      n_obs=None, noise=0.0, seed=0, domain=None, sample=0) -> Observations:
    if file in (None, "", "???"):
        raise PinnFitError(f"data.file is not set: the data option for layout {layout!r} names no "
                           "file; pass data.file=PATH/TO/FILE.h5")
    fields = {f: str(d) for f, d in fields.items()}
    path = resolve_file(file)
    _check_names(coords, fields, inputs, outputs)
    if layout not in READERS:
        _bad_layout(layout)
    if sample != 0 and layout in ("auto", "grid", "scattered"):
        raise PinnFitError(f"data.sample={sample} applies to the pdebench layouts only; a "
                           f"{layout} file holds one sample: drop data.sample")
    if not path.exists():
        raise PinnFitError(f"data.file: '{file}' does not exist (looked in {Path.cwd()} and in "
                           "the shipped data); pass data.file=PATH/TO/FILE.h5")
    if path.is_dir():
        raise PinnFitError(f"data.file: '{path}' is a directory; pass the HDF5 file inside it")
    try:
        with h5py.File(path, "r") as h5:
            xs, ys, attrs = READERS[layout](h5, coords, fields, sample)
            truth = {}
            for k in unknowns:
                owner = next((a for a in attrs if k in a), None)
                if owner is not None:
                    truth[k] = float(np.asarray(owner[k]))
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
    if not 0 <= noise < np.inf:
        raise PinnFitError(f"data.noise={noise} must be a finite number >= 0 (a fraction of "
                           "std(field))")
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
    raise PinnFitError(f"data.layout={layout!r}: choose auto, grid or scattered (your own "
                       "files), or "
                       "pdebench or pdebench_grouped (PDEBench files)")


def _where(h5) -> str:
    return f"'{h5.file.filename}'" + (f" (group '{h5.name}')" if h5.name != "/" else "")


def _get(h5, name, where) -> h5py.Dataset:
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        have = []
        h5.visit(lambda k: have.append(k) if isinstance(h5[k], h5py.Dataset) else None)
        raise PinnFitError(f"{where}: dataset '{name}' is not in {_where(h5)}, which has "
                           f"{have}; set {where}=<one of those>")
    return h5[name]


def _dataset(h5, name, where, index=()) -> np.ndarray:
    """Dataset `name`, or its part `index` (read from disk alone), as checked float64."""
    arr = _get(h5, name, where)[index]
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


def _read_scattered(h5, coords, fields, sample=0):
    xs = {i: _column(_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
          for i, d in coords.items()}
    ys = {f: _column(_dataset(h5, d, f"data.fields.{f}"), d, f"data.fields.{f}")
          for f, d in fields.items()}
    lengths = {k: len(v) for k, v in (xs | ys).items()}
    if len(set(lengths.values())) != 1:
        raise PinnFitError(f"data: scattered columns must have equal lengths, got {lengths}; "
                           "check data.coords/data.fields or use data.layout=grid")
    return xs, ys, [h5.attrs]


def _read_grid(h5, coords, fields, sample=0):
    axes = {i: _column(_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
            for i, d in coords.items()}
    inputs = list(coords)
    ys = {}
    for f, d in fields.items():
        arr = _dataset(h5, d, f"data.fields.{f}")
        order = _axis_order(h5[d], arr.shape, axes, coords, f"data.fields.{f}")
        arr = np.transpose(arr, [order.index(i) for i in inputs])
        ys[f] = arr.reshape(-1)
    return _mesh(axes, inputs), ys, [h5.attrs]


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
        if None in order or sorted(order) != sorted(coords):
            order = list(coords)  # reported as a shape mismatch below
    expected = tuple(len(axes[i]) for i in order)
    if len(shape) != len(coords) or tuple(shape) != expected:
        raise PinnFitError(f"{where}: shape {tuple(shape)} does not match the coordinate lengths "
                           f"{ {i: len(axes[i]) for i in coords} } in axis order {order}")
    return order


PDEBENCH_AXES = ("t", "x", "y", "z")  # the order of a PDEBench field's axes after the sample


def count_samples(file, layout, fields) -> int:
    """How many samples a PDEBench file holds: the length of the first field's tensor axis 0
    (layout pdebench) or the number of seed groups (pdebench_grouped)."""
    if layout not in ("pdebench", "pdebench_grouped"):
        raise PinnFitError(f"samples of a file apply to the pdebench layouts only, and data.layout "
                           f"is {layout!r}: a {layout} file holds one sample")
    path = resolve_file(file)
    try:
        with h5py.File(path, "r") as h5:
            if layout == "pdebench_grouped":
                return len(_seed_groups(h5))
            first = str(next(iter(fields.values())))
            name = "tensor" if _channel(first) is not None else first
            return int(_get(h5, name, f"data.fields (in '{path}')").shape[0])
    except OSError as err:
        raise PinnFitError(f"data.file: cannot read '{path}' as HDF5 ({err}); check the path "
                           "and that the file is an HDF5 file readable by you") from None


def _read_pdebench(h5, coords, fields, sample):
    """Tensor layout: sample `sample` of each field [samples, t, x(, y)(, channels)]."""
    order = _pdebench_order(coords, "x-coordinate")
    raw = _pdebench_coords(h5, coords, order)
    ys, axes = {}, None
    for f, d in fields.items():
        ds, name, channel = _pdebench_field(h5, "tensor", d, f, order, 1, "pdebench")
        if not 0 <= sample < ds.shape[0]:
            raise PinnFitError(f"data.sample={sample}, but dataset '{name}' in "
                               f"'{h5.filename}' holds {ds.shape[0]} samples; choose "
                               f"data.sample=0..{ds.shape[0] - 1}")
        arr = _dataset(h5, name, f"data.fields.{f}", (sample, Ellipsis) + channel)
        axes = _fit_coords(raw, order, coords, arr.shape, name, f, edges=True)
        ys[f] = arr.reshape(-1)
    return _mesh(axes, order), ys, [h5.attrs]


def _read_pdebench_grouped(h5, coords, fields, sample):
    """Grouped layout: the `sample`-th group (sorted by name), each field [t, x(, y)(, channels)]
    and the coordinates inside it."""
    groups = _seed_groups(h5)
    if not groups:
        raise PinnFitError(f"data.layout=pdebench_grouped, but '{h5.filename}' has no groups "
                           "(one per seed: 0000, 0001, ...); for a file with a 'tensor' dataset "
                           "use data.layout=pdebench")
    if not 0 <= sample < len(groups):
        raise PinnFitError(f"data.sample={sample}, but '{h5.filename}' has {len(groups)} seed "
                           f"groups ({groups[0]}..{groups[-1]}); choose "
                           f"data.sample=0..{len(groups) - 1}")
    g = h5[groups[sample]]
    order = _pdebench_order(coords, "grid/x")
    raw = _pdebench_coords(g, coords, order)
    ys, axes = {}, None
    for f, d in fields.items():
        ds, name, channel = _pdebench_field(g, "data", d, f, order, 0, "pdebench_grouped")
        arr = _dataset(g, name, f"data.fields.{f}", (Ellipsis,) + channel)
        axes = _fit_coords(raw, order, coords, arr.shape, name, f, edges=False)
        ys[f] = arr.reshape(-1)
    return _mesh(axes, order), ys, [g.attrs, h5.attrs]


def _seed_groups(h5) -> List[str]:
    """The seed groups of a pdebench_grouped file, sorted by name (data.sample's order)."""
    return sorted(k for k in h5 if isinstance(h5[k], h5py.Group))


def _pdebench_order(coords, example) -> List[str]:
    """The inputs in the order of the field's axes (t, x, y, z), from their dataset names."""
    letter = {}
    for i, d in coords.items():
        a = str(d).rsplit("/", 1)[-1].removesuffix("-coordinate")
        if a not in PDEBENCH_AXES:
            raise PinnFitError(f"data.coords.{i}: '{d}' is not a PDEBench coordinate, so its axis "
                               f"is unknown; name one of t, x, y, z as in {example} (the field's "
                               "axes are ordered t, x, y, z)")
        letter[i] = a
    twice = sorted({a for a in letter.values() if list(letter.values()).count(a) > 1})
    if twice:
        raise PinnFitError(f"data.coords {dict(coords)} names the {twice} coordinate more than "
                           "once; map each input to its own axis")
    return sorted(coords, key=lambda i: PDEBENCH_AXES.index(letter[i]))


def _pdebench_coords(h5, coords, order):
    return {i: _column(_dataset(h5, coords[i], f"data.coords.{i}"), coords[i],
                       f"data.coords.{i}") for i in order}


def _channel(value):
    """A channel index given as an int or a string of digits (maybe signed), else None."""
    s = str(value).strip()
    return int(s) if s.lstrip("+-").isdigit() else None


def _pdebench_field(h5, main, value, f, order, lead, layout):
    """The dataset of field `f`, its name, and the index of its channel (() for none): `value`
    is a channel index of `main`'s trailing axis or the name of a dataset holding the field."""
    where, channel = f"data.fields.{f}", _channel(value)
    name = main if channel is not None else value
    ds = _get(h5, name, where)
    rank = lead + len(order)
    axes = (["samples"] if lead else []) + list(order)
    need, need_c = f"[{', '.join(axes)}]", f"[{', '.join(axes + ['channels'])}]"
    if channel is not None:
        if ds.ndim != rank + 1:
            fix = (f"map {where} to the dataset itself ({where}={name})" if ds.ndim == rank
                   else "check data.coords (2-D files: add +data.coords.y=...)")
            raise PinnFitError(f"{where}={value} picks a channel, but dataset '{name}' has shape "
                               f"{ds.shape}, not {need_c} for the inputs {order} "
                               f"(data.coords); {fix}")
        if not 0 <= channel < ds.shape[-1]:
            raise PinnFitError(f"{where}={value}: channel index out of range, dataset '{name}' "
                               f"has {ds.shape[-1]} channels; choose 0..{ds.shape[-1] - 1}")
        return ds, name, (channel,)
    if ds.ndim == rank:
        return ds, name, ()
    if ds.ndim == rank + 1 and ds.shape[-1] == 1:
        return ds, name, (0,)
    if ds.ndim == rank + 1:
        raise PinnFitError(f"{where}: dataset '{name}' has {ds.shape[-1]} channels (shape "
                           f"{ds.shape}); map the field to one, {where}=0..{ds.shape[-1] - 1}")
    raise PinnFitError(f"{where}: dataset '{name}' has shape {ds.shape} (rank {ds.ndim}), but the "
                       f"{layout} layout with inputs {order} (data.coords) needs {need} (rank "
                       f"{rank}) with an optional trailing channel axis; check data.fields, or "
                       "data.coords (2-D files: add +data.coords.y=...)")


def _fit_coords(raw, order, coords, shape, name, f, edges):
    """The coordinates of the field's axes, checked against its shape.

    With `edges` (the tensor layout), a time coordinate with one more entry than the field's t
    axis is accepted and its first n_t entries are used: PDEBench's tensor files often store
    n_t + 1 times for n_t snapshots (1D_Advection: tensor (10000, 101, 1024), t-coordinate
    (102,)), and snapshot i is taken to be at t-coordinate[i], as readers of these files do
    (``t-coordinate[:-1]``). Any other mismatch is an error."""
    axes = {}
    for i, n in zip(order, shape):
        a = raw[i]
        is_t = str(coords[i]).rsplit("/", 1)[-1].removesuffix("-coordinate") == "t"
        if edges and is_t and len(a) == n + 1:
            a = a[:n]
        if len(a) != n:
            lengths = {i: len(raw[i]) for i in order}
            raise PinnFitError(f"data.fields.{f}: dataset '{name}' has axes "
                               f"{dict(zip(order, shape))} (one sample), but the coordinates "
                               f"(data.coords) have {lengths} entries; point data.coords and "
                               "data.fields at matching datasets")
        axes[i] = a
    return axes


def _mesh(axes, order):
    mesh = np.meshgrid(*(axes[i] for i in order), indexing="ij")
    return {i: m.reshape(-1) for i, m in zip(order, mesh)}


def _read_auto(h5, coords, fields, sample):
    """The layout the file's `layout` attribute names (pinn-data writes it), else grid."""
    layout = h5.attrs.get("layout", "grid")
    layout = layout.decode() if isinstance(layout, bytes) else str(layout)
    if layout not in ("grid", "scattered"):
        raise PinnFitError(f"'{h5.filename}' has layout attribute {layout!r}; set data.layout="
                           "grid or scattered")
    return READERS[layout](h5, coords, fields, sample)


READERS = {"auto": _read_auto, "grid": _read_grid, "scattered": _read_scattered,
           "pdebench": _read_pdebench,
           "pdebench_grouped": _read_pdebench_grouped}


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
