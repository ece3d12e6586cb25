"""HDF5 layouts, sampling, noise, truth, and every malformed input's message."""
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
    ({"usol": np.zeros((21, 12))}, {}, "does not match the coordinate lengths"),
    ({"usol": np.zeros((21,))}, {}, "does not match"),
    ({"usol": np.full((21, 11), np.nan)}, {}, "231 NaN/Inf values"),
    ({"usol": np.array([b"a", b"b"])}, {}, "not real numbers"),
    ({"x": np.zeros((0,))}, {}, "is empty"),
    ({"x": np.zeros((21, 2))}, {}, "must be 1-D"),
    ({}, {"n_obs": 10_000}, "data.n_obs=10000"),
    ({}, {"noise": -1.0}, "data.noise"),
    ({}, {"coords": {"x": "x"}}, "missing \\['t'\\]"),
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
