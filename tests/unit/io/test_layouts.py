"""A grid file's axis order given as data.axes, a `layout` attribute of free text, and datasets
read under the names of the pde's inputs and outputs."""
import logging

import h5py
import numpy as np
import pytest

from pinn_cli.errors import PinnFitError
from pinn_cli.io.observations import read_observations
from pinn_cli.solvers import heat1d_series

DOMAIN = {"x": (0.0, 1.0), "t": (0.0, 0.5)}


def _read(path, **kw):
    args = dict(file=str(path), coords={"x": "x", "t": "t"}, fields={"u": "u"}, layout="auto",
                inputs=["x", "t"], outputs=["u"], unknowns=["k"], domain=DOMAIN)
    return read_observations(**(args | kw))


def _square(tmp_path, name="sq.h5", axes=None, layout=None, nt=11):
    """u(x, t) of the heat equation stored as [t, x], with 11 points in x and `nt` in t."""
    x, t = np.linspace(0, 1, 11), np.linspace(0, 0.5, nt)
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        f["x"], f["t"], f["u"] = x, t, heat1d_series(x, t, 0.1).T
        if axes is not None:
            f["u"].attrs["axes"] = axes
        if layout is not None:
            f.attrs["layout"] = layout
    return path


def _exact(obs):
    return np.array([heat1d_series([a], [b], 0.1)[0, 0] for a, b in obs.x])


def test_data_axes_names_the_order_of_equal_length_axes(tmp_path):
    path = _square(tmp_path)
    with pytest.raises(PinnFitError, match=r"name its axes in order: data.axes=\[x,t\]"):
        _read(path)
    obs = _read(path, axes=["t", "x"])
    np.testing.assert_allclose(obs.y[:, 0], _exact(obs), atol=1e-12)


def test_data_axes_replaces_a_wrong_axes_attribute(tmp_path, caplog):
    path = _square(tmp_path, axes=["x", "t"])
    wrong = _read(path)
    assert np.abs(wrong.y[:, 0] - _exact(wrong)).max() > 0.1
    with caplog.at_level(logging.INFO, logger="pinn-fit"):
        obs = _read(path, axes=["t", "x"])
    np.testing.assert_allclose(obs.y[:, 0], _exact(obs), atol=1e-12)
    assert "data.axes=['t', 'x'] replaces the 'axes' attribute ['x', 't'] of 'u'" in caplog.text


def test_data_axes_by_dataset_name_and_for_npz(tmp_path):
    x, t = np.linspace(0, 1, 11), np.linspace(0, 0.5, 11)
    np.savez(tmp_path / "sq.npz", position=x, time=t, u=heat1d_series(x, t, 0.1).T)
    obs = _read(tmp_path / "sq.npz", coords={"x": "position", "t": "time"},
                axes=["time", "position"])
    np.testing.assert_allclose(obs.y[:, 0], _exact(obs), atol=1e-12)


@pytest.mark.parametrize("axes,message", [
    (["x", "t"], r"'u' has shape \(21, 11\), which does not match the axis order \['x', 't'\] "
                 r"\(lengths \(11, 21\)\) that data.axes gives; name them in the order they are "
                 r"stored: data.axes=\[t,x\]"),
    (["x", "y"], r"data.axes \['x', 'y'\] does not name the inputs \['x', 't'\]"),
    (["t"], r"data.axes \['t'\] does not name the inputs"),
])
def test_data_axes_that_contradict_the_file_give_one_message(tmp_path, axes, message):
    with pytest.raises(PinnFitError, match=message):
        _read(_square(tmp_path, nt=21), axes=axes)


def test_data_axes_applies_to_grid_files_only(tmp_path):
    with pytest.raises(PinnFitError, match="data.layout=scattered has its own axis order"):
        _read(_square(tmp_path), layout="scattered", axes=["t", "x"])


@pytest.mark.parametrize("layout", ["measured on a 2-D grid", "Grid", b"\xff\xfe"])
def test_a_layout_attribute_of_free_text_is_ignored_with_a_note(tmp_path, caplog, layout):
    path = _square(tmp_path, layout=layout, nt=21)
    with caplog.at_level(logging.INFO, logger="pinn-fit"):
        obs = _read(path)
    np.testing.assert_allclose(obs.y[:, 0], _exact(obs), atol=1e-12)
    assert "which is not a layout (grid or scattered): ignored, read as grid" in caplog.text


def test_a_layout_attribute_that_names_a_layout_is_followed(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["t"], f["u"] = np.linspace(0, 1, 30), np.linspace(0, 0.5, 30), np.arange(30.)
        f.attrs["layout"] = "scattered"
    assert _read(path).x.shape == (30, 2)


def test_datasets_named_like_the_inputs_and_outputs_need_no_mapping(tmp_path):
    path = _square(tmp_path, nt=21)
    obs = _read(path, coords={}, fields={})
    np.testing.assert_allclose(obs.y[:, 0], _exact(obs), atol=1e-12)
    assert obs.fields == ["u"] and obs.truth == {}
    with pytest.raises(PinnFitError, match=r"has no dataset \['v'\] \(it has \['t', 'u', 'x'\]\)"
                                           r"; name the datasets of the observed fields, e.g. "
                                           r"\+data.fields.u=NAME"):
        _read(path, coords={}, fields={}, outputs=["u", "v"])


def test_a_missing_file_names_the_datasets_it_must_hold():
    with pytest.raises(PinnFitError, match=r"data.file is not set: pass data.file=PATH/TO/FILE.h5"
                                           r". The data option reads the datasets named like the "
                                           r"pde's inputs \(x, t\) and outputs \(u\)"):
        _read("???", coords={}, fields={})
