"""Training schedules (the `schedule` config group): each turns its settings into phases."""
from dataclasses import dataclass
from typing import List

from pinn_cli.errors import PinnFitError


@dataclass
class Phase:
    """`steps` optimiser steps; the unknowns train only when `unknowns_lr` is set (Adam) or in
    an L-BFGS phase; Adam learning rates are multiplied by `decay` every 1000 steps."""

    name: str
    steps: int
    optimizer: str = "adam"  # adam | lbfgs
    lr: float = 1e-3
    unknowns_lr: float | None = None
    decay: float = 1.0

    @property
    def trains_unknowns(self) -> bool:
        return self.optimizer == "lbfgs" or self.unknowns_lr is not None


def _checked(phases: List[Phase]) -> List[Phase]:
    for p in phases:
        if p.steps < 0:
            raise PinnFitError(f"schedule: {p.name} steps must be >= 0, got {p.steps}")
        if p.lr <= 0 or (p.unknowns_lr is not None and p.unknowns_lr <= 0) or p.decay <= 0:
            raise PinnFitError(f"schedule: learning rates and decay must be > 0 ({p})")
    kept = [p for p in phases if p.steps > 0]
    if not any(p.trains_unknowns for p in kept):
        raise PinnFitError("schedule: no phase trains the unknowns; give identify/joint or "
                           "lbfgs steps > 0")
    return kept


class PretrainIdentify:
    """The inverse-PINN practice of the seeds: (1) `pretrain`, a forward PINN with the unknowns
    frozen at their guess; (2) `identify`, network and unknowns together, the unknowns with their
    own Adam and learning rate; (3) optional `lbfgs` (strong Wolfe) over everything."""

    def __init__(self, pretrain_steps, identify_steps, lbfgs_steps, lr, unknowns_lr, decay):
        self.phases = _checked([
            Phase("pretrain", pretrain_steps, "adam", lr, None, decay),
            Phase("identify", identify_steps, "adam", lr, unknowns_lr, decay),
            Phase("lbfgs", lbfgs_steps, "lbfgs", 1.0),
        ])


class Joint:
    """Network and unknowns trained together from step 0 (then optional L-BFGS)."""

    def __init__(self, steps, lbfgs_steps, lr, unknowns_lr, decay):
        self.phases = _checked([
            Phase("joint", steps, "adam", lr, unknowns_lr, decay),
            Phase("lbfgs", lbfgs_steps, "lbfgs", 1.0),
        ])


class Lbfgs:
    """L-BFGS (strong Wolfe) over network and unknowns from the first step, no Adam phase: the
    recipe of Raissi, Perdikaris & Karniadakis (2019, J. Comput. Phys. 378), fastest where the
    observations cover the domain densely (burgers1d's default, measured in the README)."""

    def __init__(self, steps):
        self.phases = _checked([Phase("lbfgs", steps, "lbfgs", 1.0)])
