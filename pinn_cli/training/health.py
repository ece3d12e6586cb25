"""The trainer's watch over a run's health: divergence (NaN/Inf, an unknown with transform log
underflowed to 0, a loss blown up while finite) and stalled unknowns (never moved from where
their training began). Its state `watch` holds plain values only, so it is checkpointed."""
import math
from typing import Dict

import torch

from pinn_cli.errors import DivergedError, StalledError
from pinn_cli.training.precision import precision_name
from pinn_cli.training.row import floats

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


def _magnitude(u, k: float) -> float:
    """A magnitude for unknown `u` at value `k` that does not vanish when k is near 0 (the same
    as the diagnostics' negligible-gradient warning, diagnostics.verdicts._scale)."""
    width = u.bounds[1] - u.bounds[0] if u.bounds is not None else 0.0
    return max(abs(k), abs(u.guess), width, abs(u.scale))


def fresh_watch() -> dict:
    """What the divergence and stall checks keep across steps (plain values: checkpointed)."""
    return {"reference": None, "above": 0,  # the phase's first unweighted loss; checks above
            "theta0": None, "trained": 0,  # raw unknowns when training began; steps since
            "moved": {}, "pulled": {},  # per unknown: moved from theta0; gradient not negligible
            "data_first": None, "data_trained": None}  # data loss at step 0; when training began


class Health:
    """Checks the loss terms, gradients and unknowns of each step (`check`, `check_gradients`,
    after each update `trained`, at each logged row `pulled`) and, at the end of a completed
    run, whether an unknown stalled (`check_stalled`). Raises DivergedError / StalledError."""

    def __init__(self, *, unknowns, kinds: Dict[str, str]):
        self.unknowns, self.kinds = unknowns, kinds  # kinds: loss term -> data | residual | ...
        self.watch = fresh_watch()

    def phase_started(self, phase, new: bool) -> None:
        """A new phase (not a resume within one) gets a new blow-up reference; the unknowns'
        starting values are taken when a phase first trains them."""
        if new:
            self.watch["reference"], self.watch["above"] = None, 0
        if phase.trains_unknowns and self.watch["theta0"] is None:
            self.watch["theta0"] = self._raw()

    def check(self, phase, step, terms, total, params):
        """Divergence: a term, the total or an unknown NaN/Inf, an unknown with transform log
        underflowed to 0, or the loss blown up (_check_blowup)."""
        values = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in terms.items()}
        ks = floats(params)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        bad += [k for k, v in ks.items() if not math.isfinite(v)]
        if bad or not math.isfinite(total):
            self._diverged(phase, step, bad or ["total loss"],
                           f"{', '.join(bad or ['total loss'])} became NaN/Inf")
        zero = [k for k, v in ks.items() if v == 0 and self.unknowns.specs[k].transform == "log"]
        if zero:
            raw = ", ".join(f"{float(self.unknowns.raw[k].detach()):.4g}" for k in zero)
            self._diverged(phase, step, zero, (
                f"unknown {', '.join(repr(k) for k in zero)} (transform log) underflowed to "
                f"exactly 0 in {precision_name(self.unknowns.raw[zero[0]])}: its raw value "
                f"log({zero[0]}/scale) fell to {raw}, where exp() is 0, and no gradient moves "
                "it back"),
                f"Lower schedule.unknowns_lr, bound it (pde.unknowns.{zero[0]}.bounds=[lo,hi]), "
                "train in precision=float64")
        self._watch_data(phase, values)
        self._check_blowup(phase, step, values)

    def _check_blowup(self, phase, step, values):
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
            self._diverged(phase, step, grown or ["total loss"], (
                f"the loss (the sum of its unweighted terms) stayed above {BLOWUP_FACTOR:g} "
                f"times its value at the phase's start ({w['reference']:.3g}) for "
                f"{BLOWUP_CHECKS} checks in a row, now {total:.3g}"))

    def check_gradients(self, phase, step, net):
        grads = [p.grad.sum() for p in net.parameters() if p.grad is not None]
        grads += [p.grad.sum() for p in self.unknowns.parameters() if p.grad is not None]
        if grads and not torch.isfinite(torch.stack(grads).sum()):
            self._diverged(phase, step, ["a gradient"], "a gradient became NaN/Inf")

    def _diverged(self, phase, step, what, why, advice=None):
        advice = advice or ("Lower schedule.lr / schedule.unknowns_lr, check the data scale, "
                            "bound the unknowns")
        raise DivergedError(
            f"training diverged in phase '{phase.name}' at step {step}: {why}. {advice}, "
            "or pass on_divergence=retry", step=step, phase=phase.name, terms=what) from None

    def _raw(self) -> Dict[str, float]:
        return {k: float(v.detach()) for k, v in self.unknowns.raw.items()}

    def _watch_data(self, phase, values):
        """The data loss at the run's first check, and at the first check that trains the
        unknowns: what `check_stalled` compares the final one with."""
        data = sum(v for k, v in values.items() if self.kinds.get(k) == "data")
        w = self.watch
        if w["data_first"] is None:
            w["data_first"] = data
        if phase.trains_unknowns and w["data_trained"] is None:
            w["data_trained"] = data

    def trained(self, n):
        """After n steps that train the unknowns: count them, and mark those that moved."""
        w = self.watch
        w["trained"] += n
        if all(w["moved"].get(k) for k in self.unknowns.specs):
            return  # nothing left to find: no values read back
        for k, theta in self._raw().items():
            theta0 = w["theta0"][k]
            if abs(theta - theta0) > STALL_MOVE * max(1.0, abs(theta0)):
                w["moved"][k] = True

    def pulled(self, row):
        """Mark the unknowns whose gradient in this row is not negligible: some term's
        |∂L_i/∂k| times k's magnitude at least NEGLIGIBLE × the loss."""
        for name, u in self.unknowns.specs.items():
            pull = max((abs(g.get(name, 0.0)) for g in row.dL_dk.values()), default=0.0)
            if pull * _magnitude(u, row.unknowns[name]) >= NEGLIGIBLE * abs(row.total):
                self.watch["pulled"][name] = True

    def check_stalled(self, row):
        """Raise StalledError when an unknown never moved from where its training began
        (STALL_MOVE, over at least STALL_MIN_STEPS steps) while its gradient was not negligible
        or the data loss did not fall: the run ended with the guess as the estimate."""
        w = self.watch
        if w["theta0"] is None or w["trained"] < STALL_MIN_STEPS or row is None:
            return
        data = sum(v for k, v in row.losses.items() if self.kinds.get(k) == "data")
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

