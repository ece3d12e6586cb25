"""The training loop. It runs the schedule's phases on any loss terms, network and weighting;
it knows nothing of which PDE or which weighting scheme it runs."""
import math
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import torch

from pinn_cli.errors import DivergedError
from pinn_cli.schedule import Phase


@dataclass
class Row:
    """What is logged at one step: the state after `step` updates."""

    step: int
    phase: str
    elapsed: float
    unknowns: Dict[str, float]
    losses: Dict[str, float]
    total: float
    grad_max: Dict[str, float]  # max_θ |∇θ L_i| over the network weights
    grad_mean: Dict[str, float]  # mean_θ |∇θ L_i|
    lambdas: Dict[str, float]
    dL_dk: Dict[str, Dict[str, float]]  # term -> unknown -> ∂L_i/∂k (physical k)


@dataclass
class Outcome:
    status: str = "completed"  # completed | interrupted
    steps: Dict[str, int] = field(default_factory=dict)


class Trainer:
    def __init__(self, net, unknowns, losses, weighting, phases: List[Phase],
                 on_row: Callable[[Row], None], on_progress: Callable, log_every: int = 100,
                 on_phase_end: Callable[[str, int], None] = lambda phase, step: None):
        self.net, self.unknowns, self.losses, self.weighting = net, unknowns, losses, weighting
        self.phases, self.log_every = phases, max(1, int(log_every))
        self.on_row, self.on_progress, self.on_phase_end = on_row, on_progress, on_phase_end
        self.step, self.logged, self.stop, self.last_row = 0, -1, False, None
        weighting.setup(losses.kinds)

    def _weighted(self, terms):
        return sum(self.weighting.lambdas[k] * v for k, v in terms.items())

    def _gradients(self, terms, params):
        """Per term: ∇θ L_i flattened over the network weights, and ∂L_i/∂k for each unknown."""
        weights, ks = list(self.net.parameters()), list(params.values())
        flat, dk = {}, {}
        for name, loss in terms.items():
            g = torch.autograd.grad(loss, weights + ks, retain_graph=True, allow_unused=True)
            flat[name] = torch.cat([(gi if gi is not None else torch.zeros_like(w)).reshape(-1)
                                    for gi, w in zip(g, weights)])
            dk[name] = {k: 0.0 if gi is None else float(gi)
                        for k, gi in zip(params, g[len(weights):])}
        return flat, dk

    def _row(self, phase, terms, params, total, flat=None, dk=None):
        if flat is None:
            flat, dk = self._gradients(terms, params)
        self.logged = self.step
        row = Row(self.step, phase.name, time.perf_counter() - self.t0,
                  _floats(params), _floats(terms), float(total),
                  {k: float(g.abs().max()) for k, g in flat.items()},
                  {k: float(g.abs().mean()) for k, g in flat.items()},
                  dict(self.weighting.lambdas), dk)
        self.last_row = row
        self.on_row(row)

    def _check(self, phase, terms, total, params):
        bad = [k for k, v in terms.items() if not torch.isfinite(v)]
        bad += [k for k, v in params.items() if not torch.isfinite(v)]
        if bad or not math.isfinite(total):
            raise DivergedError(
                f"training diverged in phase '{phase.name}' at step {self.step}: "
                f"{', '.join(bad) or 'total loss'} became NaN/Inf. Lower schedule.lr / "
                "schedule.unknowns_lr, check the data scale, or bound the unknowns",
            ) from None

    def _log_due(self):
        return self.step % self.log_every == 0 and self.step != self.logged

    def _adam(self, phase, n):
        groups = [torch.optim.Adam(self.net.parameters(), lr=phase.lr)]
        if phase.unknowns_lr is not None:
            groups.append(torch.optim.Adam(self.unknowns.parameters(), lr=phase.unknowns_lr))
        decays = [torch.optim.lr_scheduler.StepLR(o, 1000, phase.decay) for o in groups]
        for i in range(n):
            if self.stop:
                return i
            params = self.unknowns.physical()
            terms = self.losses(self.net, params)
            flat = dk = None
            if self.weighting.wants_gradients(self.step) or self._log_due():
                flat, dk = self._gradients(terms, params)
                if self.weighting.wants_gradients(self.step):
                    self.weighting.update(flat)
            total = self._weighted(terms)
            value = total.detach().item()
            self._check(phase, terms, value, params)
            if self._log_due():
                self._row(phase, terms, params, value, flat, dk)
            for o in groups:
                o.zero_grad(set_to_none=True)
            self.unknowns.zero_grad(set_to_none=True)
            total.backward()
            for o in groups:
                o.step()
            for d in decays:
                d.step()
            self.unknowns.project()
            self.step += 1
            self.on_progress(phase, i + 1, value, _floats(params))
        return n

    def _lbfgs(self, phase, n):
        opt = torch.optim.LBFGS(list(self.net.parameters()) + list(self.unknowns.parameters()),
                                lr=1.0, max_iter=1, max_eval=25, history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                tolerance_change=1e-15)

        last = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            params = self.unknowns.physical()
            terms = self.losses(self.net, params)
            total = self._weighted(terms)
            total.backward()
            last.update(terms=terms, params=params)
            return total

        previous, still = None, 0
        for i in range(n):
            if self.stop:
                return i
            if self._log_due():  # the per-term gradients need a graph of their own
                params = self.unknowns.physical()
                terms = self.losses(self.net, params)
                total = self._weighted(terms).detach().item()
                self._check(phase, terms, total, params)
                self._row(phase, terms, params, total)
            # step() returns the loss at the point it started from (its first closure call), so
            # checking it and the last evaluated terms needs no extra forward pass.
            total = opt.step(closure).detach().item()
            self._check(phase, last["terms"], total, last["params"])
            self.unknowns.project()
            self.step += 1
            self.on_progress(phase, i + 1, total, _floats(self.unknowns.physical()))
            still = still + 1 if total == previous else 0
            if still >= 10:  # converged to machine precision: nothing left to do
                return i + 1
            previous = total
        return n

    def run(self) -> Outcome:
        self.t0 = time.perf_counter()
        outcome = Outcome()
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum, frame):
            self.stop = True

        try:
            for s in handlers:
                signal.signal(s, request_stop)
        except ValueError:  # not the main thread (e.g. some launchers): no graceful stop
            handlers = {}
        try:
            for phase in self.phases:
                run = self._lbfgs if phase.optimizer == "lbfgs" else self._adam
                outcome.steps[phase.name] = run(phase, phase.steps)
                if self.step != self.logged:  # the state after the phase's last update
                    params = self.unknowns.physical()
                    terms = self.losses(self.net, params)
                    total = self._weighted(terms).detach().item()
                    self._check(phase, terms, total, params)
                    self._row(phase, terms, params, total)
                self.on_phase_end(phase.name, self.step)
                if self.stop:
                    outcome.status = "interrupted"
                    break
        finally:
            for s, h in handlers.items():
                signal.signal(s, h)
        return outcome


def _floats(tensors: Dict[str, torch.Tensor]) -> Dict[str, float]:
    return {k: v.detach().item() for k, v in tensors.items()}
