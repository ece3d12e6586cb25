"""The training loop. It runs the schedule's phases on any loss terms, network and weighting;
it knows nothing of which PDE or which weighting scheme it runs."""
import copy
import math
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import torch

from pinn_cli.errors import DivergedError, PinnFitError
from pinn_cli.training.distributed import Ranks
from pinn_cli.training.health import Health, fresh_watch
from pinn_cli.training.losses import weighted_total
from pinn_cli.training.optimizers import phase_optimizers, scaled_lrs
from pinn_cli.training.precision import dtype_of, precision_name
from pinn_cli.training.row import Row, floats, per_parameter, term_gradients
from pinn_cli.training.schedule import Phase, phase_end

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# An L-BFGS phase has converged when the loss at the start of this many optimiser calls in a row
# is the same number: no decrease left at the working precision.
LBFGS_STILL_CALLS = 10


@dataclass
class Hooks:
    """What the trainer calls back: `on_row(row)` at each logged step, `on_progress(phase, done,
    loss, unknowns)` after each update, `on_checkpoint(state)` to save `state_dict()` (the
    caller adds what it needs back on restore), `on_restore(state)` after a retry went back to
    it (to roll the logs back), `on_gradients(step, phase, {term: {parameter: ∇ L_term}})`
    at the end of each phase (the per-layer histograms of Wang, Teng & Perdikaris 2021,
    Fig. 2) and `on_phase_end(end)` with how it ended (schedule.phase_end)."""

    on_row: Callable[[Row], None] = lambda row: None
    on_progress: Callable = lambda phase, done, loss, unknowns: None
    on_checkpoint: Callable[[dict], None] = lambda state: None
    on_restore: Callable[[dict], None] = lambda state: None
    on_gradients: Callable[[int, str, dict], None] = lambda step, phase, grads: None
    on_phase_end: Callable[[dict], None] = lambda end: None


@dataclass
class Outcome:
    status: str = "completed"  # completed | interrupted (diverged, stalled: raised)
    steps: Dict[str, int] = field(default_factory=dict)


class Trainer:
    """Runs the phases; its whole state (network, unknowns, weights λ, optimisers, position in the
    schedule, RNG) is `state_dict()`, so a run can stop at any step and continue exactly. Adam
    steps ask the losses for the residual points of their step (`Losses.redraw_at`); an L-BFGS
    phase keeps those of its first step, its objective fixed."""

    def __init__(self, *, net, unknowns, losses, weighting, phases: List[Phase],
                 hooks: Hooks | None = None, log_every: int = 100, checkpoint_every: int = 0,
                 retries: int = 0, retry_lr_factor: float = 0.5, ranks=None):
        """The state is checkpointed (`hooks.on_checkpoint`) every `checkpoint_every` steps
        (0: never), at the start, at each phase end and on interruption. A divergence is
        retried up to `retries` times from the last checkpoint with every learning rate
        multiplied by `retry_lr_factor`. `ranks` (training.distributed.Ranks): in a
        data-parallel fit, the gradients are summed over the ranks after each backward pass
        and a stop asked of any rank stops all of them at the same step."""
        self.net, self.unknowns, self.losses, self.weighting = net, unknowns, losses, weighting
        self.phases, self.log_every = phases, max(1, int(log_every))
        self.hooks = hooks or Hooks()
        self.ranks = ranks or Ranks()
        self.checkpoint_every = max(0, int(checkpoint_every))
        self.retries, self.retry_lr_factor = retries, retry_lr_factor
        self.step, self.logged, self.stop, self.last_row = 0, -1, False, None
        self.phase_index, self.phase_step, self.checkpointed = 0, 0, -1
        self.steps: Dict[str, int] = {}  # steps done per finished (or stopped) phase
        self.ends: Dict[str, dict] = {}  # how each of them ended: schedule.phase_end
        self.elapsed_before, self.lr_factor = 0.0, 1.0
        self.optimizers, self.schedulers, self.lbfgs_still, self.lbfgs_previous = [], [], 0, None
        self.retried: List[dict] = []  # one entry per divergence retried
        self._pending = None  # optimiser states of a loaded checkpoint, applied at phase start
        self.last_good = None
        self.health = Health(unknowns=unknowns, kinds=losses.kinds)
        weighting.bind(net, unknowns, losses)  # schemes that need more than per-term gradients
        weighting.setup(losses.kinds)

    @property
    def watch(self) -> dict:
        """What the health checks keep across steps (training.health)."""
        return self.health.watch

    # --- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "net": self.net.state_dict(), "unknowns": self.unknowns.state_dict(),
            "weighting": self.weighting.state_dict(),
            "optimizers": [o.state_dict() for o in self.optimizers],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "lbfgs": {"still": self.lbfgs_still, "previous": self.lbfgs_previous},
            "phase_index": self.phase_index, "phase_step": self.phase_step, "step": self.step,
            "logged": self.logged, "steps": dict(self.steps), "ends": copy.deepcopy(self.ends),
            "elapsed": self.elapsed(),
            "lr_factor": self.lr_factor, "retried": list(self.retried),
            "watch": copy.deepcopy(self.health.watch), "rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        state = copy.deepcopy(state)
        index = min(state["phase_index"], len(self.phases) - 1)
        self._set_precision(self._precision_at(index))  # before the values, which it would round
        self.net.load_state_dict(state["net"])
        self.unknowns.load_state_dict(state["unknowns"])
        self.weighting.load_state_dict(state["weighting"])
        for key in ("phase_index", "phase_step", "step", "logged", "lr_factor"):
            setattr(self, key, state[key])
        self.steps, self.retried = state["steps"], state["retried"]
        self.ends = state.get("ends", {})  # older checkpoints: none recorded
        self.health.watch = state.get("watch") or fresh_watch()  # older ones: start afresh
        self.lbfgs_still, self.lbfgs_previous = state["lbfgs"]["still"], state["lbfgs"]["previous"]
        self.elapsed_before, self.checkpointed = state["elapsed"], state["step"]
        self._pending = (state["optimizers"], state["schedulers"])
        torch.set_rng_state(state["rng"])
        self.last_good = state

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0 if hasattr(self, "t0") else self.elapsed_before

    def _checkpoint(self) -> None:
        self.checkpointed = self.step
        state = self.state_dict()
        self.hooks.on_checkpoint(state)  # adds what the caller needs back on restore, and saves it
        # only a retry goes back to it in memory, never into a loss already blowing up
        if self.retries and not self.health.watch["above"]:
            self.last_good = copy.deepcopy(state)

    def _checkpoint_due(self) -> bool:
        return (self.checkpoint_every and self.step % self.checkpoint_every == 0
                and self.step != self.checkpointed)

    # --- losses and gradients ------------------------------------------------------------------
    def _weighted(self, terms):
        return weighted_total(terms, self.weighting.lambdas)

    def _row(self, phase, terms, params, total, flat=None, dk=None):
        if flat is None:
            flat, dk = term_gradients(terms, self.net, params, self.ranks)
        self.logged = self.step
        row = Row(self.step, phase.name, self.elapsed(),
                  floats(params), floats(terms), float(total),
                  {k: float(g.abs().max()) for k, g in flat.items()},
                  {k: float(g.abs().mean()) for k, g in flat.items()},
                  dict(self.weighting.lambdas), dk, self.losses.log_values())
        self.last_row = row
        if phase.trains_unknowns:
            self.health.pulled(row)
        self.hooks.on_row(row)

    # --- stalled unknowns ----------------------------------------------------------------------
    def _log_due(self):
        return self.step % self.log_every == 0 and self.step != self.logged

    # --- phases ----------------------------------------------------------------------------
    def _precision_at(self, index: int) -> str | None:
        """The precision phase `index` trains in: the latest one set up to it (None: the run's)."""
        return next((p.precision for p in reversed(self.phases[:index + 1]) if p.precision), None)

    def _set_precision(self, precision: str | None) -> None:
        """Network, unknowns and points in `precision` (None: as they are): a float64 finish
        continues a float32 run with its values, each exact in float64."""
        if precision is None:
            return
        dtype = dtype_of(precision)
        self.net.to(dtype)
        self.unknowns.to(dtype)
        self.losses.to(dtype)

    def _start_phase(self, phase):
        """The phase's precision, held unknowns and time window (again on resume), and fresh
        optimisers for it, or those of the checkpoint being resumed."""
        self._set_precision(self._precision_at(self.phase_index))
        self.unknowns.hold(phase.hold)
        self.losses.use_density(phase.density)
        self.losses.restrict_time(phase.time_window)
        self.losses.redraw_at(self.step - self.phase_step)  # L-BFGS: those of its first step
        self.optimizers, self.schedulers = phase_optimizers(phase, self.net, self.unknowns,
                                                            self.lr_factor)
        self.health.phase_started(phase, new=self.phase_step == 0)
        if self._pending is not None:
            opt_states, sched_states = self._pending
            self._pending = None
            for o, st in zip(self.optimizers, opt_states):
                o.load_state_dict(st)
            for sch, st in zip(self.schedulers, sched_states):
                sch.load_state_dict(st)

    def _sum_gradients(self):
        """The gradients summed over the ranks (nothing to do in one process)."""
        self.ranks.sum_gradients(list(self.net.parameters()) + list(self.unknowns.parameters()))

    def _stopping(self) -> bool:
        """Whether to stop now: asked by a signal, on this rank or any other."""
        self.stop = self.ranks.any(self.stop)
        return self.stop

    def _steps(self, phase):
        """The phase's remaining step indices: stops when asked, checkpoints when due."""
        for i in range(self.phase_step, phase.steps):
            if self._stopping():
                return
            self.phase_step = i
            if self._checkpoint_due():
                self._checkpoint()
            yield i

    def _stepped(self, phase, i, loss, params, n=1):
        """Bookkeeping after the optimiser's update that ended with step i (n steps)."""
        self.unknowns.project()
        self.step += n
        self.phase_step = i + 1
        if phase.trains_unknowns:
            self.health.trained(n)
        self.hooks.on_progress(phase, i + 1, loss, floats(params))

    def _evaluate(self, phase):
        """The loss terms at the current state, checked: (params, terms, weighted total)."""
        params = self.unknowns.physical()
        terms = self.losses(self.net, params)
        total = self._weighted(terms).detach().item()
        self.health.check(phase, self.step, terms, total, params)
        return params, terms, total

    def _adam(self, phase):
        for i in self._steps(phase):
            self.losses.redraw_at(self.step)
            params = self.unknowns.physical()
            terms = self.losses(self.net, params)
            flat = dk = None
            if self.weighting.wants_gradients(self.step) or self._log_due():
                flat, dk = term_gradients(terms, self.net, params, self.ranks)
                if self.weighting.wants_gradients(self.step):
                    self.weighting.update(flat)
            total = self._weighted(terms)
            value = total.detach().item()
            self.health.check(phase, self.step, terms, value, params)
            if self._log_due():
                self._row(phase, terms, params, value, flat, dk)
            for o in self.optimizers:
                o.zero_grad(set_to_none=True)
            self.unknowns.zero_grad(set_to_none=True)
            total.backward()
            self._sum_gradients()
            self.health.check_gradients(phase, self.step, self.net)
            for o in self.optimizers:
                o.step()
            for d in self.schedulers:
                d.step()
            self._stepped(phase, i, value, params)

    def _lbfgs_chunk(self, phase) -> int:
        """Iterations for the next optimiser call: up to the next log row, checkpoint or phase
        end. One at a time when an unknown has bounds, so each iterate is projected into them."""
        if any(u.bounds is not None for u in self.unknowns.specs.values()):
            return 1
        ends = [phase.steps - self.phase_step, self.log_every - self.step % self.log_every]
        if self.checkpoint_every:
            ends.append(self.checkpoint_every - self.step % self.checkpoint_every)
        return max(1, min(ends))

    def _lbfgs(self, phase):
        """L-BFGS in calls of several iterations (`_lbfgs_chunk`): each call of torch's LBFGS
        re-evaluates the loss where the previous one stopped, so one call per iteration would
        cost an extra evaluation per iteration; the iterates are the same either way. Returns
        why it converged before its budget, or None."""
        (opt,) = self.optimizers
        group, state = opt.param_groups[0], opt.state[opt._params[0]]
        last = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            params = self.unknowns.physical()
            terms = self.losses(self.net, params)
            total = self._weighted(terms)
            total.backward()
            self._sum_gradients()
            last.update(terms=terms, params=params)
            return total

        while self.phase_step < phase.steps and not self._stopping():
            if self._checkpoint_due():
                self._checkpoint()
            if self._log_due():  # the per-term gradients need a graph of their own
                params, terms, total = self._evaluate(phase)
                self._row(phase, terms, params, total)
            chunk = self._lbfgs_chunk(phase)
            group["max_iter"], group["max_eval"] = chunk, 25 * chunk
            before = state.get("n_iter", 0)
            # step() returns the loss where the call started (its first closure call), so
            # checking it and the last evaluated terms needs no extra forward pass.
            total = opt.step(closure).detach().item()
            done = state.get("n_iter", 0) - before
            self.health.check(phase, self.step, last["terms"], total, last["params"])
            self.health.check_gradients(phase, self.step, self.net)
            if done == 0:  # the gradient is below tolerance_grad: nothing left to do
                return (f"L-BFGS tolerance on the gradient: its largest component is at most "
                        f"tolerance_grad={group['tolerance_grad']:g}")
            self._stepped(phase, self.phase_step + done - 1, total, self.unknowns.physical(),
                          done)
            self.lbfgs_still = self.lbfgs_still + 1 if total == self.lbfgs_previous else 0
            self.lbfgs_previous = total
            if self.lbfgs_still >= LBFGS_STILL_CALLS:  # converged to machine precision
                return (f"L-BFGS tolerance on the loss change: no change over "
                        f"{LBFGS_STILL_CALLS} optimiser calls in a row, tolerance_change="
                        f"{group['tolerance_change']:g}")

    def _run_phases(self, outcome):
        while self.phase_index < len(self.phases):
            phase = self.phases[self.phase_index]
            self._start_phase(phase)
            why = (self._lbfgs if phase.optimizer == "lbfgs" else self._adam)(phase)
            self.steps[phase.name] = self.phase_step
            self.ends[phase.name] = phase_end(phase, self.phase_step, why, self.stop)
            if self.stop:  # saved before the row below, which a resume rolls back
                self._checkpoint()
            params, terms, total = self._evaluate(phase)
            flat, dk = term_gradients(terms, self.net, params, self.ranks)
            if self.step != self.logged:  # the state after the phase's last update
                self._row(phase, terms, params, total, flat, dk)
            self.hooks.on_phase_end(self.ends[phase.name])
            if not self.stop:
                self.hooks.on_gradients(self.step, phase.name, per_parameter(self.net, flat))
            if self.stop:
                outcome.status = "interrupted"
                return
            self.phase_index, self.phase_step = self.phase_index + 1, 0
            self.lbfgs_still, self.lbfgs_previous = 0, None
            self.optimizers, self.schedulers = [], []  # the next phase starts its own
            self._checkpoint()

    def _check_start(self) -> None:
        """Unknowns that the working precision cannot hold (a guess whose exp() underflows to
        0 or overflows): an input error, before any training."""
        for k, v in floats(self.unknowns.physical()).items():
            u = self.unknowns.specs[k]
            if not math.isfinite(v) or (v == 0 and u.transform == "log"):
                raise PinnFitError(
                    f"unknown '{k}': its guess {u.guess:g} is {v:g} in "
                    f"{precision_name(self.unknowns.raw[k])} (transform {u.transform}); give "
                    f"pde.unknowns.{k}.guess a value the precision holds, or precision=float64")

    def run(self, hold_signals: bool = False) -> Outcome:
        """Train to the end of the schedule, or until SIGINT/SIGTERM (status interrupted).
        Raises DivergedError (after the retries) or StalledError (Health.check_stalled).
        `hold_signals`: after a stop that a signal asked for, leave SIGINT and SIGTERM ignored
        rather than restoring their handlers (kept in `signal_handlers`), for a caller that
        writes its summary and exits with 130: a second signal must not kill it first (ignored,
        not a Python handler, which the interpreter drops while it exits)."""
        self._check_start()
        self.t0 = time.perf_counter() - self.elapsed_before
        if self.checkpointed < 0:  # a new run: what a resume or retry can always go back to
            self._checkpoint()
        outcome = Outcome()
        handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}

        signalled = []

        def request_stop(signum, frame):
            self.stop = True
            signalled.append(signum)

        try:
            for s in handlers:
                signal.signal(s, request_stop)
        except ValueError:  # not the main thread (e.g. some launchers): no graceful stop
            handlers = {}
        try:
            while True:
                try:
                    self._run_phases(outcome)
                    break
                except DivergedError as err:
                    if len(self.retried) >= self.retries:
                        raise
                    retried = self.retried + [{"step": err.step, "phase": err.phase,
                                               "terms": err.terms}]
                    state = self.last_good
                    self.load_state_dict(state)
                    self.retried = retried
                    self.lr_factor *= self.retry_lr_factor
                    self._pending = scaled_lrs(self._pending, self.retry_lr_factor)
                    self.t0 = time.perf_counter() - self.elapsed_before
                    self.hooks.on_restore(state)
        finally:
            self.signal_handlers = handlers
            for s, h in handlers.items():
                signal.signal(s, signal.SIG_IGN if hold_signals and signalled else h)
        outcome.steps = dict(self.steps)
        if outcome.status == "completed":
            self.health.check_stalled(self.last_row)
        return outcome

