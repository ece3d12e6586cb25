"""Residual and condition points (pinn_cli.io.collocation), as pinn-fit and pinn-query draw them."""
import pytest
import torch
from hydra import compose, initialize_config_module

from pinn_cli.io.collocation import draw_points, sample_box
from pinn_cli.schema import register
from pinn_cli.errors import PinnFitError
from pinn_cli.workflows.build import build, setup_torch

register()

DOMAIN = {"x": (-1.0, 1.0), "t": (0.0, 2.0)}


@pytest.mark.parametrize("sampler", ["sobol", "uniform"])
def test_points_lie_in_the_box_and_on_the_named_face(sampler):
    inside = sample_box(DOMAIN, 64, sampler, seed=3)
    assert inside.shape == (64, 2)
    assert inside[:, 0].min() >= -1 and inside[:, 0].max() <= 1
    assert inside[:, 1].min() >= 0 and inside[:, 1].max() <= 2
    face = sample_box(DOMAIN, 16, sampler, seed=3, at={"t": 0.0})
    assert torch.all(face[:, 1] == 0) and face[:, 0].std() > 0.3
    assert torch.equal(inside, sample_box(DOMAIN, 64, sampler, seed=3))  # the seed fixes them
    assert not torch.equal(inside, sample_box(DOMAIN, 64, sampler, seed=4))
    assert sample_box(DOMAIN, 0, sampler, seed=3).shape == (0, 2)  # none at all (Sobol too)


def _cfg(*overrides):
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        return compose("config", overrides=["pde=heat1d", *overrides])


def test_observations_alone_can_be_the_residual_points(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg("collocation.n_points=0", "data.n_obs=300")
    problem, obs, net, losses, unknowns = build(cfg, setup_torch(cfg))
    assert len(obs.x) == 300 and len(losses.colloc_x) == 300
    assert torch.allclose(losses.colloc_x, losses.obs_x)


def test_a_denser_phase_extends_the_draw_and_keeps_the_observations_last(tmp_path, monkeypatch):
    """Losses.use_density (schedule.finish_density): the first n_points stay, the next ones
    are the rest of the same Sobol draw, the observations' points stay at the end (the data
    term reads its values there)."""
    monkeypatch.chdir(tmp_path)
    cfg = _cfg("collocation.n_points=200", "data.n_obs=300")
    problem, obs, net, losses, unknowns = build(cfg, setup_torch(cfg))
    first = losses.colloc_x.clone()
    losses.use_density(2.5)
    assert len(losses.colloc_x) == 500 + 300
    assert torch.equal(losses.colloc_x[:200], first[:200])
    assert torch.equal(losses.colloc_x[-300:], losses.obs_x)
    drawn = sample_box(problem.domain, 500, "sobol", cfg.seed).to(first.dtype)
    assert torch.equal(losses.colloc_x[:500], drawn)
    losses.use_density(1.0)
    assert torch.equal(losses.colloc_x, first)
    bare = build(_cfg("collocation.n_points=0"), setup_torch(cfg))[3]
    bare.use_density(3.0)  # no random points to multiply: the observations' alone
    assert torch.equal(bare.colloc_x, bare.obs_x)


def test_each_condition_gets_its_own_points_on_its_face(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg("collocation.n_condition_points=50")
    problem = build(cfg, setup_torch(cfg))[0]
    colloc, cond = draw_points(problem, cfg.collocation, cfg.seed)
    assert len(colloc) == cfg.collocation.n_points and len(cond) == len(problem.conditions) > 0
    for points, (_, at) in zip(cond, problem.conditions):
        assert points.shape[0] == 50
        for name, value in at.items():
            assert torch.all(points[:, problem.inputs.index(name)] == value)


@pytest.mark.parametrize("overrides,trains,message", [
    (["collocation.n_points=-1"], True, "collocation.n_points must be >= 0"),
    (["collocation.n_points=0", "collocation.include_observations=false"], True,
     "no residual points: set collocation.n_points > 0"),
    (["collocation.n_points=0", "collocation.resample_every=10"], True,
     "with collocation.n_points > 0"),
    (["collocation.resample_every=10"], False, "pinn-query trains no network"),
])
def test_bad_collocation_settings_name_the_key(tmp_path, monkeypatch, overrides, trains, message):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg(*overrides)
    problem = build(_cfg(), setup_torch(cfg))[0]
    with pytest.raises(PinnFitError, match=message):
        draw_points(problem, cfg.collocation, cfg.seed, trains_network=trains)


def test_building_a_run_leaves_torchs_default_dtype_as_it_was(tmp_path, monkeypatch):
    """precision=float64 builds the network, the points and the unknowns in float64, and torch's
    process-wide default dtype is what it was before."""
    monkeypatch.chdir(tmp_path)
    before = torch.get_default_dtype()
    cfg = _cfg("precision=float64")
    problem, obs, net, losses, unknowns = build(cfg, setup_torch(cfg))
    assert torch.get_default_dtype() == before
    assert {p.dtype for p in net.parameters()} == {torch.float64}
    assert losses.colloc_x.dtype == losses.obs_x.dtype == torch.float64
    assert {p.dtype for p in unknowns.parameters()} == {torch.float64}
