"""The command line of a data-parallel fit's rank other than 0: it composes the same config but
writes no run folder (rank 0 writes it; training.distributed)."""
import os
import tempfile

from pinn_cli.errors import PinnFitError
from pinn_cli.training.launch import launch_rank

WRITER_ONLY = ("hydra.run.dir=", "hydra.output_subdir=", "hydra/job_logging=")


def rank_argv(argv, env=None):
    """`argv` for this rank: unchanged on rank 0 and in one process. A sweep (-m) is refused
    under a launcher; another rank logs to the console only, into a temporary Hydra folder with
    no config written (its run folder is rank 0's, which a resume reads)."""
    rank, world, _ = launch_rank(env)
    if world > 1 and {"-m", "--multirun"} & set(argv[1:]):
        raise PinnFitError(f"-m under a launcher with {world} ranks would run each job on every "
                           "rank; start one torchrun per run, or sweep with a launcher that "
                           "starts each job's ranks (docs/parallel.md)")
    if rank == 0:
        return argv
    folder = os.path.join(tempfile.gettempdir(), f"pinn-fit-rank{rank}-{os.getpid()}")
    kept = [a for a in argv[1:] if not a.startswith(WRITER_ONLY)]
    return [argv[0], *kept, f"hydra.run.dir={folder}", "hydra.output_subdir=null",
            "hydra/job_logging=console"]
