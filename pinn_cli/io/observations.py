"""Observations from HDF5, CSV, NPZ or MATLAB files (the `data` config group); io.formats reads
the other formats into HDF5 in memory, so every layout and check below applies to them alike.

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
attributes first, then the file's; other attributes, such as PDEBench's ``config``, are ignored);
one that is not a single finite real number (NaN, Inf, a string, an array) is ignored with a
warning, and that truth is unknown. Data that cannot identify anything (io.degenerate) is refused
before training.
"""
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.degenerate import Source, check_observations
from pinn_cli.io.formats import open_data
from pinn_cli.io.hdf5 import column, mesh, read_dataset, resolve_file
from pinn_cli.io.pdebench import read_pdebench, read_pdebench_grouped

log = logging.getLogger("pinn-fit")


@dataclass
class Observations:
    x: np.ndarray  # (N, n_inputs), columns in the problem's input order
    y: np.ndarray  # (N, n_fields) noisy values
    fields: List[str]  # observed fields, columns of y
    file: str
    n_available: int
    truth: Dict[str, float] = field(default_factory=dict)


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
        shipped = " and, by that name, in the shipped data" if path.name == str(file) or \
            str(file) == f"data/{path.name}" else ""
        raise PinnFitError(f"data.file: '{file}' does not exist (looked in {Path.cwd()}"
                           f"{shipped}); pass data.file=PATH/TO/FILE.h5")
    if path.is_dir():
        raise PinnFitError(f"data.file: '{path}' is a directory; pass the data file inside it")
    try:
        with open_data(path, layout, coords, fields, unknowns) as h5:
            xs, ys, attrs = READERS[layout](h5, coords, fields, sample)
            truth = _truth(attrs, unknowns, path)
    except OSError as err:
        raise PinnFitError(f"data.file: cannot read '{path}' as HDF5 ({err}); check the path "
                           "and that the file is an HDF5 file readable by you") from None
    x = np.stack([xs[i] for i in inputs], axis=1)
    y = np.stack([ys[f] for f in fields], axis=1)
    _check_domain(x, inputs, domain)
    n = len(x)
    source = Source(str(path), fields, n)
    check_observations(x, y, inputs, list(fields), unknowns, source)
    rng = np.random.default_rng(seed)
    if n_obs is not None:
        if not 0 < n_obs <= n:
            raise PinnFitError(f"data.n_obs={n_obs}, but '{path}' has {n} points; choose "
                               f"2..{n}, or data.n_obs=null for all")
        keep = rng.choice(n, size=n_obs, replace=False)
        x, y = x[keep], y[keep]
        source.n_obs, source.seed = n_obs, seed
        check_observations(x, y, inputs, list(fields), unknowns, source)
    if not 0 <= noise < np.inf:
        raise PinnFitError(f"data.noise={noise} must be a finite number >= 0 (a fraction of "
                           "std(field))")
    if noise > 0:
        y = y + noise * y.std(axis=0) * rng.standard_normal(y.shape)
    return Observations(x, y, list(fields), str(path), n, truth)


def _truth(attrs, unknowns, path) -> Dict[str, float]:
    """The truth of each unknown named by an attribute (the first of `attrs` that has it); one
    that is not a single finite real number is ignored with a warning: its truth is unknown."""
    truth = {}
    for k in unknowns:
        owner = next((a for a in attrs if k in a), None)
        if owner is None:
            continue
        value, why = _attribute_number(owner, k)
        if why is None:
            truth[k] = value
        else:
            log.warning("attribute '%s' of '%s' %s: ignored, the truth of %s is unknown (as for "
                        "a file without the attribute)", k, path, why, k)
    return truth


def _attribute_number(owner, name) -> Tuple[Optional[float], Optional[str]]:
    """(the attribute's value, None), or (None, why it is not a single finite real number)."""
    try:
        shape = owner.get_id(name).shape
    except (KeyError, OSError, TypeError, ValueError, RuntimeError):
        shape = None
    if shape is not None and int(np.prod(shape)) != 1:
        return None, f"is an array of shape {tuple(shape)}, not one number"
    try:
        arr = np.asarray(owner[name])
    except (KeyError, OSError, TypeError, ValueError, RuntimeError) as err:
        return None, f"cannot be read ({err})"
    if arr.size != 1:
        return None, f"holds {arr.size} values, not one number"
    if arr.dtype.kind not in "iuf":
        value = arr.reshape(-1)[0]
        value = value.item() if isinstance(value, np.generic) else value
        value = value.decode(errors="replace") if isinstance(value, bytes) else value
        kind = "a string" if isinstance(value, str) else {
            "b": "a boolean", "c": "a complex number"}.get(arr.dtype.kind, f"of type {arr.dtype}")
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        return None, f"is {shown} ({kind}), not a real number"
    value = float(arr.reshape(-1)[0])
    if not np.isfinite(value):
        return None, f"is {value}, not a finite number"
    return value, None


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


def _read_scattered(h5, coords, fields, sample=0):
    xs = {i: column(read_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
          for i, d in coords.items()}
    ys = {f: column(read_dataset(h5, d, f"data.fields.{f}"), d, f"data.fields.{f}")
          for f, d in fields.items()}
    lengths = {k: len(v) for k, v in (xs | ys).items()}
    if len(set(lengths.values())) != 1:
        raise PinnFitError(f"data: scattered columns must have equal lengths, got {lengths}; "
                           "check data.coords/data.fields or use data.layout=grid")
    return xs, ys, [h5.attrs]


def _read_grid(h5, coords, fields, sample=0):
    axes = {i: column(read_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
            for i, d in coords.items()}
    inputs = list(coords)
    ys = {}
    for f, d in fields.items():
        arr = read_dataset(h5, d, f"data.fields.{f}")
        order = _axis_order(h5[d], arr.shape, axes, coords, f"data.fields.{f}")
        arr = np.transpose(arr, [order.index(i) for i in inputs])
        ys[f] = arr.reshape(-1)
    return mesh(axes, inputs), ys, [h5.attrs]


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


def _read_auto(h5, coords, fields, sample):
    """The layout the file's `layout` attribute names (pinn-data writes it), else grid."""
    layout = h5.attrs.get("layout", "grid")
    layout = layout.decode() if isinstance(layout, bytes) else str(layout)
    if layout not in ("grid", "scattered"):
        raise PinnFitError(f"'{h5.filename}' has layout attribute {layout!r}; set data.layout="
                           "grid or scattered")
    return READERS[layout](h5, coords, fields, sample)


READERS = {"auto": _read_auto, "grid": _read_grid, "scattered": _read_scattered,
           "pdebench": read_pdebench, "pdebench_grouped": read_pdebench_grouped}


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
