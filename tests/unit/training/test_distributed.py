"""The pieces of a data-parallel fit that need no second process: which rank this is, a rank's
command line, what is refused, and the sharding of the loss terms (each rank's parts add up to
the one-process terms)."""
import pytest
import torch
from hydra import compose, initialize_config_module

from pinn_cli.cli.ranks import rank_argv
from pinn_cli.errors import PinnFitError
from pinn_cli.schema import register
from pinn_cli.training.distributed import Ranks, refuse_unsharded
from pinn_cli.training.launch import launch_rank
from pinn_cli.workflows.build import build


@pytest.mark.parametrize("env, expected", [
    ({}, (0, 1, 0)),
    ({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, (1, 4, 1)),
    ({"SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "8", "SLURM_LOCALID": "3"}, (3, 8, 3)),
    # an salloc or sbatch shell holds SLURM_NTASKS but is one process until srun starts tasks
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}, (0, 1, 0)),
    # torchrun inside srun: torchrun's variables win
    ({"RANK": "0", "WORLD_SIZE": "2", "SLURM_PROCID": "1", "SLURM_STEP_NUM_TASKS": "2"},
     (0, 2, 0)),
])
def test_the_rank_comes_from_the_launcher(env, expected):
    assert launch_rank(env) == expected


def test_a_garbled_rank_variable_is_named():
    with pytest.raises(PinnFitError, match="RANK='x'"):
        launch_rank({"RANK": "x", "WORLD_SIZE": "2"})


def test_another_rank_writes_no_run_folder_and_rank_0_is_unchanged():
    argv = ["pinn-fit", "pde=heat1d", "hydra.run.dir=out", "resume=out"]
    assert rank_argv(argv, {"RANK": "0", "WORLD_SIZE": "2"}) == argv
    other = rank_argv(argv, {"RANK": "1", "WORLD_SIZE": "2"})
    assert "hydra.run.dir=out" not in other and "resume=out" in other
    assert "hydra.output_subdir=null" in other and "hydra/job_logging=console" in other
    assert [a for a in other if a.startswith("hydra.run.dir=")][0].split("/")[-1] \
        .startswith("pinn-fit-rank1-")
    with pytest.raises(PinnFitError, match="-m under a launcher with 2 ranks"):
        rank_argv(["pinn-fit", "-m", "seed=0,1"], {"RANK": "0", "WORLD_SIZE": "2"})


@pytest.mark.parametrize("kwargs, message", [
    ({"weighting": "pinn_cli.training.weighting.NTK", "causal_epsilon": 0.0},
     "weighting=ntk is not data-parallel"),
    ({"weighting": "pinn_cli.training.weighting.Fixed", "causal_epsilon": 1.0},
     "causal.epsilon=1.0: causal training is not data-parallel"),
])
def test_what_is_not_data_parallel_is_refused_on_several_ranks_only(kwargs, message):
    refuse_unsharded(**kwargs, ranks=Ranks())
    with pytest.raises(PinnFitError, match=message):
        refuse_unsharded(**kwargs, ranks=Ranks(rank=0, world=2))


class _Alone(Ranks):
    """A rank of `world` without the process group: its sums are its own parts."""

    def total(self, parts):
        return parts


def _losses(pde, ranks, window=None):
    register()
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"pde={pde}", "precision=float64",
                                           "collocation.n_points=301"])
    torch.manual_seed(0)
    problem, _, net, losses, unknowns = build(cfg, torch.device("cpu"), ranks)
    losses.restrict_time(window)
    return losses, net, unknowns.physical()


@pytest.mark.parametrize("pde, window", [("heat1d", None), ("burgers2d_periodic", None),
                                         ("heat1d", 0.5)])
def test_the_ranks_parts_add_up_to_the_one_process_terms(pde, window):
    """Observations, residual points (the observations' rows last), conditions and periodic
    pairs: three ranks' shards give the terms of one process, and every point is in one shard."""
    losses, net, params = _losses(pde, Ranks(), window)
    whole = losses(net, params)
    parts = [_losses(pde, _Alone(rank=r, world=3), window) for r in range(3)]
    for term, value in whole.items():
        summed = sum(float(ls(n, p)[term]) for ls, n, p in parts)
        assert summed == pytest.approx(float(value), rel=1e-12, abs=1e-15), term
    assert sum(len(ls.colloc_x) for ls, _, _ in parts) == len(losses.colloc_x)
    assert sum(len(ls.obs_x) for ls, _, _ in parts) == len(losses.obs_x)
    shard = parts[1][0]
    tail = len(shard.obs_x)  # this shard's observations are the last rows of its residual points
    assert torch.equal(shard.colloc_x[len(shard.colloc_x) - tail:], shard.obs_x)
    shard.unshard()
    assert torch.equal(shard.colloc_x, losses.colloc_x)
