"""PDEBench layouts: the tensor files ([samples, t, x(, y)]) and the seed-grouped files."""
import h5py
import numpy as np
import pytest

from pinn_cli.io.observations import read_observations
from pinn_cli.errors import PinnFitError
from pinn_cli.solvers import heat1d_series

from conftest import QUICK, run_cli, run_dirs, summary

X, T = np.linspace(0, 1, 21), np.linspace(0, 0.5, 11)
KS = [0.05, 0.1, 0.2, 0.3]  # sample s is the heat solution with k = KS[s]
DOMAIN = {"x": (0.0, 1.0), "t": (0.0, 0.5)}
DOMAIN2 = DOMAIN | {"y": (0.0, 1.0)}


def _heat(k):
    return heat1d_series(X, T, k).T  # [t, x], PDEBench's axis order


def _tensor_file(path, t_coord=T, **mutate):
    """1D_Advection-like: tensor [samples, t, x], x-coordinate, t-coordinate, truth k."""
    with h5py.File(path, "w") as f:
        f["tensor"] = np.stack([_heat(k) for k in KS]).astype(np.float32)
        f["x-coordinate"], f["t-coordinate"] = X, t_coord
        f.attrs["k"] = 0.1
        for name, value in mutate.items():
            del f[name]
            f[name] = value
    return path


def _grouped_file(path, n=3, channels=2):
    """2D diffusion-reaction-like: groups 0000.. with data [t, x, y, c], grid/{t,x,y}; group s
    holds channel c = (c + 1) * heat(k=KS[s]) * (1 + y)."""
    y = np.linspace(0, 1, 5)
    with h5py.File(path, "w") as f:
        f.attrs["config"] = "sim: {name: 2d_diff-react}"
        for s in range(n):
            g = f.create_group(f"{s:04d}")
            base = _heat(KS[s])[:, :, None] * (1 + y)
            g["data"] = np.stack([(c + 1) * base for c in range(channels)], -1)
            g["grid/t"], g["grid/x"], g["grid/y"] = T, X, y
            g.attrs["k"] = KS[s]
    return path, y


def _read(path, **kw):
    args = dict(file=str(path), layout="pdebench", coords={"x": "x-coordinate",
                "t": "t-coordinate"}, fields={"u": "tensor"}, inputs=["x", "t"],
                outputs=["u"], unknowns=["k"], domain=DOMAIN)
    return read_observations(**(args | kw))


def _read_grouped(path, **kw):
    args = dict(layout="pdebench_grouped", coords={"x": "grid/x", "t": "grid/t", "y": "grid/y"},
                fields={"u": "0"}, inputs=["x", "y", "t"], domain=DOMAIN2)
    return _read(path, **(args | kw))


def _expected(obs, k):
    return [heat1d_series([x], [t], k)[0, 0] for x, t in obs.x]


@pytest.mark.parametrize("sample", [0, 2])
def test_tensor_layout_reads_the_chosen_sample(tmp_path, sample):
    obs = _read(_tensor_file(tmp_path / "adv.hdf5"), sample=sample)
    assert obs.x.shape == (21 * 11, 2) and obs.n_available == 231
    assert sorted(set(obs.x[:, 0])) == pytest.approx(X)
    assert sorted(set(obs.x[:, 1])) == pytest.approx(T)
    np.testing.assert_allclose(obs.y[:, 0], _expected(obs, KS[sample]), atol=1e-6)
    assert obs.truth == {"k": 0.1}


def test_tensor_layout_t_coordinate_with_one_more_entry_uses_the_first(tmp_path):
    edges = np.linspace(0, 0.55, 12)  # 12 times for 11 snapshots; edges[:11] == T
    obs = _read(_tensor_file(tmp_path / "adv.hdf5", t_coord=edges), sample=1)
    assert obs.x[:, 1].max() == pytest.approx(0.5)
    np.testing.assert_allclose(obs.y[:, 0], _expected(obs, KS[1]), atol=1e-6)


def test_tensor_layout_2d_with_y(tmp_path):
    y = np.linspace(0, 2, 4)
    path = tmp_path / "2d.hdf5"
    with h5py.File(path, "w") as f:
        f["tensor"] = np.stack([_heat(k)[:, :, None] * np.exp(y) for k in KS])  # [s, t, x, y]
        f["x-coordinate"], f["y-coordinate"], f["t-coordinate"] = X, y, T
    obs = _read(path, coords={"x": "x-coordinate", "y": "y-coordinate", "t": "t-coordinate"},
                inputs=["x", "y", "t"], domain=None, sample=3)
    assert obs.x.shape == (21 * 4 * 11, 3)
    want = [heat1d_series([a], [c], KS[3])[0, 0] * np.exp(b) for a, b, c in obs.x]
    np.testing.assert_allclose(obs.y[:, 0], want, atol=1e-12)


def test_tensor_layout_channels_and_named_datasets(tmp_path):
    path = tmp_path / "cfd.hdf5"
    with h5py.File(path, "w") as f:
        heat = np.stack([_heat(k) for k in KS])
        f["tensor"] = np.stack([heat, 2 * heat], -1)  # [s, t, x, 2]
        f["density"] = heat[..., None]  # a trailing channel axis of length 1 is dropped
        f["x-coordinate"], f["t-coordinate"] = X, T
    obs = read_observations(str(path), {"x": "x-coordinate", "t": "t-coordinate"},
                            {"u": 1, "v": "density"}, ["x", "t"], ["u", "v"], [],
                            layout="pdebench", sample=1)
    np.testing.assert_allclose(obs.y[:, 0], 2 * obs.y[:, 1])
    np.testing.assert_allclose(obs.y[:, 1], _expected(obs, KS[1]), atol=1e-12)


def test_grouped_layout_chooses_group_and_channels(tmp_path):
    path, y = _grouped_file(tmp_path / "rd.h5")
    obs = _read_grouped(path, fields={"u": "0", "v": "1"}, outputs=["u", "v"], sample=2)
    assert obs.x.shape == (21 * 5 * 11, 3) and obs.fields == ["u", "v"]
    assert sorted(set(obs.x[:, 1])) == pytest.approx(y)
    want = [heat1d_series([a], [c], KS[2])[0, 0] * (1 + b) for a, b, c in obs.x]
    np.testing.assert_allclose(obs.y[:, 0], want, atol=1e-12)
    np.testing.assert_allclose(obs.y[:, 1], 2 * np.asarray(want), atol=1e-12)
    assert obs.truth == {"k": KS[2]}  # the group's attribute


def test_grouped_layout_single_channel_by_dataset_name(tmp_path):
    path, _ = _grouped_file(tmp_path / "swe.h5", channels=1)
    a = _read_grouped(path, fields={"u": "data"}, sample=1)
    b = _read_grouped(path, fields={"u": 0}, sample=1)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.truth == {"k": KS[1]}


@pytest.mark.parametrize("mutate,kw,message", [
    ({}, {"sample": 4}, r"data.sample=4, but dataset 'tensor' .* holds 4 samples; choose "
                        r"data.sample=0..3"),
    ({}, {"sample": -1}, r"choose data.sample=0..3"),
    ({}, {"fields": {"u": "solution"}}, "dataset 'solution' is not in"),
    ({}, {"coords": {"x": "x-coordinate", "t": "time"}}, "'time' is not a PDEBench coordinate"),
    ({}, {"coords": {"x": "x-coordinate", "t": "x-coordinate"}}, "more than once"),
    ({"tensor": np.zeros((4, 11))}, {}, r"shape \(4, 11\) \(rank 2\).* needs "
                                        r"\[samples, t, x\] \(rank 3\)"),
    ({}, {"fields": {"u": "0"}}, "picks a channel, but dataset 'tensor' has shape"),
    ({"tensor": np.zeros((4, 11, 21, 3))}, {}, "has 3 channels"),
    ({"tensor": np.zeros((4, 11, 21, 3))}, {"fields": {"u": "3"}},
     r"channel index out of range, dataset 'tensor' has 3 channels; choose 0..2"),
    ({"t-coordinate": np.linspace(0, 0.5, 13)}, {}, "coordinates .* have"),
    ({"x-coordinate": np.linspace(0, 1, 22)}, {}, "coordinates .* have"),
    ({"tensor": np.full((4, 11, 21), np.nan)}, {}, "231 NaN/Inf values"),
    ({}, {"layout": "pdebench3"}, "choose auto, grid or scattered .* pdebench or pdebench_grouped"),
    ({}, {"file": "???"}, "data.file is not set"),
])
def test_tensor_layout_bad_inputs(tmp_path, mutate, kw, message):
    with pytest.raises(PinnFitError, match=message):
        _read(_tensor_file(tmp_path / "adv.hdf5", **mutate), **kw)


def test_grouped_layout_bad_inputs(tmp_path):
    path, _ = _grouped_file(tmp_path / "rd.h5")
    with pytest.raises(PinnFitError, match=r"has 3 seed groups \(0000..0002\); choose "
                                           r"data.sample=0..2"):
        _read_grouped(path, sample=3)
    with pytest.raises(PinnFitError, match="channel index out of range.* choose 0..1"):
        _read_grouped(path, fields={"u": "2"})
    with pytest.raises(PinnFitError, match="has 2 channels"):
        _read_grouped(path, fields={"u": "data"})
    with pytest.raises(PinnFitError, match=r"shape \(11, 21, 5, 2\), not \[t, x, channels\]"
                                           r".*add \+data.coords.y"):
        _read_grouped(path, coords={"x": "grid/x", "t": "grid/t"}, inputs=["x", "t"],
                      domain=DOMAIN)
    with pytest.raises(PinnFitError, match=r"dataset 'grid/z' is not in .* \(group '/0000'\)"):
        _read_grouped(path, coords={"x": "grid/x", "t": "grid/t", "y": "grid/z"})
    with h5py.File(path, "a") as f:
        f["0001/data"][0, 0, 0, 0] = np.nan
    with pytest.raises(PinnFitError, match="1 NaN/Inf values"):
        _read_grouped(path, sample=1)
    with pytest.raises(PinnFitError, match="has no groups .* use data.layout=pdebench"):
        _read_grouped(_tensor_file(tmp_path / "adv.hdf5"))
    with pytest.raises(PinnFitError, match="applies to the pdebench layouts only"):
        _read(path, layout="grid", sample=1)


def test_cli_fits_heat1d_from_a_pdebench_file(tmp_path):
    x, t = np.linspace(0, 1, 41), np.linspace(0, 0.5, 26)
    with h5py.File(tmp_path / "1D_Heat_Sols.hdf5", "w") as f:
        f["tensor"] = np.stack([heat1d_series(x, t, k).T for k in (0.2, 0.1)])
        f["x-coordinate"], f["t-coordinate"] = x, np.append(t, 0.52)
        f.attrs["k"] = 0.1
    r = run_cli(QUICK + ["data=pdebench", "data.file=1D_Heat_Sols.hdf5", "data.sample=1"],
                tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed"
    assert s["data_file"].endswith("1D_Heat_Sols.hdf5")
    assert s["unknowns"]["k"]["truth"] == pytest.approx(0.1)
