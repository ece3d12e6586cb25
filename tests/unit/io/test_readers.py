"""CSV, NPZ and MATLAB files read to the same observations as the HDF5 file they were written
from, and each way such a file can be wrong ends in one message."""
import zipfile

import h5py
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pinn_cli.errors import PinnFitError
from pinn_cli.io.observations import read_observations

from conftest import REPO

HEAT = REPO / "data" / "heat1d.h5"
DOMAIN = {"x": (0.0, 1.0), "t": (0.0, 0.5)}


def _read(path, **kw):
    args = dict(file=str(path), coords={"x": "x", "t": "t"}, fields={"u": "usol"},
                inputs=["x", "t"], outputs=["u"], unknowns=["k"], domain=DOMAIN, layout="auto")
    return read_observations(**(args | kw))


def _heat():
    with h5py.File(HEAT, "r") as f:
        return f["x"][()], f["t"][()], f["usol"][()], float(f.attrs["k"])


def _same(a, b, truth=True):
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.n_available == b.n_available and a.fields == b.fields
    if truth:
        assert a.truth == b.truth


def _csv(path, header, rows, comment=""):
    text = comment + ",".join(header) + "\n" + "\n".join(",".join(repr(float(v)) for v in r)
                                                         for r in rows) + "\n"
    path.write_text(text)
    return path


def _v73(path, **arrays):
    """A MATLAB v7.3 file: HDF5 behind a 512-byte user block holding MATLAB's header."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            f[k] = v
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .")
    return path


# --- the same observations as the HDF5 reader -------------------------------------------------
def test_npz_grid_reads_as_the_hdf5_file(tmp_path):
    x, t, u, k = _heat()
    np.savez(tmp_path / "heat.npz", x=x, t=t, usol=u, axes=np.array(["x", "t"]), k=k)
    _same(_read(tmp_path / "heat.npz"), _read(HEAT))


def test_npz_axes_attribute_reorders_a_transposed_field(tmp_path):
    x, t, u, k = _heat()
    np.savez(tmp_path / "tr.npz", x=x, t=t, usol=u.T, axes=np.array(["t", "x"]), k=k)
    _same(_read(tmp_path / "tr.npz", layout="grid"), _read(HEAT))


def test_npz_without_axes_matches_by_length(tmp_path):
    x, t, u, _ = _heat()
    np.savez(tmp_path / "short.npz", x=x, t=t[:50], usol=u[:, :50])
    obs = _read(tmp_path / "short.npz")
    assert obs.x.shape == (101 * 50, 2) and obs.truth == {}


def test_mat_v5_grid_reads_as_the_hdf5_file(tmp_path):
    x, t, u, k = _heat()
    scipy.io.savemat(tmp_path / "heat.mat", {"x": x, "t": t, "usol": u, "axes": "x,t", "k": k})
    _same(_read(tmp_path / "heat.mat"), _read(HEAT))


def test_mat_v73_is_read_as_hdf5(tmp_path):
    x, t, u, k = _heat()
    path = _v73(tmp_path / "heat.mat", x=x, t=t, usol=u)
    with h5py.File(path, "a") as f:
        f["usol"].attrs["axes"] = ["x", "t"]
        f.attrs["k"] = k
    _same(_read(path), _read(HEAT))


def test_scattered_csv_reads_as_the_hdf5_file(tmp_path):
    ref = _read(HEAT, n_obs=300, seed=1)
    rows = np.c_[ref.y[:, 0], ref.x]  # columns in any order, one unused
    rows = np.c_[rows, np.arange(len(rows))]
    path = _csv(tmp_path / "log.csv", ["temperature", "position", "time", "sensor"], rows,
                comment="# sensor log\n# k unknown\n")
    obs = _read(path, coords={"x": "position", "t": "time"}, fields={"u": "temperature"})
    np.testing.assert_array_equal(obs.x, ref.x)
    np.testing.assert_array_equal(obs.y, ref.y)
    assert obs.truth == {} and obs.n_available == 300


def test_grid_written_as_csv_rows_reads_as_the_hdf5_file(tmp_path):
    ref = _read(HEAT)
    path = _csv(tmp_path / "grid.csv", ["x", "t", "usol"], np.c_[ref.x, ref.y])
    _same(_read(path), ref, truth=False)
    _same(_read(path, layout="scattered"), ref, truth=False)


def test_scattered_npz_and_hdf5_agree(tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.uniform(0, 1, 40), rng.uniform(0, 0.5, 40)
    u = np.sin(np.pi * x) * np.exp(-t)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["x"], f["t"], f["usol"] = x, t, u
        f.attrs["layout"] = "scattered"
    np.savez(tmp_path / "s.npz", x=x, t=t, usol=u, layout="scattered")
    scipy.io.savemat(tmp_path / "s.mat", {"x": x, "t": t, "usol": u, "layout": "scattered"})
    ref = _read(tmp_path / "s.h5")
    for name in ("s.npz", "s.mat"):
        _same(_read(tmp_path / name), ref)


def test_csv_other_delimiters_and_inline_comments(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("x;t;usol  # header\n0;0;1\n0.5;0.1;2 # a note\n\n1;0.2;3\n")
    obs = _read(path)
    np.testing.assert_array_equal(obs.y[:, 0], [1, 2, 3])


def test_reading_never_writes_to_the_data_file(tmp_path):
    x, t, u, k = _heat()
    np.savez(tmp_path / "heat.npz", x=x, t=t, usol=u, axes=np.array(["x", "t"]), k=k)
    before = (tmp_path / "heat.npz").read_bytes()
    _read(tmp_path / "heat.npz")
    assert (tmp_path / "heat.npz").read_bytes() == before


# --- one message for each malformed file ------------------------------------------------------
CSV_TEXT = {  # malformed CSV files, as text
    "non_numeric": "x,t,usol\n0,0,1\n1,abc,2\n",
    "empty_cell": "x,t,usol\n0,0,1\n1,,2\n",
    "ragged": "x,t,usol\n0,0,1\n1,1\n",
    "empty": "",
    "only_comments": "# nothing\n\n",
    "header_only": "x,t,usol\n",
    "nan_csv": "x,t,usol\n0,0,1\n1,0.1,nan\n0.5,0.2,3\n",
}


def _write(tmp_path, kind):
    """A malformed file of each kind; returns (path, extra read arguments)."""
    x, t, u, k = _heat()
    p = tmp_path
    if kind in CSV_TEXT:
        (p / "o.csv").write_text(CSV_TEXT[kind])
        return p / "o.csv", {}
    if kind == "bad_header":
        return _csv(p / "o.csv", ["1", "2", "3"], [[0, 0, 1], [1, 1, 2]]), {}
    if kind == "duplicate_header":
        return _csv(p / "o.csv", ["x", "x", "usol"], [[0, 0, 1], [1, 1, 2]]), {}
    if kind == "missing_column":
        return _csv(p / "o.csv", ["x", "time", "usol"], [[0, 0, 1], [1, 1, 2]]), {}
    if kind == "binary_csv":
        (p / "o.csv").write_bytes(HEAT.read_bytes()[:4096])
        return p / "o.csv", {}
    if kind == "grid_csv":
        return _csv(p / "o.csv", ["x", "t", "usol"], [[0, 0, 1], [1, 1, 2]]), {"layout": "grid"}
    if kind == "pdebench_csv":
        return _csv(p / "o.csv", ["x", "t", "usol"], [[0, 0, 1], [1, 1, 2]]), \
            {"layout": "pdebench"}
    if kind == "nan_npz":
        u = u.copy()
        u[3, 4] = np.nan
        np.savez(p / "o.npz", x=x, t=t, usol=u, axes=np.array(["x", "t"]))
        return p / "o.npz", {}
    if kind == "object_npz":
        np.savez(p / "o.npz", x=x, t=t, usol=np.array([1, "a"], dtype=object))
        return p / "o.npz", {}
    if kind == "truncated_npz":
        np.savez(p / "full.npz", x=x, t=t, usol=u)
        (p / "o.npz").write_bytes((p / "full.npz").read_bytes()[:2000])
        return p / "o.npz", {}
    if kind == "missing_array":
        np.savez(p / "o.npz", x=x, t=t, temperature=u)
        return p / "o.npz", {}
    if kind == "ambiguous_npz":
        np.savez(p / "o.npz", x=x, t=t, usol=u)
        return p / "o.npz", {}
    if kind == "ambiguous_mat":
        scipy.io.savemat(p / "o.mat", {"x": x, "t": t, "usol": u})
        return p / "o.mat", {}
    if kind == "bad_axes":
        np.savez(p / "o.npz", x=x, t=t, usol=u, axes=np.array(["x", "y"]))
        return p / "o.npz", {}
    if kind == "numeric_axes":
        np.savez(p / "o.npz", x=x, t=t, usol=u, axes=np.array([0, 1]))
        return p / "o.npz", {}
    if kind == "string_field":
        np.savez(p / "o.npz", x=x, t=t, usol=np.array(["a", "b"]), axes=np.array(["x", "t"]))
        return p / "o.npz", {}
    if kind == "cell_mat":
        cell = np.empty((1, 2), dtype=object)
        cell[0, 0], cell[0, 1] = np.arange(3.0), "a"
        scipy.io.savemat(p / "o.mat", {"x": x, "t": t, "usol": cell})
        return p / "o.mat", {}
    if kind == "struct_mat":
        scipy.io.savemat(p / "o.mat", {"x": x, "t": t, "usol": {"values": u, "unit": "K"}})
        return p / "o.mat", {}
    if kind == "truncated_mat":
        scipy.io.savemat(p / "full.mat", {"x": x, "t": t, "usol": u})
        (p / "o.mat").write_bytes((p / "full.mat").read_bytes()[:1000])
        return p / "o.mat", {}
    if kind == "mat_named_npz":
        scipy.io.savemat(p / "o.npz", {"x": x, "t": t, "usol": u})
        return p / "o.npz", {}
    if kind == "text_mat":
        (p / "o.mat").write_text("x,t,usol\n")
        return p / "o.mat", {}
    if kind == "npy":
        np.save(p / "o.npy", np.c_[x, t, x])
        return p / "o.npy", {}
    if kind == "unknown_extension":
        (p / "o.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
        return p / "o.xlsx", {}
    if kind == "csv_named_npz":
        (p / "o.npz").write_text("x,t,usol\n0,0,1\n")
        return p / "o.npz", {}
    raise AssertionError(kind)


CASES = {  # the parts of each message (the file's path stands between them)
    "bad_header": ["holds numbers ['1', '2', '3'], not column names; add a header row"],
    "duplicate_header": ["names ['x'] more than once"],
    "missing_column": ["column(s) ['t'] not in the header of", "which has ['x', 'time', "
                       "'usol']; map data.coords/data.fields to those names"],
    "non_numeric": ["line 3 of", "o.csv', column 't', is 'abc', not a number"],
    "empty_cell": ["column 't', is empty, not a number"],
    "ragged": ["line 3 of", "o.csv' has 2 cells, the header 3"],
    "empty": ["is empty (no header, no rows)"],
    "only_comments": ["is empty (no header, no rows)"],
    "header_only": ["has a header but no rows"],
    "nan_csv": ["dataset 'usol' has 1 NaN/Inf values; remove or fill them"],
    "binary_csv": ["is not a text file", "its bytes are those of an HDF5 file: name it o.h5"],
    "grid_csv": ["data.layout=grid, but", "is a CSV file", "pass data.layout=scattered"],
    "pdebench_csv": ["data.layout=pdebench reads PDEBench HDF5 files"],
    "nan_npz": ["dataset 'usol' has 1 NaN/Inf values"],
    "object_npz": ["holds object arrays, which are not read"],
    "truncated_npz": ["cannot read", "o.npz' as an NPZ file", "np.savez("],
    "missing_array": ["data.fields.u: 'usol' is not in", "which has ['t', 'temperature', 'x']; "
                      "set data.fields.u=<one of those>"],
    "ambiguous_npz": ["cannot tell which axis of shape (101, 101)", "add an entry 'axes'",
                      "np.savez(..., axes=['x', 't'])"],
    "ambiguous_mat": ["cannot tell which axis of shape (101, 101)", "axes = 'x,t'"],
    "bad_axes": ["'axes' attribute ['x', 'y'] does not name the inputs"],
    "numeric_axes": ["entry 'axes' of", "not strings"],
    "string_field": ["holds |S1, not real numbers"],
    "cell_mat": ["o.mat' is a cell, object or function array, which is not read"],
    "struct_mat": ["o.mat' is a struct, which is not read"],
    "truncated_mat": ["cannot read", "o.mat' as a MATLAB file"],
    "mat_named_npz": ["cannot read", "its bytes are those of a MATLAB file: name it o.mat"],
    "text_mat": ["cannot read", "o.mat' as a MATLAB file"],
    "npy": ["is a .npy file, a single unnamed array", "np.savez('obs.npz', x=x, t=t, u=u)"],
    "unknown_extension": ["has extension '.xlsx', which is not a supported data format; pass "
                          "a file in HDF5 (.h5, .hdf5), CSV (.csv), NumPy (.npz) or MATLAB"],
    "csv_named_npz": ["cannot read", "o.npz' as an NPZ file"],
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_malformed_files_give_one_message(tmp_path, kind):
    path, kw = _write(tmp_path, kind)
    with pytest.raises(PinnFitError) as err:
        _read(path, **kw)
    message = str(err.value)
    assert "\n" not in message and all(part in message for part in CASES[kind]), message


def test_degenerate_csv_is_refused_as_hdf5_data_is(tmp_path):
    path = _csv(tmp_path / "c.csv", ["x", "t", "usol"], [[0, 0, 2.5], [1, 0.1, 2.5],
                                                         [0.5, 0.2, 2.5]])
    with pytest.raises(PinnFitError, match="is constant \\(all 3 values equal 2.5\\)"):
        _read(path)


def test_a_bad_truth_entry_is_ignored(tmp_path, caplog):
    x, t, u, _ = _heat()
    np.savez(tmp_path / "o.npz", x=x, t=t, usol=u, axes=np.array(["x", "t"]), k=np.nan)
    assert _read(tmp_path / "o.npz").truth == {}
    assert "truth of k is unknown" in caplog.text


def test_zip_that_is_not_npz(tmp_path):
    with zipfile.ZipFile(tmp_path / "o.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(PinnFitError, match="'x' is not in .*, which has \\['readme.txt'\\]"):
        _read(tmp_path / "o.npz")


# --- generated CSV text and damaged archives --------------------------------------------------
SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]  # tmp_path is reused
CELLS = st.sampled_from(["0", "1", "0.25", "-1e-3", "0.5", "nan", "inf", "", "abc", "1,2",
                         "\"0.1\"", " 0.3 ", "#c", "1e400", "x", "t", "usol"])


def _usable(obs):
    """What was accepted is usable: finite, matching shapes, not degenerate."""
    assert obs.x.shape[0] == obs.y.shape[0] > 1 and obs.x.shape[1] == 2
    assert np.isfinite(obs.x).all() and np.isfinite(obs.y).all()
    for v in (*obs.x.T, *obs.y.T):
        assert np.ptp(v) > 0


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW_OK)
@given(header=st.lists(st.sampled_from(["x", "t", "usol", "u", "", "1", "x"]), min_size=0,
                       max_size=4),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=0, max_size=6),
       sep=st.sampled_from([",", ";", "\t"]))
def test_generated_csv_text_gives_one_message_or_usable_data(tmp_path, header, rows, sep):
    path = tmp_path / "g.csv"
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]))
    try:
        obs = _read(path, domain=None)
    except PinnFitError as err:
        assert str(err) and "\n" not in str(err)
    else:
        _usable(obs)


@settings(max_examples=50, deadline=None, suppress_health_check=SLOW_OK)
@given(kind=st.sampled_from(["npz", "mat"]), cut=st.floats(0, 1), flip=st.integers(0, 10 ** 6),
       junk=st.binary(max_size=16))
@example(kind="mat", cut=0.033222141674242874, flip=254670, junk=b"\x00")  # scipy's own error
@example(kind="mat", cut=0.008030282368755802, flip=464508, junk=b"\x00" * 15)  # crashes scipy
def test_damaged_archives_give_one_message_or_usable_data(tmp_path, kind, cut, flip, junk):
    x, t, u, k = _heat()
    full = tmp_path / f"full.{kind}"
    if kind == "npz":
        np.savez_compressed(full, x=x, t=t, usol=u, axes=np.array(["x", "t"]), k=k)
    else:
        scipy.io.savemat(full, {"x": x, "t": t, "usol": u, "axes": "x,t", "k": k},
                         do_compression=bool(flip % 2))
    data = bytearray(full.read_bytes()[: int(cut * full.stat().st_size)])
    if data:
        at = flip % len(data)
        data[at:at + len(junk)] = junk
    path = tmp_path / f"o.{kind}"
    path.write_bytes(bytes(data))
    try:
        obs = _read(path)
    except PinnFitError as err:
        assert str(err) and "\n" not in str(err)
        assert "name it o." not in str(err)  # it is named as what it is
    else:
        _usable(obs)
