"""HDF5 layouts, sampling, noise, truth, and every malformed input's message."""
import re

import h5py
import numpy as np
import pytest

from pinn_cli.io.observations import read_observations
from pinn_cli.errors import PinnFitError
from pinn_cli.solvers import heat1d_series

DOMAIN = {"x": (0.0, 1.0), "t": (0.0, 0.5)}


def _read(path, **kw):
    args = dict(file=str(path), coords={"x": "x", "t": "t"}, fields={"u": "usol"},
                inputs=["x", "t"], outputs=["u"], unknowns=["k"], domain=DOMAIN)
    return read_observations(**(args | kw))


def test_grid_layout_pairs_values_with_coordinates(grid_file):
    obs = _read(grid_file())
    assert obs.x.shape == (21 * 11, 2) and obs.y.shape == (231, 1)
    expected = [heat1d_series([a], [b], 0.1)[0, 0] for a, b in obs.x]
    np.testing.assert_allclose(obs.y[:, 0], expected, atol=1e-14)
    assert obs.truth == {"k": 0.1}


def test_grid_axes_attribute_and_transposed_field(grid_file):
    a, b = _read(grid_file()), _read(grid_file("tr.h5", transpose=True))
    order_a, order_b = np.lexsort(a.x.T), np.lexsort(b.x.T)
    np.testing.assert_allclose(a.x[order_a], b.x[order_b])
    np.testing.assert_allclose(a.y[order_a], b.y[order_b])


def test_grid_without_axes_attribute_matches_by_length(grid_file):
    a, b = _read(grid_file()), _read(grid_file("noaxes.h5", axes=False))
    np.testing.assert_allclose(a.y, b.y)


def test_scattered_layout(tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.uniform(0, 1, 50), rng.uniform(0, 0.5, 50)
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f["xs"], f["ts"], f["u"] = x, t, np.sin(x) * t
    obs = _read(path, layout="scattered", coords={"x": "xs", "t": "ts"}, fields={"u": "u"})
    np.testing.assert_allclose(obs.x, np.stack([x, t], 1))
    np.testing.assert_allclose(obs.y[:, 0], np.sin(x) * t)
    assert obs.truth == {}


def test_sampling_and_noise_are_seeded(grid_file):
    path = grid_file()
    clean = _read(path, n_obs=100, seed=3)
    again = _read(path, n_obs=100, seed=3)
    noisy = _read(path, n_obs=100, seed=3, noise=0.05)
    other = _read(path, n_obs=100, seed=4)
    np.testing.assert_array_equal(clean.x, again.x)
    assert not np.array_equal(clean.x, other.x)
    full = _read(path)
    ratio = (noisy.y - clean.y).std() / full.y.std()
    assert 0.03 < ratio < 0.07  # noise = 0.05 * std(field)


@pytest.mark.parametrize("mutate,kw,message", [
    ({}, {"fields": {"u": "temperature"}}, "dataset 'temperature' is not in"),
    ({"usol": np.zeros((21, 12))}, {}, "does not match the axis order"),
    ({"usol": np.zeros((21,))}, {}, "does not match"),
    ({"usol": np.full((21, 11), np.nan)}, {}, "231 NaN/Inf values"),
    ({"usol": np.array([b"a", b"b"])}, {}, "not real numbers"),
    ({"x": np.zeros((0,))}, {}, "is empty"),
    ({"x": np.zeros((21, 2))}, {}, "must be 1-D"),
    ({}, {"n_obs": 10_000}, "data.n_obs=10000"),
    ({}, {"noise": -1.0}, "data.noise"),
    ({}, {"coords": {"x": "x", "y": "x"}}, "names \\['y'\\], which are not pde inputs"),
    ({}, {"fields": {"v": "usol"}}, "not pde outputs"),
    ({}, {"layout": "mesh"}, "choose auto, grid or scattered"),
    ({}, {"domain": {"x": (0.0, 0.5), "t": (0.0, 0.5)}}, "outside pde.inputs.x"),
])
def test_malformed_inputs(grid_file, mutate, kw, message):
    with pytest.raises(PinnFitError, match=message):
        _read(grid_file(**mutate), **kw)


def test_missing_directory_and_non_hdf5(tmp_path):
    with pytest.raises(PinnFitError, match="does not exist"):
        _read(tmp_path / "nope.h5")
    with pytest.raises(PinnFitError, match="is a directory"):
        _read(tmp_path)
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(PinnFitError, match="cannot read .* as HDF5"):
        _read(text)


def test_shipped_data_found_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    obs = _read("data/heat1d.h5")
    assert obs.truth == {"k": pytest.approx(0.1)}
    assert obs.file.endswith("heat1d.h5")


@pytest.mark.parametrize("path", ["mydata/heat1d.h5", "../elsewhere/heat1d.h5"])
def test_a_missing_file_in_another_folder_never_falls_back_to_shipped_data(path, tmp_path,
                                                                          monkeypatch):
    """Only the shipped files' own names (NAME.h5, data/NAME.h5) fall back to the shipped copy:
    a typo in a folder name fails instead of silently reading the shipped heat1d data."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PinnFitError, match="heat1d.h5"):
        _read(path)
    assert _read("heat1d.h5").truth == {"k": pytest.approx(0.1)}


# --- truth attributes that are not a finite real number --------------------------------------
@pytest.mark.parametrize("value,why", [
    (np.nan, "is nan, not a finite number"),
    (np.inf, "is inf, not a finite number"),
    (-np.inf, "is -inf, not a finite number"),
    ("0.1", "is '0.1'"),
    (b"fast", "is 'fast'"),
    (np.array([0.1, 0.2]), r"is an array of shape \(2,\), not one number"),
    (np.zeros((0,)), r"is an array of shape \(0,\), not one number"),
    (1 + 2j, "not a real number"),
    (np.bool_(True), "not a real number"),
    (h5py.Empty("f8"), "not a real number"),
])
def test_a_truth_attribute_that_is_not_a_finite_number_is_ignored_with_a_warning(
        grid_file, caplog, value, why):
    path = grid_file()
    with h5py.File(path, "a") as f:
        f.attrs["k"] = value
    with caplog.at_level("WARNING", logger="pinn-fit"):
        obs = _read(path)
    assert obs.truth == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "attribute 'k'" in warnings[0] and "truth of k is unknown" in warnings[0]
    assert re.search(why, warnings[0]), warnings[0]


@pytest.mark.parametrize("value", [2, np.float32(0.25), np.array([0.1]), np.array([[0.1]])])
def test_a_truth_attribute_of_one_real_number_is_the_truth(grid_file, value):
    path = grid_file()
    with h5py.File(path, "a") as f:
        f.attrs["k"] = value
    assert _read(path).truth == {"k": pytest.approx(float(np.asarray(value).reshape(-1)[0]))}


# --- data that cannot identify anything ------------------------------------------------------
def _heat():
    from pinn_cli.solvers import heat1d_series
    return heat1d_series(np.linspace(0, 1, 21), np.linspace(0, 0.5, 11), 0.1)


@pytest.mark.parametrize("mutate,kw,message", [
    ({"usol": np.full((21, 11), 3.0)}, {}, r"'usol' in .* is constant \(all 231 values equal 3\)"),
    ({"usol": np.zeros((21, 11))}, {}, r"is constant \(all 231 values equal 0\)"),
    ({"usol": 1 + 1e-14 * _heat()}, {}, r"is constant \(its values vary by only .*at most 1e-12"),
    ({"usol": 1e-35 * _heat()}, {}, r"largest \|u\| is 1.06e-35, below 1e-30.*rescale the data: "
                                    r"express u in a unit 1e\+35 times smaller"),
    ({"t": np.array([0.25]), "usol": _heat()[:, :1]}, {},
     r"data.coords.t: all 21 points of .* have t = 0.25"),
    ({"t": 0.25 + 1e-14 * np.arange(11)}, {"domain": None},
     r"data.coords.t: the points of .* span t by only 1e-13.*rescale the data: measure t from "
     r"0.25 in a unit 1e\+13 times smaller"),
    ({"x": np.array([0.5]), "t": np.array([0.25]), "usol": np.ones((1, 1))},
     {"layout": "scattered"},
     "only 1 observation in .*: one point identifies no field and no unknown; give a file"),
    ({}, {"n_obs": 1}, r"only 1 observation in the 1 points drawn .*use data.n_obs=2 or more"),
    ({}, {"n_obs": 2, "unknowns": ["a", "b", "c"]},
     r"2 observations of 1 field\(s\) .* give 2 values for the 3 unknowns \['a', 'b', 'c'\]: "
     "fewer values than unknowns cannot determine them; use data.n_obs=3 or more"),
])
def test_degenerate_data_is_refused_before_training(grid_file, mutate, kw, message):
    with pytest.raises(PinnFitError, match=message) as err:
        _read(grid_file(**mutate), **kw)
    assert "\n" not in str(err.value)


def test_a_draw_of_constant_values_from_a_varying_field_is_refused(grid_file):
    u = np.zeros((21, 11))
    u[0, 0] = 1.0
    path = grid_file(usol=u)
    with pytest.raises(PinnFitError, match=r"the 5 points drawn from .* is constant .*draw more "
                                           r"points \(data.n_obs, up to 231\) or others"):
        _read(path, n_obs=5)


def test_spread_limits_are_relative_to_the_magnitude(grid_file):
    """Values of order 1e-20 that vary, and coordinates far from 0 that spread, are accepted."""
    obs = _read(grid_file(usol=1e-20 * _heat()))
    assert obs.y.max() == pytest.approx(1e-20)
    obs = _read(grid_file(t=1e6 + np.linspace(0, 0.5, 11)), domain=None)
    assert np.ptp(obs.x[:, 1]) == pytest.approx(0.5)


# --- datasets larger than the memory ---------------------------------------------------------
def test_a_dataset_declared_larger_than_the_memory_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        for name in ("xs", "ts", "u"):  # 8 TB each, declared; nothing written on disk
            f.create_dataset(name, shape=(10 ** 12,), dtype="f8", chunks=(4096,))
    assert path.stat().st_size < 100_000
    with pytest.raises(PinnFitError, match=r"data.coords.x: dataset 'xs' .* declares shape "
                                           r"\(1000000000000,\) of float64, 8 TB once read .* "
                                           "more than half of the .* of memory available"):
        _read(path, layout="scattered", coords={"x": "xs", "t": "ts"}, fields={"u": "u"})


def test_the_memory_check_counts_the_part_read_and_its_float64_copy(tmp_path, monkeypatch):
    from pinn_cli.io import hdf5

    with h5py.File(tmp_path / "t.h5", "w") as f:
        ds = f.create_dataset("tensor", shape=(4, 11, 21), dtype="f4")
        one = 11 * 21 * 8  # one sample, as float64
        monkeypatch.setattr(hdf5, "available_memory", lambda: 2 * one)
        hdf5.check_fits_memory(ds, "tensor", "data.fields.u", (0, Ellipsis))
        with pytest.raises(PinnFitError, match=r"declares shape \(4, 11, 21\) of float32, "
                                               r"7.39 KB once read"):
            hdf5.check_fits_memory(ds, "tensor", "data.fields.u")
        monkeypatch.setattr(hdf5, "available_memory", lambda: None)  # unknown: not checked
        hdf5.check_fits_memory(ds, "tensor", "data.fields.u")


def test_available_memory_is_a_positive_byte_count():
    from pinn_cli.io.hdf5 import available_memory

    avail = available_memory()
    assert avail is None or 0 < avail < 2 ** 60


# --- links and virtual datasets --------------------------------------------------------------
@pytest.mark.parametrize("link,message", [
    (lambda d: h5py.SoftLink("/nowhere"), "'usol' is a soft link to '/nowhere', which does not "
                                          "exist"),
    (lambda d: h5py.ExternalLink("gone.h5", "/u"), "'usol' is an external link to '/u' in file "
                                                   "'gone.h5', which is missing"),
    (lambda d: h5py.ExternalLink(str(d / "other.h5"), "/nothere"),
     "'usol' is an external link to '/nothere' in file .*other.h5', which has no object "
     "'/nothere' or cannot be read"),
])
def test_a_link_to_a_missing_target_names_the_dataset(grid_file, tmp_path, link, message):
    path = grid_file()
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["u"] = np.zeros(3)
    with h5py.File(path, "a") as f:
        del f["usol"]
        f["usol"] = link(tmp_path)
    with pytest.raises(PinnFitError, match=f"data.fields.u: dataset 'usol' in .* cannot be opened: "
                                           f"{message}; fix the link"):
        _read(path)


def test_working_links_and_virtual_datasets_are_read(grid_file, tmp_path):
    ref = _read(grid_file())
    path = grid_file("links.h5")
    with h5py.File(tmp_path / "source.h5", "w") as f:
        f["u"] = _heat()
    with h5py.File(path, "a") as f:
        f["xx"] = f["x"][()]
        del f["x"], f["usol"]
        f["x"] = h5py.SoftLink("/xx")
        f["t_ext"] = h5py.ExternalLink("source.h5", "/u")  # unused, but it resolves
        layout = h5py.VirtualLayout(shape=(21, 11), dtype="f8")
        layout[:] = h5py.VirtualSource("source.h5", "u", shape=(21, 11))
        f.create_virtual_dataset("usol", layout)
        f["usol"].attrs["axes"] = ["x", "t"]
    obs = _read(path)
    np.testing.assert_allclose(obs.y, ref.y)


@pytest.mark.parametrize("source,dataset,message", [
    ("gone.h5", "u", "its source file 'gone.h5' is missing"),
    ("source.h5", "nothere", "source dataset 'nothere' is not in 'source.h5'"),
])
def test_a_virtual_dataset_with_a_missing_source_is_refused(grid_file, tmp_path, source, dataset,
                                                            message):
    path = grid_file()
    with h5py.File(tmp_path / "source.h5", "w") as f:
        f["u"] = _heat()
    with h5py.File(path, "a") as f:
        del f["usol"]
        layout = h5py.VirtualLayout(shape=(21, 11), dtype="f8")
        layout[:] = h5py.VirtualSource(source, dataset, shape=(21, 11))
        f.create_virtual_dataset("usol", layout, fillvalue=0.0)
    with pytest.raises(PinnFitError, match=f"data.fields.u: dataset 'usol' in .* is a virtual "
                                           f"dataset.*{message}.*fill values"):
        _read(path)
