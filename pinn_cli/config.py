"""Structured-config schemas: one dataclass per config group, so Hydra rejects a typo or a
wrongly typed override with a one-line error. Torch-free, so `pinn-fit --help` stays fast."""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Transform(Enum):
    """How the trainable raw value θ maps to the physical unknown k."""

    identity = "identity"  # k = θ
    log = "log"  # k = scale * exp(θ): keeps k > 0, uniform steps in orders of magnitude
    scaled = "scaled"  # k = scale * θ: θ is O(1) when scale is k's reference magnitude


@dataclass
class UnknownConf:
    guess: float = MISSING
    truth: Optional[float] = None
    transform: Transform = Transform.identity
    scale: float = 1.0
    bounds: Optional[List[float]] = None


@dataclass
class ConditionConf:
    at: Dict[str, float] = MISSING  # the face: fixed coordinates, e.g. {t: 0.0}
    equation: str = MISSING  # expression that vanishes there, e.g. "u + sin(pi*x)"


@dataclass
class PdeConf:
    _target_: str = "pinn_cli.problem.Problem"
    name: str = MISSING
    inputs: Dict[str, List[float]] = MISSING  # independent variable -> [lo, hi]
    outputs: List[str] = MISSING
    unknowns: Dict[str, UnknownConf] = MISSING
    residuals: Dict[str, Any] = MISSING  # name -> equation string or {_target_, needs}
    constants: Dict[str, float] = field(default_factory=dict)
    conditions: Dict[str, ConditionConf] = field(default_factory=dict)


@dataclass
class DataConf:
    _target_: str = "pinn_cli.data.read_observations"
    file: str = MISSING
    layout: str = "grid"  # grid | scattered
    coords: Dict[str, str] = MISSING  # input name -> dataset name
    fields: Dict[str, str] = MISSING  # output name -> dataset name
    n_obs: Optional[int] = None  # None: every point
    noise: float = 0.0  # Gaussian noise std as a fraction of std(field)
    seed: int = 0


@dataclass
class MLPConf:
    _target_: str = "pinn_cli.nets.MLP"
    width: int = 20
    depth: int = 4
    activation: str = "tanh"


@dataclass
class ModifiedMLPConf(MLPConf):
    _target_: str = "pinn_cli.nets.ModifiedMLP"


@dataclass
class FixedConf:
    _target_: str = "pinn_cli.weighting.Fixed"
    weights: Dict[str, float] = field(default_factory=dict)  # term -> λ, default 1


@dataclass
class AnnealingConf:
    _target_: str = "pinn_cli.weighting.Annealing"
    alpha: float = 0.9
    update_every: int = 10


@dataclass
class PretrainIdentifyConf:
    _target_: str = "pinn_cli.schedule.PretrainIdentify"
    pretrain_steps: int = 1000
    identify_steps: int = 5000
    lbfgs_steps: int = 0
    lr: float = 1e-3
    unknowns_lr: float = 1e-2
    decay: float = 1.0  # learning rates multiplied by this every 1000 Adam steps


@dataclass
class JointConf:
    _target_: str = "pinn_cli.schedule.Joint"
    steps: int = 6000
    lbfgs_steps: int = 0
    lr: float = 1e-3
    unknowns_lr: float = 1e-2
    decay: float = 1.0


@dataclass
class CollocationConf:
    n_points: int = 2000  # residual points drawn in the domain
    n_condition_points: int = 200  # per initial/boundary condition
    sampler: str = "sobol"  # sobol | uniform
    include_observations: bool = True  # also enforce the residual at the data points


@dataclass
class Config:
    pde: Any = MISSING
    data: Any = MISSING
    arch: Any = MISSING
    weighting: Any = MISSING
    schedule: Any = MISSING
    collocation: CollocationConf = field(default_factory=CollocationConf)
    seed: int = 0
    device: str = "cpu"
    precision: str = "float32"  # float32 | float64
    threads: Optional[int] = None  # torch intra-op threads; None keeps torch's default
    log_every: int = 100  # steps between rows of params.csv, losses.csv and grad_norms.csv
    plots: bool = True


SCHEMAS = {
    "config_schema": Config,
    "pde_schema": PdeConf,
    "data_schema": DataConf,
    "mlp_schema": MLPConf,
    "modified_mlp_schema": ModifiedMLPConf,
    "fixed_schema": FixedConf,
    "annealing_schema": AnnealingConf,
    "pretrain_identify_schema": PretrainIdentifyConf,
    "joint_schema": JointConf,
}


def register() -> None:
    """Store the schemas at the root of Hydra's ConfigStore; option files extend them with
    `defaults: [/<name>@_here_]`."""
    cs = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        cs.store(name=name, node=node)
