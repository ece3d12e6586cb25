"""Observations from HDF5, CSV, NPZ or MATLAB files (the `data` config group); io.formats reads
the other formats into HDF5 in memory, so every layout and check below applies to them alike.

Five layouts (``data.layout``): *grid*, *scattered* and *auto* for files of one's own
(io.layouts: a grid field's axis order from ``data.axes``, its ``axes`` attribute or the inputs'
lengths), and
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
from pinn_cli.io.hdf5 import resolve_file
from pinn_cli.io.layouts import READERS as OWN_LAYOUTS
from pinn_cli.io.pdebench import read_pdebench, read_pdebench_grouped

log = logging.getLogger("pinn-fit")

READERS = OWN_LAYOUTS | {"pdebench": read_pdebench, "pdebench_grouped": read_pdebench_grouped}


@dataclass
class Observations:
    x: np.ndarray  # (N, n_inputs), columns in the problem's input order
    y: np.ndarray  # (N, n_fields) noisy values
    fields: List[str]  # observed fields, columns of y
    file: str
    n_available: int
    truth: Dict[str, float] = field(default_factory=dict)
    # noise already in the file, as a fraction of std(field): its `noise` attribute (pinn-data
    # writes it), None when the file does not say
    file_noise: Optional[float] = None


def read_observations(file, coords, fields, inputs, outputs, unknowns, layout="grid",
                      n_obs=None, noise=0.0, seed=0, domain=None, sample=0,
                      axes=None) -> Observations:
    """The observations of `inputs` and `outputs` in `file`. An input missing from `coords` is
    read from the dataset of its own name; empty `fields`: every output from the dataset of its
    own name."""
    if file in (None, "", "???"):
        _no_file(layout, inputs, outputs)
    named = not fields
    coords = {i: str(coords.get(i, i)) for i in inputs} | {str(c): str(d) for c, d in
                                                          coords.items() if c not in inputs}
    fields = {f: str(d) for f, d in (fields or {o: o for o in outputs}).items()}
    path = resolve_file(file)
    _check_names(coords, fields, inputs, outputs)
    if layout not in READERS:
        _bad_layout(layout)
    own = layout in ("auto", "grid", "scattered")
    if sample != 0 and own:
        raise PinnFitError(f"data.sample={sample} applies to the pdebench layouts only; a "
                           f"{layout} file holds one sample: drop data.sample")
    if axes and layout not in ("auto", "grid"):
        raise PinnFitError(f"data.axes names the axes of a grid file's fields; data.layout="
                           f"{layout} has its own axis order: drop data.axes")
    if not path.exists():
        shipped = " and, by that name, in the shipped data" if path.name == str(file) or \
            str(file) == f"data/{path.name}" else ""
        raise PinnFitError(f"data.file: '{file}' does not exist (looked in {Path.cwd()}"
                           f"{shipped}); pass data.file=PATH/TO/FILE.h5")
    if path.is_dir():
        raise PinnFitError(f"data.file: '{path}' is a directory; pass the data file inside it")
    try:
        with open_data(path, layout, coords, fields, unknowns, axes) as h5:
            if named:
                _check_named(h5, fields, path)
            xs, ys, attrs = READERS[layout](h5, coords, fields, sample,
                                            **({"axes": list(axes)} if axes else {}))
            truth = _truth(attrs, unknowns, path)
            stated = next((a for a in attrs if "noise" in a), None)
            file_noise = None if stated is None else _attribute_number(stated, "noise")[0]
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
    return Observations(x, y, list(fields), str(path), n, truth, file_noise)


def noise_phrase(added: float, in_file: Optional[float]) -> str:
    """The start-up line's account of the noise: what the file says it holds, what data.noise
    adds (both as percentages of std(field))."""
    now = f"{100 * added:g} % of std(field) added (data.noise)" if added else "none added"
    if in_file is None:
        return f"noise: {now}; the file does not state its own (no noise attribute)"
    held = f"{100 * in_file:g} % already" if in_file else "none"
    return f"noise: {held} in the file (attribute), {now}"


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


def _no_file(layout, inputs, outputs):
    if layout.startswith("pdebench"):
        raise PinnFitError(f"data.file is not set: the data option for layout {layout!r} names "
                           "no file; pass data.file=PATH/TO/FILE.h5")
    raise PinnFitError(f"data.file is not set: pass data.file=PATH/TO/FILE.h5. The data option "
                       f"reads the datasets named like the pde's inputs ({', '.join(inputs)}) "
                       f"and outputs ({', '.join(outputs)}) unless data.coords and data.fields "
                       "name others")


def _check_named(h5, fields, path):
    """Fields read under their own names (no data.fields given) that the file does not hold."""
    missing = [d for d in fields.values() if d not in h5]
    if missing:
        have = sorted(k for k in h5 if not hasattr(h5[k], "keys"))
        raise PinnFitError(
            f"data.fields: without data.fields every pde output is read from the dataset of its "
            f"own name, and '{path}' has no dataset {missing} (it has {have}); name the "
            f"datasets of the observed fields, e.g. +data.fields.{next(iter(fields))}=NAME "
            "(the fields not named stay unobserved)")


def _check_names(coords, fields, inputs, outputs):
    extra = [c for c in coords if c not in inputs]
    if extra:
        raise PinnFitError(f"data.coords names {extra}, which are not pde inputs {inputs}")
    bad = [f for f in fields if f not in outputs]
    if bad:
        raise PinnFitError(f"data.fields names {bad}, which are not pde outputs {outputs}")


def _bad_layout(layout):
    raise PinnFitError(f"data.layout={layout!r}: choose auto, grid or scattered (your own "
                       "files), or "
                       "pdebench or pdebench_grouped (PDEBench files)")


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
