"""Which process of a data-parallel fit this is, as torchrun or srun set it in the environment;
read without importing torch, so a command line can be rewritten before anything loads."""
import os

from pinn_cli.errors import PinnFitError

# (rank, world size, rank on the machine): torchrun's variables, then those srun sets for each
# task of a job step (not SLURM_NTASKS, which an salloc or sbatch shell holds as well), then
# those of submitit's local executor (hydra/launcher=submitit_local with tasks_per_node)
LAUNCHERS = (("RANK", "WORLD_SIZE", "LOCAL_RANK"),
             ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"),
             ("SUBMITIT_LOCAL_GLOBALID", "SUBMITIT_LOCAL_NTASKS", "SUBMITIT_LOCAL_LOCALID"))


def launch_rank(env=None) -> tuple:
    """(rank, world, local_rank) from the launcher's variables; (0, 1, 0) in one process."""
    env = os.environ if env is None else env
    for rank, world, local in LAUNCHERS:
        if world in env and rank in env:
            try:
                return int(env[rank]), int(env[world]), int(env.get(local, 0))
            except ValueError:
                raise PinnFitError(f"{rank}={env[rank]!r}, {world}={env[world]!r}: the "
                                   "launcher's rank variables are not integers") from None
    return 0, 1, 0
