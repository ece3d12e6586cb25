"""The root schemas of the commands (pinn-fit, pinn-data, pinn-basis, pinn-query) and their
registration in Hydra's ConfigStore. Each group's schema lives beside its code
(`<package>/schema.py`); these hold types only, the values live in conf/. Torch-free, so
`pinn-fit --help` stays fast."""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from pinn_cli.basis.schema import BasisConfig, BasisQueryConf, BasisTrainConf, QueryConfig
from pinn_cli.diagnostics.schema import (DiagnosticsFullConf, DiagnosticsOffConf,
                                         DiagnosticsQuickConf)
from pinn_cli.io.schema import (CollocationConf, DataConf, LoggerNoneConf, MLflowConf,
                              TensorBoardConf)
from pinn_cli.model.schema import Engine, FourierMLPConf, MLPConf, SizedConf
from pinn_cli.problem.schema import PdeConf, Scaling
from pinn_cli.training.schema import (AnnealingConf, CausalConf, ContinuationConf, FixedConf,
                                      JointConf, LbfgsConf, MarchingConf, NTKConf, OnDivergence,
                                      PretrainIdentifyConf)


@dataclass
class Config:
    pde: Any = MISSING
    data: Any = MISSING
    arch: Any = MISSING
    weighting: Any = MISSING
    schedule: Any = MISSING
    diagnostics: Any = MISSING
    logger: Any = MISSING  # experiment tracking (io.tracking)
    collocation: CollocationConf = MISSING
    causal: CausalConf = field(default_factory=CausalConf)
    seed: int = MISSING
    device: str = MISSING  # cpu | cuda | cuda:N
    precision: str = MISSING  # float32 | float64
    threads: Optional[int] = None  # torch intra-op threads; None keeps torch's default
    log_every: int = MISSING  # steps between rows of params.csv, losses.csv and grad_norms.csv
    plots: bool = MISSING
    derivatives: Engine = MISSING
    compile: bool = MISSING  # torch.compile the loss terms (Losses._compile)
    scaling: Scaling = Scaling.auto  # residuals in the data's units (pinn_cli.problem.scaling)
    checkpoint_every: int = MISSING  # steps between checkpoints (also at each phase end); 0: never
    on_divergence: OnDivergence = MISSING
    max_retries: int = MISSING  # on_divergence=retry: at most this many retries per run
    retry_lr_factor: float = MISSING  # learning rates multiplied by this at each retry
    resume: Optional[str] = None  # set by `pinn-fit resume=RUN_FOLDER` (see cli/app.py)


class Sampling(Enum):
    """Where `pinn-data` observes the reference solution."""

    grid = "grid"  # every node of the reference grid (grid layout)
    scattered = "scattered"  # n_points random nodes (scattered layout)
    sensors = "sensors"  # n_sensors fixed random positions, every time (scattered layout)


@dataclass
class GenerateConfig:
    """`pinn-data`: one synthetic HDF5 file from a problem's reference solver."""

    pde: Any = MISSING
    data: Any = MISSING  # the pde's data option: names the datasets as pinn-fit reads them
    out: str = MISSING  # the file to write; never overwritten unless overwrite=true
    overwrite: bool = False
    sampling: Sampling = MISSING
    n_points: int = MISSING  # sampling=scattered
    n_sensors: int = MISSING  # sampling=sensors: positions over the inputs other than t
    noise: float = MISSING  # Gaussian noise std as a fraction of std(field), baked into the file
    seed: int = MISSING
    schedule: Any = None  # unused: present so that a pde option's training recipe composes


SCHEMAS = {
    "config_schema": Config,
    "generate_schema": GenerateConfig,
    "basis_config_schema": BasisConfig,
    "query_config_schema": QueryConfig,
    "pde_schema": PdeConf,
    "data_schema": DataConf,
    "mlp_schema": MLPConf,
    "sized_schema": SizedConf,
    "fourier_mlp_schema": FourierMLPConf,
    "fixed_schema": FixedConf,
    "annealing_schema": AnnealingConf,
    "ntk_schema": NTKConf,
    "pretrain_identify_schema": PretrainIdentifyConf,
    "joint_schema": JointConf,
    "lbfgs_schema": LbfgsConf,
    "continuation_schema": ContinuationConf,
    "marching_schema": MarchingConf,
    "diagnostics_off_schema": DiagnosticsOffConf,
    "diagnostics_quick_schema": DiagnosticsQuickConf,
    "diagnostics_full_schema": DiagnosticsFullConf,
    "logger_none_schema": LoggerNoneConf,
    "mlflow_schema": MLflowConf,
    "tensorboard_schema": TensorBoardConf,
    "basis_schema": BasisTrainConf,
    "basis_query_schema": BasisQueryConf,
}


def register() -> None:
    """Store the schemas at the root of Hydra's ConfigStore; option files extend them with
    `defaults: [/<name>@_here_]`."""
    cs = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        cs.store(name=name, node=node)
