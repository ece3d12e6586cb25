"""Data-parallel fits with torch.distributed, started by `torchrun` (or `srun`): each rank holds
a shard of every point set (observations, residual, condition and periodic points), each loss
term is its local sum over the global count summed over the ranks, and so are the gradients.
Every rank therefore sees the global loss and gradient and takes the same optimiser steps,
L-BFGS and its line search included; the result does not depend on the number of ranks beyond
rounding. A single-process run (`world` = 1) calls none of torch.distributed."""
import datetime
import os
import re
from typing import Dict, Iterable

import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.training.launch import launch_rank

# what a rank waits for the others at a collective before the run fails (a dead or stuck rank)
TIMEOUT = datetime.timedelta(minutes=10)


class Ranks:
    """This process's place among the fit's processes: `rank` of `world`, `local_rank` on its
    machine (its GPU with device=cuda). With `world` = 1 every method is the identity."""

    def __init__(self, *, rank: int = 0, world: int = 1, local_rank: int = 0):
        self.rank, self.world, self.local_rank = rank, world, local_rank

    @classmethod
    def from_env(cls, env=None) -> "Ranks":
        """The launcher's variables (training.launch.launch_rank: torchrun's, else srun's or submitit's)."""
        rank, world, local = launch_rank(env)
        return cls(rank=rank, world=world, local_rank=local)

    @property
    def parallel(self) -> bool:
        return self.world > 1

    @property
    def writes(self) -> bool:
        """Whether this rank writes the run folder (rank 0)."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The rank's own GPU (cuda:LOCAL_RANK) for device=cuda; the CPU as it is."""
        if self.parallel and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def start(self, device: torch.device) -> None:
        """Join the process group: NCCL on GPUs, gloo on CPUs. torchrun sets MASTER_ADDR and
        MASTER_PORT, submitit's launcher gives them; under srun alone they must be exported
        (docs/parallel.md)."""
        if not self.parallel:
            return
        import torch.distributed as dist

        missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing and os.environ.get("SUBMITIT_EXECUTOR"):  # a job of the submitit launcher
            from submitit.helpers import TorchDistributedEnvironment

            TorchDistributedEnvironment().export()  # its first node and a port from the job id
            missing = []
        if missing:
            raise PinnFitError(f"{self.world} ranks but {' and '.join(missing)} not set: start "
                               "the fit with torchrun, or export MASTER_ADDR (the first node's "
                               "host name) and MASTER_PORT (a free port) before srun")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=self.rank,
                                world_size=self.world, timeout=TIMEOUT)

    def finish(self) -> None:
        """Leave the process group (every rank, after its last collective)."""
        if self.parallel:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # --- points ---------------------------------------------------------------------------
    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a point set: every `world`-th from `rank`."""
        return x[self.rank::self.world] if self.parallel else x

    def shard_pairs(self, x: torch.Tensor) -> torch.Tensor:
        """A periodic pair set (n points on one face, then their n partners) sharded by pair."""
        n = len(x) // 2
        return torch.cat([self.shard(x[:n]), self.shard(x[n:])]) if self.parallel else x

    # --- reductions -------------------------------------------------------------------------
    def total(self, parts: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Each term's sum over the ranks, in one collective: its value is the global one, its
        gradient this rank's part (`sum_gradients` adds the parts)."""
        if not self.parallel:
            return parts
        summed = _SumOverRanks.apply(torch.stack(list(parts.values())))
        return dict(zip(parts, summed.unbind()))

    def sum_gradients(self, tensors: Iterable[torch.Tensor]) -> None:
        """Replace each tensor's .grad by its sum over the ranks, in one collective (the
        tensors without a gradient are the same on every rank: the graphs are)."""
        if not self.parallel:
            return
        tensors = [t for t in tensors if t.grad is not None]
        if not tensors:
            return
        flat = self.sum(torch.cat([t.grad.reshape(-1) for t in tensors]))
        for t, g in zip(tensors, flat.split([t.numel() for t in tensors])):
            t.grad = g.view_as(t).clone()

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        """x summed over the ranks (a copy; no gradient)."""
        if not self.parallel:
            return x
        x = x.detach().clone()
        _all_reduce(x)
        return x

    def any(self, flag: bool) -> bool:
        """Whether `flag` is set on any rank: a stop asked of one rank stops all at one step."""
        if not self.parallel:
            return flag
        import torch.distributed as dist

        on = torch.device("cuda", torch.cuda.current_device()) \
            if dist.get_backend() == "nccl" else torch.device("cpu")  # NCCL: GPU tensors only
        return bool(self.sum(torch.tensor([float(flag)], device=on)).item())


class RankLost(PinnFitError):
    """Another rank stopped in the middle of the fit (killed, out of memory, its machine
    lost): the run ends interrupted, and its last checkpoint resumes with any number of
    ranks."""

    exit_code = 130
    status = "interrupted"


def _all_reduce(x: torch.Tensor) -> None:
    """x summed over the ranks in place; a rank that is gone ends the run (RankLost)."""
    import torch.distributed as dist

    try:
        dist.all_reduce(x)
    except RuntimeError as err:
        # gloo's first sentence, without its source location: "Connection reset by peer"
        why = re.sub(r"^\[[^\]]*\]\s*", "", str(err).strip()).split(". ")[0] \
            or type(err).__name__
        raise RankLost(f"another rank of this data-parallel fit stopped ({why}); the run "
                       "stopped with it and its last checkpoint stays: continue it with "
                       "pinn-fit resume=RUN_FOLDER, under torchrun or in one process") from None


class _SumOverRanks(torch.autograd.Function):
    """y = Σ_ranks x; the backward passes the gradient through unchanged, so each rank's
    parameters get the gradient of its own part of the sum."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        _all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad


def refuse_unsharded(*, weighting: str, causal_epsilon: float, ranks: Ranks) -> None:
    """What does not run data-parallel yet: one message naming the setting."""
    if not ranks.parallel:
        return
    if weighting.endswith(".NTK"):
        raise PinnFitError(f"weighting=ntk is not data-parallel (its traces need every point "
                           f"on one rank); with {ranks.world} ranks choose weighting=fixed, "
                           "annealing or grad_norm, or run it in one process")
    if causal_epsilon > 0:
        raise PinnFitError(f"causal.epsilon={causal_epsilon}: causal training is not "
                           f"data-parallel (its window weights need every point on one rank); "
                           f"with {ranks.world} ranks set causal.epsilon=0, or run it in one "
                           "process")
