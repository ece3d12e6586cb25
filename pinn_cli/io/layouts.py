"""The layouts of a file of one's own (``data.layout``), each read from an open HDF5 file (or one
io.formats made in memory) into columns, one per input and per field:

- *grid*: one 1-D dataset per input and each field on their product grid; the order of a field's
  axes is ``data.axes`` where given, else the field's ``axes`` attribute (input or dataset names),
  else found from the inputs' lengths where they differ.
- *scattered*: equal-length 1-D columns, one per input and one per field.
- *auto*: the one of these two the file's ``layout`` attribute names (pinn-data writes it), else
  grid; an attribute of that name holding anything else (free text) is not a layout: it is
  ignored, with a note in the log.
"""
import logging
from typing import List, Optional

import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.hdf5 import column, mesh, read_dataset

log = logging.getLogger("pinn-fit")

KNOWN = ("grid", "scattered")


def known_layout(value) -> Optional[str]:
    """`value` (a `layout` attribute or entry) if it names a layout the reader knows, else None."""
    value = np.asarray(value).reshape(-1)[0] if np.size(value) == 1 else value
    value = value.decode(errors="replace") if isinstance(value, bytes) else value
    return value if isinstance(value, str) and value in KNOWN else None


def read_scattered(h5, coords, fields, sample=0, axes=None):
    xs = {i: column(read_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
          for i, d in coords.items()}
    ys = {f: column(read_dataset(h5, d, f"data.fields.{f}"), d, f"data.fields.{f}")
          for f, d in fields.items()}
    lengths = {k: len(v) for k, v in (xs | ys).items()}
    if len(set(lengths.values())) != 1:
        raise PinnFitError(f"data: scattered columns must have equal lengths, got {lengths}; "
                           "check data.coords/data.fields or use data.layout=grid")
    return xs, ys, [h5.attrs]


def read_grid(h5, coords, fields, sample=0, axes=None):
    points = {i: column(read_dataset(h5, d, f"data.coords.{i}"), d, f"data.coords.{i}")
              for i, d in coords.items()}
    inputs = list(coords)
    ys = {}
    for f, d in fields.items():
        arr = read_dataset(h5, d, f"data.fields.{f}")
        order = _axis_order(h5[d], d, arr.shape, points, coords, f"data.fields.{f}", axes)
        arr = np.transpose(arr, [order.index(i) for i in inputs])
        ys[f] = arr.reshape(-1)
    return mesh(points, inputs), ys, [h5.attrs]


def read_auto(h5, coords, fields, sample=0, axes=None):
    """The layout the file's `layout` attribute names, else grid."""
    given = h5.attrs.get("layout")
    layout = known_layout(given) if given is not None else "grid"
    if layout is None:
        shown = given.decode(errors="replace") if isinstance(given, bytes) else given
        log.info("'%s' has an attribute 'layout' = %r, which is not a layout (%s): ignored, read "
                 "as grid (data.layout=scattered reads it as columns)", h5.filename, shown,
                 " or ".join(KNOWN))
        layout = "grid"
    return READERS[layout](h5, coords, fields, sample, axes)


READERS = {"auto": read_auto, "grid": read_grid, "scattered": read_scattered}


def _names(values) -> List[str]:
    return [a.decode() if isinstance(a, bytes) else str(a) for a in values]


def _axis_order(ds, name, shape, points, coords, where, axes) -> List[str]:
    """The input of each axis of a grid field: `axes` (data.axes), its `axes` attribute, or the
    inputs' lengths."""
    lengths = {i: len(a) for i, a in points.items()}
    by_name = {d: i for i, d in coords.items()} | {i: i for i in coords}
    source = "data.axes" if axes else "its 'axes' attribute" if "axes" in ds.attrs else None
    if source is not None:
        names = list(axes) if axes else _names(ds.attrs["axes"])
        if axes and "axes" in ds.attrs and _names(ds.attrs["axes"]) != names:
            log.info("%s: data.axes=%s replaces the 'axes' attribute %s of '%s'", where,
                     names, _names(ds.attrs["axes"]), name)
        order = [by_name.get(a) for a in names]
        if None in order or sorted(order) != sorted(coords):
            raise PinnFitError(f"{where}: {source} {names} does not name the inputs "
                               f"{list(coords)} (or their datasets) once each")
    else:
        if len(set(lengths.values())) < len(lengths):
            raise PinnFitError(f"{where}: cannot tell which axis of shape {shape} is which "
                               f"input (lengths {lengths}); name its axes in order: "
                               f"data.axes=[{','.join(coords)}] (or an 'axes' attribute on the "
                               "dataset)")
        order = [next((i for i in coords if lengths[i] == n), None) for n in shape]
        if None in order or sorted(order) != sorted(coords):
            order = list(coords)  # reported as a shape mismatch below
    expected = tuple(lengths[i] for i in order)
    if len(shape) != len(coords) or tuple(shape) != expected:
        raise PinnFitError(f"{where}: '{name}' has shape {tuple(shape)}, which does not match "
                           f"the axis order {order} (lengths {expected})"
                           + (f" that {source} gives" if source else "") + _fix(shape, lengths))
    return order


def _fix(shape, lengths) -> str:
    """How to name the axes where the lengths tell the order, else what to check."""
    fits = [next((i for i in lengths if lengths[i] == n), None) for n in shape]
    if len(shape) == len(lengths) and len(set(lengths.values())) == len(lengths) and \
            None not in fits:
        return f"; name them in the order they are stored: data.axes=[{','.join(fits)}]"
    return f"; the inputs have lengths {lengths}: check data.coords and data.fields"
