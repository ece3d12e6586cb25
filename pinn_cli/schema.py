"""Structured-config schemas: one dataclass per config group, so Hydra rejects a typo or a
wrongly typed override with a one-line error. They hold types; the values live in the YAML
option files under conf/. Torch-free, so `pinn-fit --help` stays fast."""
import pkgutil
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from pinn_cli.errors import PinnFitError


def imported(path: str, key: str):
    """The class or function that the config value `path` (package.module.Name) names; one
    message naming the config key `key` when it cannot be imported or is not callable."""
    try:  # pkgutil, not hydra.utils.get_method, which logs an error line of its own first
        target = pkgutil.resolve_name(path)
        if callable(target):
            return target
        raise ValueError(f"{type(target).__name__} is not callable")
    except (ImportError, AttributeError, ValueError) as err:
        cause = str(err).strip().splitlines()
        raise PinnFitError(
            f"{key}={path} cannot be imported ({cause[-1] if cause else type(err).__name__}); "
            "check the spelling (drop the override to use the option file's value), or name a "
            "class or function that Python can import (package.module.Name)") from None


class Transform(Enum):
    """How the trainable raw value θ maps to the physical unknown k."""

    identity = "identity"  # k = θ
    log = "log"  # k = scale * exp(θ): keeps k > 0, uniform steps in orders of magnitude
    scaled = "scaled"  # k = scale * θ: θ is O(1) when scale is k's reference magnitude


class Scaling(Enum):
    """Nondimensional residuals (pinn_cli.problem.scaling)."""

    auto = "auto"  # only when the problem is badly scaled
    on = "on"
    off = "off"


class Engine(Enum):
    """How input derivatives are computed (pinn_cli.model.derivatives)."""

    auto = "auto"  # Taylor where it applies, else autograd
    taylor = "taylor"  # forward-mode Taylor propagation
    autograd = "autograd"  # nested reverse mode, the reference


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
class ReferenceConf:
    """The project's solver for a problem: `pinn-data` writes its solution as observations."""

    solver: str = MISSING  # module.function(<axes by input>, <unknowns>, **options) -> fields
    truth: Dict[str, float] = MISSING  # the unknowns' values the data are made with
    grid: Dict[str, Any] = MISSING  # per input: n points over the domain, or [lo, hi, n]
    options: Dict[str, Any] = field(default_factory=dict)  # the solver's other arguments


@dataclass
class PdeConf:
    _target_: str = "pinn_cli.problem.problem.Problem"
    name: str = MISSING
    inputs: Dict[str, List[float]] = MISSING  # independent variable -> [lo, hi]
    outputs: List[str] = MISSING
    unknowns: Dict[str, UnknownConf] = MISSING
    residuals: Dict[str, Any] = MISSING  # name -> equation string or {_target_, needs}
    constants: Dict[str, float] = field(default_factory=dict)
    conditions: Dict[str, ConditionConf] = field(default_factory=dict)
    # inputs in which the solution is periodic, e.g. [x]: loss term periodic_x matches every
    # field (and its x-derivatives below the residuals' highest order in x) at x = lo and x = hi
    periodic: List[str] = field(default_factory=list)
    # how: loss (the periodic_<input> term) | embedding (the network sees cos/sin of
    # 2 pi (x - lo)/(hi - lo) instead of x: exactly periodic, no loss term; Dong & Ni 2021)
    periodic_by: str = "loss"
    # output transforms imposing conditions exactly: field -> expression in the inputs, the
    # constants and N (the network's output for the field), e.g. {u: "x*(1 - x)*N"}
    hard: Dict[str, str] = field(default_factory=dict)
    # loss term -> weight measured best for this problem; weighting=fixed starts from these
    # (its own weighting.weights win), the adaptive schemes ignore them
    weights: Dict[str, float] = field(default_factory=dict)
    reference: Optional[ReferenceConf] = None


@dataclass
class DataConf:
    _target_: str = "pinn_cli.io.observations.read_observations"
    file: str = MISSING
    layout: str = "grid"  # auto | grid | scattered | pdebench | pdebench_grouped
    coords: Dict[str, str] = MISSING  # input name -> dataset name
    # output name -> dataset name, or (pdebench layouts) a channel index such as "0": an int
    # given here or on the command line is stored as its string
    fields: Dict[str, str] = MISSING
    sample: int = 0  # pdebench layouts: the sample (tensor axis 0) or the seed group, by position
    n_obs: Optional[int] = None  # None: every point
    noise: float = 0.0  # Gaussian noise std as a fraction of std(field)
    seed: int = 0


@dataclass
class MLPConf:
    _target_: str = "pinn_cli.model.nets.MLP"
    width: int = MISSING
    depth: int = MISSING
    activation: str = MISSING


@dataclass
class ModifiedMLPConf(MLPConf):
    _target_: str = "pinn_cli.model.nets.ModifiedMLP"


@dataclass
class FourierMLPConf(MLPConf):
    _target_: str = "pinn_cli.model.nets.FourierMLP"
    sigma: float = MISSING  # std of the frequencies B, per unit of the input scaled to [-1, 1]
    n_features: int = MISSING  # m: the embedding [cos 2πBz, sin 2πBz] has 2m entries


@dataclass
class FixedConf:
    _target_: str = "pinn_cli.training.weighting.Fixed"
    weights: Dict[str, float] = MISSING  # term -> λ, default 1
    pde_weights: Dict[str, float] = MISSING  # the problem's own (pde.weights), under `weights`


@dataclass
class AnnealingConf:
    _target_: str = "pinn_cli.training.weighting.Annealing"
    alpha: float = MISSING
    update_every: int = MISSING


@dataclass
class GradNormConf(AnnealingConf):
    _target_: str = "pinn_cli.training.weighting.GradNorm"


@dataclass
class NTKConf(AnnealingConf):
    _target_: str = "pinn_cli.training.weighting.NTK"
    max_points: Optional[int] = MISSING  # per term, for the NTK trace; null: every point


@dataclass
class AdamScheduleConf:
    """The settings every schedule with Adam phases shares: their learning rates, then
    `lbfgs_steps` of L-BFGS over everything (pinn_cli.training.schedule)."""

    _target_: str = MISSING
    lbfgs_steps: int = MISSING
    lr: float = MISSING
    unknowns_lr: float = MISSING  # the unknowns' own Adam learning rate
    decay: float = MISSING  # learning rates multiplied by this every 1000 Adam steps


@dataclass
class PretrainIdentifyConf(AdamScheduleConf):
    _target_: str = "pinn_cli.training.schedule.PretrainIdentify"
    pretrain_steps: int = MISSING
    identify_steps: int = MISSING


@dataclass
class JointConf(AdamScheduleConf):
    _target_: str = "pinn_cli.training.schedule.Joint"
    steps: int = MISSING


@dataclass
class LbfgsConf:
    _target_: str = "pinn_cli.training.schedule.Lbfgs"
    steps: int = MISSING
    finish_steps: int = MISSING  # then L-BFGS steps in float64 (phase lbfgs_float64)
    finish_density: float = 1.0  # its residual points: this multiple of collocation.n_points


@dataclass
class ContinuationConf(AdamScheduleConf):
    _target_: str = "pinn_cli.training.schedule.Continuation"
    unknown: str = MISSING  # the unknown the stages hold, by name
    values: List[float] = MISSING  # its value in each stage, in order; []: no stages
    stage_steps: int = MISSING  # Adam steps per stage (forward PINN, the unknown held)
    identify_steps: int = MISSING


@dataclass
class MarchingConf(AdamScheduleConf):
    _target_: str = "pinn_cli.training.schedule.Marching"
    windows: int = MISSING  # M: stage m keeps the points with t <= t_lo + (m/M)(t_hi - t_lo)
    window_steps: int = MISSING  # Adam steps per window (forward PINN, unknowns at the guess)
    identify_steps: int = MISSING


@dataclass
class DiagnosticsOffConf:
    _target_: str = "pinn_cli.diagnostics.identifiability.Off"


@dataclass
class DiagnosticsQuickConf:
    _target_: str = "pinn_cli.diagnostics.identifiability.Quick"
    max_iterations: int = MISSING  # Levenberg–Marquardt iterations of the classical fit
    identifiable_rel_std: float = MISSING  # Cramér–Rao relative std below which: identifiable


@dataclass
class DiagnosticsFullConf(DiagnosticsQuickConf):
    _target_: str = "pinn_cli.diagnostics.identifiability.Full"
    refit_steps: int = MISSING  # L-BFGS iterations of each profile point's re-fit
    points: List[float] = MISSING  # profile grid: estimate x (1 + c x step) for c in points
    min_rel_step: float = MISSING  # smallest relative grid step (else 2 x Cramér–Rao rel. std)


@dataclass
class CollocationConf:
    n_points: int = MISSING  # residual points drawn in the domain
    n_condition_points: int = MISSING  # per initial/boundary condition
    sampler: str = MISSING  # sobol | uniform
    include_observations: bool = MISSING  # also enforce the residual at the data points
    resample_every: int = MISSING  # Adam steps between fresh draws of the residual points; 0: never


@dataclass
class CausalConf:
    """Causal training (Wang, Sankaran & Perdikaris 2024; pinn_cli.training.losses): the residual points
    in `chunks` time windows, window m weighted by exp(−epsilon · Σ_{k<m} L_k)."""

    epsilon: float = 0.0  # 0: off (the plain mean); needs an input named t when > 0
    chunks: int = 16  # time windows over the domain of t


class OnDivergence(Enum):
    """What a run does when a loss, gradient or unknown becomes NaN/Inf."""

    stop = "stop"  # status diverged, exit code 3
    retry = "retry"  # back to the last checkpoint, learning rates x retry_lr_factor


@dataclass
class Config:
    pde: Any = MISSING
    data: Any = MISSING
    arch: Any = MISSING
    weighting: Any = MISSING
    schedule: Any = MISSING
    diagnostics: Any = MISSING
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
    resume: Optional[str] = None  # set by `pinn-fit resume=RUN_FOLDER` (see app.py)
    basis: Any = None  # schedule=basis: the basis and the query options (BasisQueryConf)


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
    schedule: Any = None  # pinn-fit's, unused: present so that a pde option's override composes


SCHEMAS = {
    "config_schema": Config,
    "generate_schema": GenerateConfig,
    "pde_schema": PdeConf,
    "data_schema": DataConf,
    "mlp_schema": MLPConf,
    "modified_mlp_schema": ModifiedMLPConf,
    "fourier_mlp_schema": FourierMLPConf,
    "fixed_schema": FixedConf,
    "annealing_schema": AnnealingConf,
    "grad_norm_schema": GradNormConf,
    "ntk_schema": NTKConf,
    "pretrain_identify_schema": PretrainIdentifyConf,
    "joint_schema": JointConf,
    "lbfgs_schema": LbfgsConf,
    "continuation_schema": ContinuationConf,
    "marching_schema": MarchingConf,
    "diagnostics_off_schema": DiagnosticsOffConf,
    "diagnostics_quick_schema": DiagnosticsQuickConf,
    "diagnostics_full_schema": DiagnosticsFullConf,
}


def register() -> None:
    """Store the schemas at the root of Hydra's ConfigStore; option files extend them with
    `defaults: [/<name>@_here_]`."""
    cs = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        cs.store(name=name, node=node)


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
    # required: unknown -> {lo, hi, sampling: uniform | log}, checked by basis.ranges_for (Any:
    # OmegaConf cannot merge a command-line dict into a typed Optional[Dict] that is null)
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
    """`pinn-basis`: train a basis offline (pinn_cli.workflows.basis_cli.train_offline)."""

    pde: Any = MISSING
    basis: BasisTrainConf = MISSING
    threads: Optional[int] = None  # torch intra-op threads; None keeps torch's default
    schedule: Any = None  # pinn-fit's, unused: present so that a pde option's override composes


@dataclass
class BasisScheduleConf:
    """`pinn-fit schedule=basis`: no training; queries answered by a frozen basis."""

    _target_: str = "pinn_cli.workflows.basis_cli.fit_online"


@dataclass
class BasisQueryConf:
    """`pinn-fit schedule=basis`'s `basis` node: the basis and how each query is fitted
    (pinn_cli.basis.offline.fit_query)."""

    path: str = MISSING  # a folder pinn-basis wrote, or its basis.pt
    method: str = MISSING  # auto | varpro | gradient
    steps: int = MISSING  # Adam steps (method gradient)
    lr: float = MISSING  # Adam learning rate (method gradient)
    lbfgs_steps: int = MISSING
    weights: Dict[str, float] = field(default_factory=dict)  # loss term -> weight, default 1
    samples: Optional[str] = None  # pdebench layouts: all | START:STOP, one query per sample


SCHEMAS |= {
    "basis_config_schema": BasisConfig,
    "basis_schema": BasisTrainConf,
    "basis_schedule_schema": BasisScheduleConf,
    "basis_query_schema": BasisQueryConf,
}

