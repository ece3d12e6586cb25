"""The file formats of `data.file`, chosen by the file's extension (and, for HDF5 and MATLAB v7.3,
by its first bytes): HDF5 (read as it is), CSV, NumPy ``.npz`` and MATLAB ``.mat``.

A CSV, NPZ or MAT v5 file is read into an HDF5 file held in memory (nothing is written to disk),
one dataset per named column or array, so the layouts (io.observations) and their checks (shapes,
real numbers, NaN/Inf, axis order, degenerate data) are the ones HDF5 files go through:

- *CSV*: a header row of column names, then one row per observation (scattered points only);
  lines and line ends from ``#`` on are comments; only the mapped columns must hold numbers.
  The truth of the unknowns is unknown (a CSV file has no place for it).
- *NPZ* (``np.savez``): arrays named like HDF5 datasets; read without pickles, so object arrays
  are refused. ``.npy`` holds a single unnamed array, which cannot say which column is which
  input: it is refused with the way to write an ``.npz``.
- *MAT v5* (``save -v7``, ``scipy.io.savemat``): variables named like HDF5 datasets, read with
  ``scipy.io.loadmat`` (which never unpickles; in a child process, io.mat_v5) and only the
  variables needed; cells, structs and objects are refused. *MAT v7.3* is HDF5 and is read as
  such.

In NPZ and MAT files an entry ``axes`` (strings, or one string ``"x,t"``) names the axes of every
grid field in order, as the ``axes`` attribute of an HDF5 field does; ``layout`` (``grid`` or
``scattered``) is what the ``layout`` attribute is to ``data.layout=auto``; and an entry named like
an unknown (a single number) is its truth.
"""
import contextlib
import csv
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Dict, List

import h5py
import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.hdf5 import MEMORY_SHARE, _bytes, available_memory
from pinn_cli.io.layouts import known_layout

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5", ".nc")
# what a damaged archive raises from zipfile, zlib, numpy or scipy.io while it is read
DAMAGED = (OSError, EOFError, zipfile.BadZipFile, zlib.error, struct.error, KeyError, IndexError,
           TypeError, RuntimeError, MemoryError, NotImplementedError, OverflowError, ValueError)
SUPPORTED = "HDF5 (.h5, .hdf5), CSV (.csv), NumPy (.npz) or MATLAB (.mat, v5 to v7.3)"


def is_hdf5(path: Path) -> bool:
    """Whether the file starts with the HDF5 signature, at byte 0 or after a user block (512,
    1024, ... bytes: MATLAB v7.3 files have one of 512)."""
    try:
        with open(path, "rb") as f:
            for offset in (0, 512, 1024, 2048, 4096):
                f.seek(offset)
                if f.read(8) == HDF5_MAGIC:
                    return True
    except OSError:
        return False
    return False


def _looks_like(path: Path) -> str:
    """'; its bytes are those of an HDF5 file: ...' where the bytes are of another supported
    format than the extension says, else ''."""
    try:
        with open(path, "rb") as f:
            head = f.read(128)
    except OSError:
        return ""
    kind = "an HDF5" if is_hdf5(path) else "an NPZ (zip)" if head.startswith(b"PK\x03\x04") \
        else "a MATLAB" if head.startswith(b"MATLAB") else ""
    ext = {"an HDF5": ".h5", "a MATLAB": ".mat"}.get(kind, ".npz")
    named = path.suffix.lower() in (HDF5_SUFFIXES if kind == "an HDF5" else (ext,))
    return f"; its bytes are those of {kind} file: name it {path.stem}{ext}" \
        if kind and not named else ""


def file_format(path: Path) -> str:
    """hdf5 | csv | npz | mat, by extension; a file of another extension whose bytes are HDF5 is
    HDF5 (as before), any other is refused with the supported formats."""
    suffix = path.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".mat":
        return "hdf5" if is_hdf5(path) else "mat"
    if suffix in (".csv", ".npz"):
        return suffix[1:]
    if suffix == ".npy":
        raise PinnFitError(
            f"data.file: '{path}' is a .npy file, a single unnamed array, which cannot say which "
            "column is which input or field; save the arrays by name instead, e.g. "
            "np.savez('obs.npz', x=x, t=t, u=u), and pass data.file=obs.npz")
    if is_hdf5(path):
        return "hdf5"
    shown = f"extension '{path.suffix}'" if path.suffix else "no extension"
    raise PinnFitError(f"data.file: '{path}' has {shown}, which is not a supported data format; "
                       f"pass a file in {SUPPORTED}")


@contextlib.contextmanager
def open_data(path: Path, layout: str, coords: Dict[str, str], fields: Dict[str, str],
              unknowns, axes=None):
    """The data file as an open HDF5 file: the file itself, or (CSV, NPZ, MAT v5) its mapped
    columns or arrays read into an HDF5 file in memory, with the entries `axes` (on each field of
    more than one axis), `layout` and those named like an unknown (as attributes); `axes`
    (data.axes), where given, names the fields' axes instead."""
    fmt = file_format(path)
    if fmt == "hdf5":
        with h5py.File(path, "r") as h5:
            yield h5
        return
    if layout.startswith("pdebench"):
        raise PinnFitError(f"data.layout={layout} reads PDEBench HDF5 files, and '{path}' is a "
                           f"{fmt.upper()} file; pass data.layout=auto, grid or scattered")
    names = [*coords.values(), *fields.values()]
    if fmt == "csv":
        if layout == "grid":
            raise PinnFitError(f"data.layout=grid, but '{path}' is a CSV file, which holds one "
                               "row per observation; pass data.layout=scattered (or auto)")
        entries, attrs = read_csv(path, names), {"layout": "scattered"}
    else:
        from pinn_cli.io.mat_v5 import read_mat  # its reader runs in a child process

        read = read_npz if fmt == "npz" else read_mat
        entries = read(path, [*names, "axes", "layout", *unknowns])
        _missing_entries(entries, coords, fields, path)
        attrs = {k: entries.pop(k) for k in ["layout", *unknowns] if k in entries
                 and k not in names}
        attrs["layout"] = _text(attrs["layout"], path, "layout")[0] if "layout" in attrs \
            else "grid"
    named = _text(entries.pop("axes"), path, "axes") if "axes" in entries else None
    with h5py.File(str(path), "w", driver="core", backing_store=False) as h5:
        for name, arr in entries.items():
            _store(h5, name, arr, path)
            if named is not None and np.squeeze(arr).ndim > 1:
                h5[name].attrs["axes"] = named
        for key, value in attrs.items():
            _store(h5.attrs, key, np.asarray(value), path)
        grid = layout == "grid" or layout == "auto" and known_layout(attrs["layout"]) != "scattered"
        if grid and not axes:
            _check_axes_named(h5, coords, fields)
        yield h5


def _store(where, name, arr, path):
    """`arr` as dataset or attribute `name` (strings as UTF-8 bytes); one message for a type
    that HDF5 cannot hold (dates, times), which is no real number either."""
    try:
        where[name] = np.char.encode(arr, "utf-8") if arr.dtype.kind == "U" else arr
    except (TypeError, ValueError, UnicodeError):
        raise PinnFitError(f"data.file: '{name}' in '{path}' holds {arr.dtype}, not real "
                           "numbers; store it as numbers") from None


def _check_axes_named(h5, coords: Dict[str, str], fields: Dict[str, str]):
    """A grid file read from NPZ or MAT whose inputs have equal lengths must name its fields'
    axes (with an `axes` entry): their order is never guessed."""
    lengths = {i: int(np.prod(h5[d].shape)) for i, d in coords.items() if d in h5}
    if len(set(lengths.values())) == len(lengths):
        return
    for f, d in fields.items():
        if d in h5 and sum(n > 1 for n in h5[d].shape) > 1 and "axes" not in h5[d].attrs:
            order = ", ".join(f"'{i}'" for i in coords)
            raise PinnFitError(
                f"data.fields.{f}: cannot tell which axis of shape {h5[d].shape} of '{d}' in "
                f"'{h5.filename}' is which input (lengths {lengths}); add an entry 'axes' naming "
                f"its axes in order, e.g. np.savez(..., axes=[{order}]) or, in MATLAB, "
                f"axes = '{','.join(coords)}'")


def _text(arr, path, name) -> List[str]:
    """Entry `name` as strings: a string array, or one string of names separated by commas or
    spaces."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in "US" or arr.size == 0:
        example = "layout='scattered'" if name == "layout" else f"{name}=['x', 't']"
        raise PinnFitError(f"data.file: entry '{name}' of '{path}' holds {arr.dtype}, not "
                           f"strings; store it as strings, e.g. {example}")
    words = [w.decode() if isinstance(w, bytes) else str(w) for w in arr.reshape(-1)]
    return [p for w in words for p in re.split(r"[,\s]+", w.strip()) if p]


# --- CSV -------------------------------------------------------------------------------------
def read_csv(path: Path, names: List[str]) -> Dict[str, np.ndarray]:
    """Columns `names` of a CSV file with a header row, as float arrays (one message for an empty
    file, a bad header, a missing column, a ragged row or a cell that is not a number)."""
    _fits_memory(path.stat().st_size * 4, path, "the CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise PinnFitError(f"data.file: '{path}' is not a text file ({err.reason} at byte "
                           f"{err.start}); a .csv file must be UTF-8 text with a header row"
                           f"{_looks_like(path)}") from None
    except OSError as err:
        raise PinnFitError(f"data.file: cannot read '{path}' ({err.strerror or err}); check that "
                           "the file is readable by you") from None
    lines = [(n, line.split("#", 1)[0].strip()) for n, line in
             enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line]
    if not lines:
        raise PinnFitError(f"data.file: '{path}' is empty (no header, no rows); write a header "
                           "row naming the columns, then one row per observation")
    first = lines[0][1]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    rows = list(csv.reader([line for _, line in lines], delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    _check_header(header, path)
    if len(rows) == 1:
        raise PinnFitError(f"data.file: '{path}' has a header but no rows; add one row per "
                           "observation")
    missing = [d for d in dict.fromkeys(names) if d not in header]
    if missing:
        raise PinnFitError(f"data: column(s) {missing} not in the header of '{path}', which has "
                           f"{header}; map data.coords/data.fields to those names, e.g. "
                           f"data.fields.u={header[-1]}")
    for (line_no, _), row in zip(lines[1:], rows[1:]):
        if len(row) != len(header):
            raise PinnFitError(f"data.file: line {line_no} of '{path}' has {len(row)} cells, the "
                               f"header {len(header)}; give every row one cell per column")
    columns = {}
    for name in dict.fromkeys(names):
        j = header.index(name)
        values = np.empty(len(rows) - 1)
        for k, ((line_no, _), row) in enumerate(zip(lines[1:], rows[1:])):
            try:
                values[k] = float(row[j])
            except ValueError:
                shown = repr(row[j].strip()) if row[j].strip() else "empty"
                raise PinnFitError(
                    f"data.file: line {line_no} of '{path}', column '{name}', is {shown}, not a "
                    "number; fix or remove that row (write nan only to have it refused)") \
                    from None
        columns[name] = values
    return columns


def _check_header(header, path):
    if any(not h for h in header):
        raise PinnFitError(f"data.file: the header of '{path}' {header} has an empty column "
                           "name; name every column in the first row")
    if all(_is_number(h) for h in header):
        raise PinnFitError(f"data.file: the first row of '{path}' holds numbers {header}, not "
                           "column names; add a header row naming the columns, e.g. x,t,u")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise PinnFitError(f"data.file: the header of '{path}' names {twice} more than once; "
                           "give every column its own name")


def _is_number(s) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# --- NPZ and MAT -----------------------------------------------------------------------------
def read_npz(path: Path, names: List[str]) -> Dict[str, np.ndarray]:
    """The arrays `names` (those present) of an .npz file, read without pickles."""
    how = "np.savez('obs.npz', x=x, t=t, u=u)"
    try:
        with open(path, "rb") as f:
            if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                _unreadable(path, "an NPZ", "it is not a zip archive", how)
        with np.load(path, allow_pickle=False) as npz:
            sizes = {i.filename[:-4]: i.file_size for i in npz.zip.infolist()}
            want = [n for n in dict.fromkeys(names) if n in npz.files]
            _fits_memory(sum(sizes.get(n, 0) for n in want), path, "its arrays")
            return {n: _plain(npz[n], n, path) for n in want} | {"__names__": npz.files}
    except PinnFitError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise PinnFitError(f"data.file: '{path}' holds object arrays, which are not read (they "
                               "would need pickles, which can run code); save plain numeric "
                               "arrays with np.savez") from None
        _unreadable(path, "an NPZ", err, how)
    except DAMAGED as err:
        _unreadable(path, "an NPZ", err, how)


def _plain(arr, name, path) -> np.ndarray:
    """`arr` if a plain array of numbers, booleans or strings; cells, structs, objects refused."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind in "OV" or arr.dtype.names:
        kind = "a struct" if isinstance(arr, np.ndarray) and arr.dtype.names else \
            "a cell, object or function array" if isinstance(arr, np.ndarray) else \
            f"a {type(arr).__name__}"
        raise PinnFitError(f"data.file: '{name}' in '{path}' is {kind}, which is not read; store "
                           "plain numeric arrays (and strings for 'axes')")
    return arr


def _unreadable(path, fmt, err, how):
    why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    raise PinnFitError(f"data.file: cannot read '{path}' as {fmt} file ({why}); check that the "
                       f"file is complete and was written as one, e.g. {how}"
                       f"{_looks_like(path)}") from None


def _fits_memory(need, path, what):
    avail = available_memory()
    if avail is not None and need > MEMORY_SHARE * avail:
        raise PinnFitError(f"data.file: {what} of '{path}' take {_bytes(need)} once read, more "
                           f"than half of the {_bytes(avail)} of memory available; read fewer "
                           "points or run on a machine with more memory")


def _missing_entries(entries, coords, fields, path):
    """One message for a mapped array or variable that the NPZ or MAT file does not hold."""
    have = entries.pop("__names__", None)
    if have is None:
        return
    for group, mapping in (("coords", coords), ("fields", fields)):
        for key, name in mapping.items():
            if name not in entries:
                raise PinnFitError(f"data.{group}.{key}: '{name}' is not in '{path}', which has "
                                   f"{sorted(have)}; set data.{group}.{key}=<one of those>")

