"""The training loop. It runs the schedule's phases on any loss terms, network and weighting;
it knows nothing of which PDE or which weighting scheme it runs."""
import copy
import math
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import torch

from pinn_cli.errors import DivergedError, PinnFitError, StalledError
from pinn_cli.training.losses import weighted_total
from pinn_cli.training.optimizers import phase_optimizers, scaled_lrs
from pinn_cli.training.precision import dtype_of
from pinn_cli.training.row import Row, floats, per_parameter, term_gradients
from pinn_cli.training.schedule import Phase, phase_end

# A loss blow-up that stays finite is divergence too: the sum of the unweighted loss terms
# (adaptive weights change the weighted total, not these) above BLOWUP_FACTOR times its value at
# the phase's first step, at BLOWUP_CHECKS consecutive checks (one per Adam step, one per L-BFGS
# call). In short runs of every shipped problem the sum stayed within 52x of the phase's start
# (docs/reliability.md, "Divergence").
BLOWUP_FACTOR = 1e4
BLOWUP_CHECKS = 10
# An unknown has stalled when its raw value θ never moved more than STALL_MOVE · max(1, |θ₀|)
# from θ₀, its value when its training began, over at least STALL_MIN_STEPS steps that train it,
# while its gradient was not negligible (NEGLIGIBLE, the diagnostics' rule: some term's
# |∂L_i/∂k| times k's magnitude at least 1e-6 of the loss) or the data loss did not fall.
STALL_MOVE = 1e-6
STALL_MIN_STEPS = 10
NEGLIGIBLE = 1e-6
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# An L-BFGS phase has converged when the loss at the start of this many optimiser calls in a row
# is the same number: no decrease left at the working precision.
LBFGS_STILL_CALLS = 10


def _magnitude(u, k: float) -> float:
    """A magnitude for unknown `u` at value `k` that does not vanish when k is near 0 (the same
    as the diagnostics' negligible-gradient warning, diagnostics.verdicts._scale)."""
    width = u.bounds[1] - u.bounds[0] if u.bounds is not None else 0.0
    return max(abs(k), abs(u.guess), width, abs(u.scale))


def _fresh_watch() -> dict:
    """What the divergence and stall checks keep across steps (plain values: checkpointed)."""
    return {"reference": None, "above": 0,  # the phase's first unweighted loss; checks above
            "theta0": None, "trained": 0,  # raw unknowns when training began; steps since
            "moved": {}, "pulled": {},  # per unknown: moved from theta0; gradient not negligible
            "data_first": None, "data_trained": None}  # data loss at step 0; when training began


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
                 retries: int = 0, retry_lr_factor: float = 0.5):
        """The state is checkpointed (`hooks.on_checkpoint`) every `checkpoint_every` steps
        (0: never), at the start, at each phase end and on interruption. A divergence is
        retried up to `retries` times from the last checkpoint with every learning rate
        multiplied by `retry_lr_factor`."""
        self.net, self.unknowns, self.losses, self.weighting = net, unknowns, losses, weighting
        self.phases, self.log_every = phases, max(1, int(log_every))
        self.hooks = hooks or Hooks()
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
        self.watch = _fresh_watch()  # _check_blowup, _watch_unknowns, _check_stalled
        weighting.bind(net, unknowns, losses)  # schemes that need more than per-term gradients
        weighting.setup(losses.kinds)

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
            "watch": copy.deepcopy(self.watch), "rng": torch.get_rng_state(),
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
        self.watch = state.get("watch") or _fresh_watch()  # older checkpoints: start afresh
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
        if self.retries and not self.watch["above"]:  # only a retry goes back to it in memory,
            self.last_good = copy.deepcopy(state)  # never into a loss already blowing up

    def _checkpoint_due(self) -> bool:
        return (self.checkpoint_every and self.step % self.checkpoint_every == 0
                and self.step != self.checkpointed)

    # --- losses and gradients ------------------------------------------------------------------
    def _weighted(self, terms):
        return weighted_total(terms, self.weighting.lambdas)

    def _row(self, phase, terms, params, total, flat=None, dk=None):
        if flat is None:
            flat, dk = term_gradients(terms, self.net, params)
        self.logged = self.step
        row = Row(self.step, phase.name, self.elapsed(),
                  floats(params), floats(terms), float(total),
                  {k: float(g.abs().max()) for k, g in flat.items()},
                  {k: float(g.abs().mean()) for k, g in flat.items()},
                  dict(self.weighting.lambdas), dk, self.losses.log_values())
        self.last_row = row
        if phase.trains_unknowns:
            self._watch_pull(row)
        self.hooks.on_row(row)

    def _check(self, phase, terms, total, params):
        """Divergence: a term, the total or an unknown NaN/Inf, an unknown with transform log
        underflowed to 0, or the loss blown up (_check_blowup)."""
        values = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in terms.items()}
        ks = floats(params)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        bad += [k for k, v in ks.items() if not math.isfinite(v)]
        if bad or not math.isfinite(total):
            self._diverged(phase, bad or ["total loss"],
                           f"{', '.join(bad or ['total loss'])} became NaN/Inf")
        zero = [k for k, v in ks.items() if v == 0 and self.unknowns.specs[k].transform == "log"]
        if zero:
            raw = ", ".join(f"{float(self.unknowns.raw[k].detach()):.4g}" for k in zero)
            self._diverged(phase, zero, (
                f"unknown {', '.join(repr(k) for k in zero)} (transform log) underflowed to "
                f"exactly 0 in {_dtype(self.unknowns.raw[zero[0]])}: its raw value "
                f"log({zero[0]}/scale) fell to {raw}, where exp() is 0, and no gradient moves "
                "it back"),
                f"Lower schedule.unknowns_lr, bound it (pde.unknowns.{zero[0]}.bounds=[lo,hi]), "
                "train in precision=float64")
        self._watch_data(phase, values)
        self._check_blowup(phase, values)

    def _check_blowup(self, phase, values):
        """A loss that stays finite but grows without bound: the sum of the unweighted terms
        above BLOWUP_FACTOR × its value at the phase's first check, BLOWUP_CHECKS checks in a
        row."""
        w, total = self.watch, sum(values.values())
        if w["reference"] is None:
            w["reference"], w["above"] = total, 0
            return
        if not (w["reference"] > 0 and total > BLOWUP_FACTOR * w["reference"]):
            w["above"] = 0
            return
        w["above"] += 1
        if w["above"] >= BLOWUP_CHECKS:
            grown = [k for k, v in values.items() if v > BLOWUP_FACTOR * w["reference"]]
            self._diverged(phase, grown or ["total loss"], (
                f"the loss (the sum of its unweighted terms) stayed above {BLOWUP_FACTOR:g} "
                f"times its value at the phase's start ({w['reference']:.3g}) for "
                f"{BLOWUP_CHECKS} checks in a row, now {total:.3g}"))

    def _check_gradients(self, phase):
        grads = [p.grad.sum() for p in self.net.parameters() if p.grad is not None]
        grads += [p.grad.sum() for p in self.unknowns.parameters() if p.grad is not None]
        if grads and not torch.isfinite(torch.stack(grads).sum()):
            self._diverged(phase, ["a gradient"], "a gradient became NaN/Inf")

    def _diverged(self, phase, what, why, advice=None):
        advice = advice or ("Lower schedule.lr / schedule.unknowns_lr, check the data scale, "
                            "bound the unknowns")
        raise DivergedError(
            f"training diverged in phase '{phase.name}' at step {self.step}: {why}. {advice}, "
            "or pass on_divergence=retry", step=self.step, phase=phase.name, terms=what) from None

    # --- stalled unknowns ----------------------------------------------------------------------
    def _raw(self) -> Dict[str, float]:
        return {k: float(v.detach()) for k, v in self.unknowns.raw.items()}

    def _watch_data(self, phase, values):
        """The data loss at the run's first check, and at the first check that trains the
        unknowns: what `_check_stalled` compares the final one with."""
        data = sum(v for k, v in values.items() if self.losses.kinds.get(k) == "data")
        w = self.watch
        if w["data_first"] is None:
            w["data_first"] = data
        if phase.trains_unknowns and w["data_trained"] is None:
            w["data_trained"] = data

    def _watch_unknowns(self, n):
        """After n steps that train the unknowns: count them, and mark those that moved."""
        w = self.watch
        w["trained"] += n
        if all(w["moved"].get(k) for k in self.unknowns.specs):
            return  # nothing left to find: no values read back
        for k, theta in self._raw().items():
            theta0 = w["theta0"][k]
            if abs(theta - theta0) > STALL_MOVE * max(1.0, abs(theta0)):
                w["moved"][k] = True

    def _watch_pull(self, row):
        """Mark the unknowns whose gradient in this row is not negligible: some term's
        |∂L_i/∂k| times k's magnitude at least NEGLIGIBLE × the loss."""
        for name, u in self.unknowns.specs.items():
            pull = max((abs(g.get(name, 0.0)) for g in row.dL_dk.values()), default=0.0)
            if pull * _magnitude(u, row.unknowns[name]) >= NEGLIGIBLE * abs(row.total):
                self.watch["pulled"][name] = True

    def _check_stalled(self):
        """Raise StalledError when an unknown never moved from where its training began
        (STALL_MOVE, over at least STALL_MIN_STEPS steps) while its gradient was not negligible
        or the data loss did not fall: the run ended with the guess as the estimate."""
        w, row = self.watch, self.last_row
        if w["theta0"] is None or w["trained"] < STALL_MIN_STEPS or row is None:
            return
        data = sum(v for k, v in row.losses.items() if self.losses.kinds.get(k) == "data")
        starts = [v for v in (w["data_first"], w["data_trained"]) if v is not None]
        data_high = bool(starts) and data >= min(starts)
        stalled, why = [], []
        for name, u in self.unknowns.specs.items():
            if w["moved"].get(name) or not (w["pulled"].get(name) or data_high):
                continue
            stalled.append(name)
            k = row.unknowns[name]
            cause = "its gradient was not negligible" if w["pulled"].get(name) else \
                f"the data loss did not fall ({min(starts):.3g} then, {data:.3g} at the end)"
            at_bound = u.bounds is not None and \
                min(abs(k - b) for b in u.bounds) <= 1e-6 * (u.bounds[1] - u.bounds[0])
            why.append(f"unknown '{name}' never moved from {k:.6g}, where its training began, in "
                       f"{w['trained']} steps that train it, while {cause}"
                       + (f"; it sits at its bound {list(u.bounds)}" if at_bound else ""))
        if stalled:
            raise StalledError(
                f"training stalled: {'; '.join(why)}. Its estimate is only its starting value: "
                "raise schedule.unknowns_lr, widen its bounds if it sits at one, or check the data "
                "scale and the equations", unknowns=stalled)

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
        if self.phase_step == 0:  # a new phase (not a resume within one): a new reference
            self.watch["reference"], self.watch["above"] = None, 0
        if phase.trains_unknowns and self.watch["theta0"] is None:
            self.watch["theta0"] = self._raw()
        if self._pending is not None:
            opt_states, sched_states = self._pending
            self._pending = None
            for o, st in zip(self.optimizers, opt_states):
                o.load_state_dict(st)
            for sch, st in zip(self.schedulers, sched_states):
                sch.load_state_dict(st)

    def _steps(self, phase):
        """The phase's remaining step indices: stops when asked, checkpoints when due."""
        for i in range(self.phase_step, phase.steps):
            if self.stop:
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
            self._watch_unknowns(n)
        self.hooks.on_progress(phase, i + 1, loss, floats(params))

    def _evaluate(self, phase):
        """The loss terms at the current state, checked: (params, terms, weighted total)."""
        params = self.unknowns.physical()
        terms = self.losses(self.net, params)
        total = self._weighted(terms).detach().item()
        self._check(phase, terms, total, params)
        return params, terms, total

    def _adam(self, phase):
        for i in self._steps(phase):
            self.losses.redraw_at(self.step)
            params = self.unknowns.physical()
            terms = self.losses(self.net, params)
            flat = dk = None
            if self.weighting.wants_gradients(self.step) or self._log_due():
                flat, dk = term_gradients(terms, self.net, params)
                if self.weighting.wants_gradients(self.step):
                    self.weighting.update(flat)
            total = self._weighted(terms)
            value = total.detach().item()
            self._check(phase, terms, value, params)
            if self._log_due():
                self._row(phase, terms, params, value, flat, dk)
            for o in self.optimizers:
                o.zero_grad(set_to_none=True)
            self.unknowns.zero_grad(set_to_none=True)
            total.backward()
            self._check_gradients(phase)
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
            last.update(terms=terms, params=params)
            return total

        while self.phase_step < phase.steps and not self.stop:
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
            self._check(phase, last["terms"], total, last["params"])
            self._check_gradients(phase)
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
            flat, dk = term_gradients(terms, self.net, params)
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
                    f"{_dtype(self.unknowns.raw[k])} (transform {u.transform}); give "
                    f"pde.unknowns.{k}.guess a value the precision holds, or precision=float64")

    def run(self, hold_signals: bool = False) -> Outcome:
        """Train to the end of the schedule, or until SIGINT/SIGTERM (status interrupted).
        Raises DivergedError (after the retries) or StalledError (_check_stalled).
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
            self._check_stalled()
        return outcome


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")
