"""Schemas of the `weighting` group (training.weighting), the `schedule` group
(training.schedule), `causal` (training.losses) and `on_divergence` (training.trainer)."""
from dataclasses import dataclass
from enum import Enum
from typing import Dict, List, Optional

from omegaconf import MISSING


@dataclass
class FixedConf:
    _target_: str = MISSING  # named by each option file
    weights: Dict[str, float] = MISSING  # term -> λ, default 1
    pde_weights: Dict[str, float] = MISSING  # the problem's own (pde.weights), under `weights`


@dataclass
class SmoothedConf:
    """A scheme λ_i ← (1 − α) λ_i + α λ̂_i every `update_every` steps."""

    _target_: str = MISSING  # named by each option file
    alpha: float = MISSING
    update_every: int = MISSING


@dataclass
class AnnealingConf(SmoothedConf):
    max_weight: Optional[float] = MISSING  # the largest λ_i; null: unbounded


@dataclass
class NTKConf(SmoothedConf):
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
    pretrain_steps: int = MISSING
    identify_steps: int = MISSING


@dataclass
class JointConf(AdamScheduleConf):
    steps: int = MISSING


@dataclass
class LbfgsConf:
    _target_: str = MISSING  # named by each option file
    steps: int = MISSING
    finish_steps: int = MISSING  # then L-BFGS steps in float64 (phase lbfgs_float64)
    finish_density: float = 1.0  # its residual points: this multiple of collocation.n_points


@dataclass
class ContinuationConf(AdamScheduleConf):
    unknown: str = MISSING  # the unknown the stages hold, by name
    values: List[float] = MISSING  # its value in each stage, in order; []: no stages
    stage_steps: int = MISSING  # Adam steps per stage (forward PINN, the unknown held)
    identify_steps: int = MISSING


@dataclass
class MarchingConf(AdamScheduleConf):
    windows: int = MISSING  # M: stage m keeps the points with t <= t_lo + (m/M)(t_hi - t_lo)
    window_steps: int = MISSING  # Adam steps per window (forward PINN, unknowns at the guess)
    identify_steps: int = MISSING


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
