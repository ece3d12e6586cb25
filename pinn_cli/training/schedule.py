"""Training schedules (the `schedule` config group): each turns its settings into phases, and
`check(problem)` says before training whether they apply to the problem."""
from dataclasses import dataclass, field
from typing import Dict, List

from pinn_cli.errors import PinnFitError


@dataclass
class Phase:
    """`steps` optimiser steps; the unknowns train only when `unknowns_lr` is set (Adam) or in
    an L-BFGS phase; Adam learning rates are multiplied by `decay` every 1000 steps. At the
    phase's start (also on resume) the trainer sets the unknowns in `hold` to their values
    (physical units; a phase that holds unknowns trains none) and keeps only the points with
    t ≤ t_lo + `time_window` (t_hi − t_lo) (None: all points; Losses.restrict_time),
    trains in `precision` from the phase on (None: the run's; Trainer._set_precision), and
    enforces the residual at `density` × collocation.n_points random points (Losses.use_density;
    the observations' points stay)."""

    name: str
    steps: int
    optimizer: str = "adam"  # adam | lbfgs
    lr: float = 1e-3
    unknowns_lr: float | None = None
    decay: float = 1.0
    hold: Dict[str, float] = field(default_factory=dict)
    time_window: float | None = None
    precision: str | None = None  # float32 | float64
    density: float = 1.0

    @property
    def trains_unknowns(self) -> bool:
        return self.optimizer == "lbfgs" or self.unknowns_lr is not None


OPTIMIZERS = {"adam": "Adam", "lbfgs": "L-BFGS"}


def phase_end(phase: Phase, steps: int, why: str | None = None, interrupted: bool = False
              ) -> dict:
    """How `phase` ended after `steps` steps, as summary.json's `phases` lists it: `stopped`
    "budget" (all its steps), "convergence" (early; `why` says by which test) or
    "interrupted" (SIGINT/SIGTERM; a resume continues it)."""
    stopped = "interrupted" if interrupted else "convergence" if why else "budget"
    why = "the run was asked to stop (SIGINT or SIGTERM)" if interrupted else \
        why or "it took all its steps"
    return {"name": phase.name, "optimizer": phase.optimizer, "steps": steps,
            "budget": phase.steps, "stopped": stopped, "why": why}


def describe_end(end: dict) -> str:
    """The log line of a phase_end record."""
    head = f"phase {end['name']} ({OPTIMIZERS[end['optimizer']]}): "
    if end["stopped"] == "budget":
        return head + f"stopped on its budget after {end['steps']} steps"
    what = "interrupted" if end["stopped"] == "interrupted" else \
        f"stopped on convergence ({end['why']})"
    return head + f"{what} after {end['steps']} of {end['budget']} steps"


def _checked(phases: List[Phase]) -> List[Phase]:
    for p in phases:
        if p.steps < 0:
            raise PinnFitError(f"schedule: {p.name} steps must be >= 0, got {p.steps}")
        if p.lr <= 0 or (p.unknowns_lr is not None and p.unknowns_lr <= 0) or p.decay <= 0:
            raise PinnFitError(f"schedule: learning rates and decay must be > 0 ({p})")
        if p.hold and p.trains_unknowns:
            raise PinnFitError(f"schedule: phase {p.name} holds {sorted(p.hold)} and trains the "
                               "unknowns; a phase that holds unknowns trains none")
        if p.precision not in (None, "float32", "float64"):
            raise PinnFitError(f"schedule: phase {p.name} precision={p.precision!r}: choose "
                               "float32 or float64")
        if not p.density > 0:
            raise PinnFitError(f"schedule: phase {p.name} density={p.density} must be > 0")
        if p.time_window is not None and not 0 < p.time_window <= 1:
            raise PinnFitError(f"schedule: phase {p.name} time_window={p.time_window} must lie "
                               "in (0, 1]")
    kept = [p for p in phases if p.steps > 0]
    if not any(p.trains_unknowns for p in kept):
        raise PinnFitError("schedule: no phase trains the unknowns; give identify/joint or "
                           "lbfgs steps > 0")
    return kept


def _identify(identify_steps, lbfgs_steps, lr, unknowns_lr, decay) -> List[Phase]:
    """`identify` (network and unknowns, the unknowns with their own Adam and learning rate),
    then `lbfgs` (strong Wolfe) over everything."""
    return [Phase("identify", identify_steps, "adam", lr, unknowns_lr, decay),
            Phase("lbfgs", lbfgs_steps, "lbfgs", 1.0)]


class Schedule:
    """The phases of a schedule; every problem can run them unless `check` says otherwise."""

    phases: List[Phase]

    def check(self, problem) -> None:
        """Raise PinnFitError, naming the option to change, if the phases cannot run on
        `problem`."""


class PretrainIdentify(Schedule):
    """The inverse-PINN practice of the seeds: (1) `pretrain`, a forward PINN with the unknowns
    frozen at their guess; (2) `identify`, network and unknowns together, the unknowns with their
    own Adam and learning rate; (3) optional `lbfgs` (strong Wolfe) over everything."""

    def __init__(self, pretrain_steps, identify_steps, lbfgs_steps, lr, unknowns_lr, decay):
        self.phases = _checked([Phase("pretrain", pretrain_steps, "adam", lr, None, decay)]
                               + _identify(identify_steps, lbfgs_steps, lr, unknowns_lr, decay))


class Joint(Schedule):
    """Network and unknowns trained together from step 0 (then optional L-BFGS)."""

    def __init__(self, steps, lbfgs_steps, lr, unknowns_lr, decay):
        self.phases = _checked([
            Phase("joint", steps, "adam", lr, unknowns_lr, decay),
            Phase("lbfgs", lbfgs_steps, "lbfgs", 1.0),
        ])


class Lbfgs(Schedule):
    """L-BFGS (strong Wolfe) over network and unknowns from the first step, no Adam phase: the
    recipe of Raissi, Perdikaris & Karniadakis (2019, J. Comput. Phys. 378), fastest where the
    observations cover the domain densely (burgers1d's default; measured in docs/remedies.md,
    "L-BFGS finish"). Then `finish_steps` more in float64 (phase `lbfgs_float64`): a float32
    L-BFGS ends early once its loss stops decreasing in float32, and the float64 phase goes on
    from there, with the residual at `finish_density` × collocation.n_points random points (the
    first n_points those of the float32 phase): the loss's optimum, and so the unknowns' bias,
    depends on how densely the residual is sampled where the solution is steep
    (docs/remedies.md, "L-BFGS finish")."""

    def __init__(self, steps, finish_steps=0, finish_density=1.0):
        if finish_steps < 0:
            raise PinnFitError(f"schedule.finish_steps={finish_steps}: give the float64 L-BFGS "
                               "steps after the float32 ones, >= 0 (0: none)")
        if not finish_density >= 1:
            raise PinnFitError(f"schedule.finish_density={finish_density}: give the multiple of "
                               "collocation.n_points that the float64 finish enforces the "
                               "residual at, >= 1 (1: the same points)")
        self.phases = _checked([Phase("lbfgs", steps, "lbfgs", 1.0),
                                Phase("lbfgs_float64", finish_steps, "lbfgs", 1.0,
                                      precision="float64", density=float(finish_density))])


class Continuation(Schedule):
    """Continuation in one unknown (the curriculum regularisation of Krishnapriyan et al. 2021,
    "Characterizing possible failure modes in physics-informed neural networks"): for each of
    `values` in turn, a stage `<unknown>=<value>` of `stage_steps` Adam steps of a forward PINN
    with `unknown` held at that value (the other unknowns at their guess); then `identify` and
    `lbfgs` as in PretrainIdentify, the unknown starting from the last stage value."""

    def __init__(self, unknown, values, stage_steps, identify_steps, lbfgs_steps, lr,
                 unknowns_lr, decay):
        self.unknown, self.values = unknown, [float(v) for v in values]
        stages = [Phase(f"{unknown}={v:g}", stage_steps, "adam", lr, None, decay, hold={unknown: v})
                  for v in self.values]
        if len({p.name for p in stages}) < len(stages):
            raise PinnFitError(f"schedule.values={self.values} repeats a value; give each stage "
                               "value once")
        self.phases = _checked(stages + _identify(identify_steps, lbfgs_steps, lr, unknowns_lr,
                                                  decay))

    def check(self, problem) -> None:
        if not self.values:
            return
        names = [u.name for u in problem.unknowns]
        if not names:
            raise PinnFitError(
                f"schedule=continuation steps a scalar unknown, and problem '{problem.name}' has "
                f"none (its unknowns are the fields {problem.field_names}); choose another "
                "schedule, e.g. schedule=pretrain_identify, or schedule.values=[] for no stages")
        if self.unknown not in names:
            u = problem.unknowns[0]
            raise PinnFitError(
                f"schedule.unknown={self.unknown}: problem '{problem.name}' has no unknown "
                f"'{self.unknown}'; its unknowns are {names}. Set schedule.unknown and "
                f"schedule.values (the stages, e.g. ending at the guess), e.g. "
                f"schedule.unknown={u.name} 'schedule.values=[{u.guess / 10:g},{u.guess:g}]', "
                "or schedule.values=[] for no stages")
        spec = problem.unknowns[names.index(self.unknown)]
        rules = ([f"within its bounds {list(spec.bounds)}"] if spec.bounds else []) + \
            (["> 0 (transform log)"] if spec.transform == "log" else [])
        bad = [v for v in self.values if (spec.bounds and not spec.bounds[0] <= v <= spec.bounds[1])
               or (spec.transform == "log" and v <= 0)]
        if bad:
            raise PinnFitError(f"schedule.values: {bad} cannot be values of {self.unknown}; give "
                               f"values {' and '.join(rules)}")


class Marching(Schedule):
    """Time-window marching (Wight & Zhao 2020, "Solving Allen-Cahn and Cahn-Hilliard equations
    using the adaptive physics informed neural networks"; Mattey & Ghosh 2022): stages
    `window1`, ..., `window<M>` (M = `windows`) of `window_steps` Adam steps each, a forward PINN
    with the unknowns at their guess on the data, residual and condition points with
    t ≤ t_lo + (m/M)(t_hi − t_lo); then `identify` and `lbfgs` on the whole domain."""

    def __init__(self, windows, window_steps, identify_steps, lbfgs_steps, lr, unknowns_lr,
                 decay):
        if isinstance(windows, bool) or int(windows) != windows or windows < 1:
            raise PinnFitError(f"schedule.windows={windows}: give the number of time windows, "
                               "an integer >= 1")
        m = int(windows)
        self.phases = _checked(
            [Phase(f"window{k}", window_steps, "adam", lr, None, decay, time_window=k / m)
             for k in range(1, m + 1)]
            + _identify(identify_steps, lbfgs_steps, lr, unknowns_lr, decay))

    def check(self, problem) -> None:
        if "t" not in problem.inputs and any(p.time_window is not None for p in self.phases):
            raise PinnFitError(
                f"schedule=marching marches in windows of an input named t, but problem "
                f"'{problem.name}' has inputs {problem.inputs}; choose another schedule, e.g. "
                "schedule=pretrain_identify or schedule=continuation")
