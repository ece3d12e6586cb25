"""Entry points: Hydra composes the config, `fit` runs it, errors become one clear message.

Torch is imported only inside the task, so `pinn-fit --help` answers fast."""
import logging
import os
import sys

import hydra
from omegaconf import DictConfig

from pinn_cli.config import register
from pinn_cli.errors import PinnFitError

log = logging.getLogger("pinn-fit")
register()


def _report(err: BaseException, code: int) -> None:
    """Print one message (or the traceback with HYDRA_FULL_ERROR=1) and exit, except inside a
    sweep, where the failed run is recorded in its folder and the other jobs go on."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise err
    log.error("%s", err)
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.get().mode != RunMode.MULTIRUN:
        sys.exit(code)


def _run(task, cfg: DictConfig):
    try:
        return task(cfg)
    except PinnFitError as err:
        _report(err, err.exit_code)
    except KeyboardInterrupt:
        log.error("interrupted")
        sys.exit(130)


@hydra.main(version_base="1.3", config_path="pkg://pinn_cli.conf", config_name="config")
def main(cfg: DictConfig):
    """`pinn-fit`: one inverse-PINN run (pinn_cli.fit)."""
    from pinn_cli.fit import fit  # imports torch

    return _run(fit, cfg)


@hydra.main(version_base="1.3", config_path="pkg://pinn_cli.conf", config_name="generate")
def generate(cfg: DictConfig):
    """`pinn-data`: a synthetic HDF5 file from a problem's reference solver (pinn_cli.generate)."""
    from pinn_cli.generate import generate as write_file  # imports torch (via the problem)

    return _run(write_file, cfg)
