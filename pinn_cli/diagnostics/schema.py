"""Schemas of the `diagnostics` group (diagnostics.identifiability)."""
from dataclasses import dataclass
from typing import List

from omegaconf import MISSING


@dataclass
class DiagnosticsOffConf:
    _target_: str = MISSING  # named by each option file


@dataclass
class DiagnosticsQuickConf:
    _target_: str = MISSING  # named by each option file
    max_iterations: int = MISSING  # Levenberg–Marquardt iterations of the classical fit
    identifiable_rel_std: float = MISSING  # Cramér–Rao relative std below which: identifiable


@dataclass
class DiagnosticsFullConf(DiagnosticsQuickConf):
    refit_steps: int = MISSING  # L-BFGS iterations of each profile point's re-fit
    points: List[float] = MISSING  # profile grid: estimate x (1 + c x step) for c in points
    min_rel_step: float = MISSING  # smallest relative grid step (else 2 x Cramér–Rao rel. std)
