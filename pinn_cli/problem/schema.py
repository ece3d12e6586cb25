"""Schemas of the `pde` group (problem.problem.Problem) and of the `scaling` setting: types
only, the values live in conf/pde/*.yaml. Torch-free, so `pinn-fit --help` stays fast."""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


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


@dataclass
class UnknownConf:
    guess: float = MISSING
    # a scalar's true value; a field's: an expression in its inputs (problem.fields)
    truth: Optional[Any] = None
    transform: Transform = Transform.identity
    scale: float = 1.0
    bounds: Optional[List[float]] = None
    # an unknown field's smoothness term, {h1: c} (before `field`, which shadows the function)
    regularization: Dict[str, float] = field(default_factory=dict)
    # an unknown field: the inputs it varies over, e.g. [x, y], and its network's size
    field: Optional[List[str]] = None
    width: Optional[int] = None
    depth: Optional[int] = None


@dataclass
class ConditionConf:
    at: Dict[str, float] = MISSING  # the face: fixed coordinates, e.g. {t: 0.0}
    equation: str = MISSING  # expression that vanishes there, e.g. "u + sin(pi*x)"


@dataclass
class ReferenceConf:
    """The project's solver for a problem: `pinn-data` writes its solution as observations."""

    # module.function(<axes by input>, <unknowns>, **options) -> fields; none: the generic
    # solver built from the equations (the initial state and boundaries must be declared)
    solver: Optional[str] = None
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
    # 2 pi (x - lo)/(hi - lo) instead of x: exactly periodic, no loss term; Dong & Ni 2021) |
    # auto (embedding for two or more periodic inputs, else loss)
    periodic_by: str = "auto"
    # output transforms imposing conditions exactly: field -> expression in the inputs, the
    # constants and N (the network's output for the field), e.g. {u: "x*(1 - x)*N"}
    hard: Dict[str, str] = field(default_factory=dict)
    # loss term -> weight measured best for this problem; weighting=fixed starts from these
    # (its own weighting.weights win), the adaptive schemes ignore them
    weights: Dict[str, float] = field(default_factory=dict)
    reference: Optional[ReferenceConf] = None
