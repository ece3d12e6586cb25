"""The noise a file says it holds (its `noise` attribute, written by pinn-data) is read with
the observations and reported beside the noise data.noise adds."""
import h5py
import numpy as np
import pytest

from pinn_cli.io.observations import noise_phrase, read_observations


def _file(path, **attrs):
    x, t = np.meshgrid(np.linspace(0, 1, 9), np.linspace(0, 1, 7))
    with h5py.File(path, "w") as f:
        for name, v in (("x", x), ("t", t), ("u", np.sin(3 * x.ravel()) * np.exp(-t.ravel()))):
            f[name] = v.ravel()
        f.attrs.update(attrs)
    return path


def _read(path, noise=0.0):
    return read_observations(str(path), {}, {}, ["x", "t"], ["u"], ["k"], layout="scattered",
                             noise=noise)


@pytest.mark.parametrize("attrs, stated", [({"noise": 0.01}, 0.01), ({"noise": 0.0}, 0.0),
                                           ({}, None), ({"noise": "high"}, None)])
def test_the_files_noise_attribute_is_read(tmp_path, attrs, stated):
    assert _read(_file(tmp_path / "obs.h5", **attrs)).file_noise == stated


@pytest.mark.parametrize("added, in_file, phrase", [
    (0.0, 0.01, "noise: 1 % already in the file (attribute), none added"),
    (0.02, 0.01, "noise: 1 % already in the file (attribute), 2 % of std(field) added "
                 "(data.noise)"),
    (0.0, 0.0, "noise: none in the file (attribute), none added"),
    (0.0, None, "noise: none added; the file does not state its own (no noise attribute)"),
])
def test_the_start_up_line_says_where_the_noise_is(added, in_file, phrase):
    assert noise_phrase(added, in_file) == phrase
