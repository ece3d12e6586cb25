"""Schemas of `pinn-basis` (offline training, basis.offline) and `pinn-query` (online queries,
basis.query)."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from omegaconf import MISSING


@dataclass
class BasisValidationConf:
    """Held-out inverse queries on the problem's reference solution (pde.reference), solved
    every `every` steps; the body with the smallest mean relative error is kept (Section 2.4)."""

    n_queries: int = MISSING  # 0: no validation, the last state is kept
    every: int = MISSING  # training steps between validations
    patience: int = MISSING  # validations without improvement before training stops
    n_obs: int = MISSING  # observed reference nodes per held-out query
    query: Dict[str, Any] = field(default_factory=dict)  # fit_query options, e.g. {weights: ...}


@dataclass
class BasisTrainConf:
    """`pinn-basis`'s `basis` group: the offline training of pinn_cli.basis.offline.train_basis."""

    n_basis: int = MISSING  # basis functions per field
    n_readouts: int = MISSING  # K readouts, each tied to parameters drawn over the ranges
    # required: unknown -> {lo, hi, sampling: uniform | log}, checked by
    # pinn_cli.basis.ranges.ranges_for (Any: OmegaConf cannot merge a command-line dict into a
    # typed Optional[Dict] that is null)
    ranges: Any = None
    # the readouts' draw extends each range by this fraction of its width on each side
    margin: float = MISSING
    steps: int = MISSING  # Adam steps
    lr: float = MISSING
    lbfgs_steps: int = MISSING  # L-BFGS steps after Adam
    width: int = MISSING
    depth: int = MISSING
    activation: str = MISSING  # tanh | sin | ... (pinn_cli.model.nets)
    n_points: int = MISSING  # residual points (Sobol)
    n_condition_points: int = MISSING  # per condition
    weights: Dict[str, float] = field(default_factory=dict)  # loss term -> weight, default 1
    validation: BasisValidationConf = field(default_factory=BasisValidationConf)
    seed: int = MISSING
    precision: str = MISSING  # float32 | float64


@dataclass
class BasisConfig:
    """`pinn-basis`: train a basis offline (pinn_cli.workflows.basis_train.train_offline)."""

    pde: Any = MISSING
    basis: BasisTrainConf = MISSING
    threads: Optional[int] = None  # torch intra-op threads; None keeps torch's default
    schedule: Any = None  # unused: present so that a pde option's training recipe composes


@dataclass
class BasisQueryConf:
    """`pinn-query`'s `basis` node: the basis and how each query is fitted
    (pinn_cli.basis.query.fit_query)."""

    path: str = MISSING  # a folder pinn-basis wrote, or its basis.pt
    method: str = MISSING  # auto | varpro | gradient
    steps: int = MISSING  # Adam steps (method gradient)
    lr: float = MISSING  # Adam learning rate (method gradient)
    lbfgs_steps: int = MISSING
    weights: Dict[str, float] = field(default_factory=dict)  # loss term -> weight, default 1
    samples: Optional[str] = None  # pdebench layouts: all | START:STOP, one query per sample


@dataclass
class QueryConfig:
    """`pinn-query`: inverse queries answered by a frozen basis (workflows.basis_query.query)."""

    pde: Any = MISSING
    data: Any = MISSING  # data.file: one file, a glob ('queries/*.h5') or a comma-separated list
    basis: BasisQueryConf = MISSING
    collocation: Any = MISSING  # io.schema.CollocationConf
    seed: int = MISSING
    precision: str = MISSING  # float32 | float64
    threads: Optional[int] = None  # torch intra-op threads; None keeps torch's default
    schedule: Any = None  # unused: present so that a pde option's training recipe composes
