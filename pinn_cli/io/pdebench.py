"""PDEBench's HDF5 layouts (the `pdebench` and `pdebench_grouped` readers of the `data` group;
see io.observations for the layouts)."""
from typing import List

import h5py

from pinn_cli.errors import PinnFitError
from pinn_cli.io.hdf5 import column, dataset_in, mesh, read_dataset, resolve_file


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
            return int(dataset_in(h5, name, f"data.fields (in '{path}')").shape[0])
    except OSError as err:
        raise PinnFitError(f"data.file: cannot read '{path}' as HDF5 ({err}); check the path "
                           "and that the file is an HDF5 file readable by you") from None


def read_pdebench(h5, coords, fields, sample):
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
        arr = read_dataset(h5, name, f"data.fields.{f}", (sample, Ellipsis) + channel)
        axes = _fit_coords(raw, order, coords, arr.shape, name, f, edges=True)
        ys[f] = arr.reshape(-1)
    return mesh(axes, order), ys, [h5.attrs]


def read_pdebench_grouped(h5, coords, fields, sample):
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
        arr = read_dataset(g, name, f"data.fields.{f}", (Ellipsis,) + channel)
        axes = _fit_coords(raw, order, coords, arr.shape, name, f, edges=False)
        ys[f] = arr.reshape(-1)
    return mesh(axes, order), ys, [g.attrs, h5.attrs]


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
    return {i: column(read_dataset(h5, coords[i], f"data.coords.{i}"), coords[i],
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
    ds = dataset_in(h5, name, where)
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
