"""Reading HDF5 datasets with one clear message for each way a file can be wrong (a missing
dataset, a link or virtual dataset whose target is missing, a dataset too large for the memory,
non-numbers, NaN/Inf, wrong shapes), and finding a data file by its name."""
import importlib.resources
import logging
import math
import os
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from pinn_cli.errors import PinnFitError

log = logging.getLogger("pinn-fit")

MEMORY_SHARE = 0.5  # a dataset may take at most this share of the available memory once read


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
    """Dataset `name` of group `h5`; one message if it is missing, not a dataset, or reached
    through a soft or external link whose target is missing."""
    broken = None if name in h5 and _opens(h5, name) else _broken_link(h5, name)
    if broken:
        raise PinnFitError(f"{where}: dataset '{name}' in {where_of(h5)} cannot be opened: "
                           f"{broken}; fix the link or store the data in the file itself")
    if name not in h5:
        _not_there(h5, name, where)
    try:
        obj = h5[name]
    except (KeyError, OSError, ValueError, RuntimeError) as err:
        raise PinnFitError(f"{where}: dataset '{name}' in {where_of(h5)} cannot be opened "
                           f"({err}); check the file") from None
    if not isinstance(obj, h5py.Dataset):
        _not_there(h5, name, where)
    return obj


def _not_there(h5, name, where):
    have = []
    h5.visititems(lambda k, obj: have.append(k) if isinstance(obj, h5py.Dataset) else None)
    raise PinnFitError(f"{where}: dataset '{name}' is not in {where_of(h5)}, which has "
                       f"{have}; set {where}=<one of those>")


def _opens(h5, name) -> bool:
    try:
        h5[name]
        return True
    except (KeyError, OSError, ValueError, RuntimeError):
        return False


def _broken_link(h5, name) -> Optional[str]:
    """What is wrong with the first soft or external link on the path `name` whose target is
    missing, in words; None if no link on the path is broken."""
    parts = [p for p in str(name).split("/") if p]
    for n in range(1, len(parts) + 1):
        path, link = "/".join(parts[:n]), None
        try:
            link = h5.get(path, getlink=True)
        except (KeyError, OSError, ValueError, RuntimeError):
            pass
        if _opens(h5, path):
            continue
        if isinstance(link, h5py.SoftLink):
            return f"'{path}' is a soft link to '{link.path}', which does not exist"
        if isinstance(link, h5py.ExternalLink):
            target = Path(link.filename)
            if not target.is_absolute():
                target = Path(h5.file.filename).parent / target
            missing = "is missing" if not target.exists() else \
                f"has no object '{link.path}' or cannot be read"
            return (f"'{path}' is an external link to '{link.path}' in file "
                    f"'{link.filename}', which {missing}")
        return None
    return None


def check_virtual_sources(ds, name, where):
    """A virtual dataset reads its missing sources as fill values (zeros or NaN) without a word:
    refuse one whose source file or source dataset is missing."""
    if not ds.is_virtual:
        return
    here = Path(ds.file.filename).resolve().parent
    for file_name, dset in sorted({(s.file_name, s.dset_name) for s in ds.virtual_sources()}):
        if file_name == ".":
            ok = dset in ds.file
        elif "%" in file_name:  # a printf-style pattern over many files: left to HDF5
            continue
        else:
            found = _vds_source(file_name, here)
            ok = found is not None and _has_dataset(found, dset)
            if found is None:
                raise PinnFitError(
                    f"{where}: dataset '{name}' in '{ds.file.filename}' is a virtual dataset, and "
                    f"its source file '{file_name}' is missing (looked beside the file and in "
                    "the current folder), so its values would be fill values; put the source "
                    "file there, or store the data in the file itself")
        if not ok:
            raise PinnFitError(
                f"{where}: dataset '{name}' in '{ds.file.filename}' is a virtual dataset whose "
                f"source dataset '{dset}' is not in '{file_name}' (or cannot be read), so its "
                "values would be fill values; fix the source, or store the data in the file "
                "itself")


def _vds_source(file_name, here) -> Optional[Path]:
    """Where HDF5 would find a virtual dataset's source file: as given, beside the virtual
    dataset's file (also by its bare name), or under HDF5_VDS_PREFIX."""
    p = Path(file_name)
    candidates = [p, here / p, here / p.name]
    for prefix in filter(None, os.environ.get("HDF5_VDS_PREFIX", "").split(os.pathsep)):
        prefix = prefix.replace("${ORIGIN}", str(here))
        candidates += [Path(prefix) / p, Path(prefix) / p.name]
    return next((c for c in candidates if c.is_file()), None)


def _has_dataset(path, dset) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return isinstance(f.get(dset), h5py.Dataset)
    except (OSError, KeyError, ValueError, RuntimeError):
        return False


def available_memory() -> Optional[int]:
    """Bytes of memory a new allocation can take: the larger of the free pages (sysconf) and
    Linux's MemAvailable (which counts the reclaimable page cache), capped by a cgroup v2 memory
    limit; the total physical memory where neither is known; None where nothing is."""
    found = []
    try:
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return None
    avail = max(found)
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            avail = min(avail, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return avail if avail > 0 else None


def _bytes(n) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_fits_memory(ds, name, where, index=()):
    """Refuse, before reading, a dataset (or its part `index`) whose declared size, once read as
    64-bit floats, exceeds MEMORY_SHARE of the available memory: a file can declare a shape of
    terabytes in a few bytes on disk (chunked, nothing written)."""
    shape = ds.shape or ()
    try:
        picked = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=shape,
                                                 strides=(0,) * len(shape))[index].shape
    except (IndexError, TypeError, ValueError):
        picked = shape
    need = math.prod(picked) * max(ds.dtype.itemsize, 8)
    avail = available_memory()
    if avail is not None and need > MEMORY_SHARE * avail:
        part = f" (the part read has shape {tuple(picked)})" if tuple(picked) != tuple(shape) \
            else ""
        raise PinnFitError(
            f"{where}: dataset '{name}' in '{ds.file.filename}' declares shape {tuple(shape)} of "
            f"{ds.dtype}{part}, {_bytes(need)} once read as 64-bit floats, more than half of the "
            f"{_bytes(avail)} of memory available; read fewer points (a smaller file, or one "
            "sample per file) or run on a machine with more memory")


def read_dataset(h5, name, where, index=()) -> np.ndarray:
    """Dataset `name`, or its part `index` (read from disk alone), as checked float64."""
    ds = dataset_in(h5, name, where)
    check_virtual_sources(ds, name, where)
    check_fits_memory(ds, name, where, index)
    arr = ds[index]
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
    arr = arr.reshape(1) if arr.ndim and arr.size == 1 else np.squeeze(arr)
    if arr.ndim != 1:
        raise PinnFitError(f"{where}: dataset '{name}' must be 1-D, has shape {arr.shape}")
    return arr


def mesh(axes, order):
    mesh = np.meshgrid(*(axes[i] for i in order), indexing="ij")
    return {i: m.reshape(-1) for i, m in zip(order, mesh)}
