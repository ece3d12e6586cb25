"""The offline parameter ranges of an IP-Basis PINN: each unknown's [lo, hi] with its sampling
(uniform or log), and the readouts' parameter draw over them."""
import math
from dataclasses import dataclass
from typing import Dict

import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem

EDGE = 0.02  # an estimate this close to an edge of its range, as a fraction of the range's width


@dataclass
class Range:
    """The offline range of one unknown: [lo, hi], covered uniformly or log-uniformly."""

    lo: float
    hi: float
    sampling: str = "uniform"  # uniform | log

    def _map(self, v):
        return math.log(v) if self.sampling == "log" else float(v)

    def value(self, u: torch.Tensor) -> torch.Tensor:
        """The values at fractions u ∈ [0, 1] of the range (in log scale for log sampling)."""
        a, b = self._map(self.lo), self._map(self.hi)
        v = a + (b - a) * u
        return torch.exp(v) if self.sampling == "log" else v

    def widened(self, margin: float) -> "Range":
        """The range extended by `margin` × its width on each side (in log scale for log
        sampling, so the low end stays positive)."""
        if margin == 0:
            return self
        a, b = self._map(self.lo), self._map(self.hi)
        lo, hi = a - margin * (b - a), b + margin * (b - a)
        if self.sampling == "log":
            lo, hi = math.exp(lo), math.exp(hi)
        return Range(lo, hi, self.sampling)

    def position(self, v: float) -> float:
        """Where v lies: 0 at lo, 1 at hi (in log scale for log sampling), outside for < 0, > 1."""
        a, b = self._map(self.lo), self._map(self.hi)
        return (self._map(v) - a) / (b - a) if v > 0 or self.sampling != "log" else -math.inf


def ranges_for(problem: Problem, ranges: Dict[str, dict]) -> Dict[str, Range]:
    """Check `ranges` ({unknown: {lo, hi, sampling}}) against the problem's unknowns."""
    names = [u.name for u in problem.unknowns]
    if sorted(ranges) != sorted(names):
        raise PinnFitError(f"basis ranges are given for {sorted(ranges)}; give one for each "
                           f"unknown {names}, e.g. {names[0]}: {{lo: 0.1, hi: 1.0}}")
    out = {}
    for name in names:
        try:
            r = Range(**ranges[name])
            r = Range(float(r.lo), float(r.hi), r.sampling)
        except (TypeError, ValueError):  # not a mapping, other keys, lo or hi not a number
            raise PinnFitError(f"range of {name}: {ranges[name]!r}; give {{lo, hi}} (numbers) "
                               "and optionally sampling (uniform | log)") from None
        if r.sampling not in ("uniform", "log"):
            raise PinnFitError(f"range of {name}: sampling={r.sampling!r}; choose uniform or log")
        if not (math.isfinite(r.lo) and math.isfinite(r.hi) and r.lo < r.hi) or \
                (r.sampling == "log" and r.lo <= 0):
            raise PinnFitError(f"range of {name}: [{r.lo}, {r.hi}] must be finite with lo < hi "
                               "(and lo > 0 for log sampling)")
        out[name] = r
    return out


def sample_parameters(ranges: Dict[str, Range], n: int, seed: int) -> Dict[str, torch.Tensor]:
    """n parameter sets spread over the ranges by a scrambled Sobol draw: {unknown: (n,)}."""
    u = torch.quasirandom.SobolEngine(len(ranges), scramble=True, seed=seed).draw(n)
    u = u.to(torch.get_default_dtype())
    return {name: r.value(u[:, i]) for i, (name, r) in enumerate(ranges.items())}
