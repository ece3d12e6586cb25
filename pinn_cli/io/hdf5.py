"""Reading HDF5 datasets with one clear message for each way a file can be wrong (a missing
dataset, non-numbers, NaN/Inf, wrong shapes), and finding a data file by its name."""
import importlib.resources
import logging
from pathlib import Path

import h5py
import numpy as np

from pinn_cli.errors import PinnFitError

log = logging.getLogger("pinn-fit")


def resolve_file(path: str) -> Path:
    """A path as given (absolute, or relative to the current folder); failing that, and only for
    the shipped files' own names (`NAME.h5` or `data/NAME.h5`), that file among the data shipped
    with pinn-fit, so the defaults work from any folder. Any other missing path stays as given
    (and fails to open): a typo in a folder never silently reads a shipped file instead."""
    p = Path(path).expanduser()
    if p.exists() or p.is_absolute() or p.parts not in ((p.name,), ("data", p.name)):
        return p
    shipped = Path(str(importlib.resources.files("pinn_cli.datasets") / p.name))
    if not shipped.is_file():
        return p
    log.info("%s is not in the current folder: reading the copy shipped with pinn-fit, %s",
             path, shipped)
    return shipped


def where_of(h5) -> str:
    return f"'{h5.file.filename}'" + (f" (group '{h5.name}')" if h5.name != "/" else "")


def dataset_in(h5, name, where) -> h5py.Dataset:
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        have = []
        h5.visit(lambda k: have.append(k) if isinstance(h5[k], h5py.Dataset) else None)
        raise PinnFitError(f"{where}: dataset '{name}' is not in {where_of(h5)}, which has "
                           f"{have}; set {where}=<one of those>")
    return h5[name]


def read_dataset(h5, name, where, index=()) -> np.ndarray:
    """Dataset `name`, or its part `index` (read from disk alone), as checked float64."""
    arr = dataset_in(h5, name, where)[index]
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


def column(arr, name, where):
    arr = np.squeeze(arr)
    if arr.ndim != 1:
        raise PinnFitError(f"{where}: dataset '{name}' must be 1-D, has shape {arr.shape}")
    return arr


def mesh(axes, order):
    mesh = np.meshgrid(*(axes[i] for i in order), indexing="ij")
    return {i: m.reshape(-1) for i, m in zip(order, mesh)}
