"""The unknown coefficients: their declaration (`Unknown`, one per `pde.unknowns` entry) and the
trainable module that holds them (`Unknowns`).

Each unknown k is trained through a raw value θ: k = θ (transform identity), k = scale·θ
(scaled: θ is O(1) when scale is k's magnitude) or k = scale·exp(θ) (log: k > 0, uniform steps
in orders of magnitude).
"""
import math
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import torch
from torch import nn

from pinn_cli.errors import PinnFitError


@dataclass
class Unknown:
    """An unknown coefficient k, trained through a raw value θ (see the module docstring)."""

    name: str
    guess: float
    truth: float | None = None
    transform: str = "identity"
    scale: float = 1.0
    bounds: Tuple[float, float] | None = None

    def __post_init__(self):
        where = f"pde.unknowns.{self.name}"
        if self.truth is not None and (isinstance(self.truth, (str, bool))
                                       or not math.isfinite(float(self.truth))):
            raise PinnFitError(f"{where}.truth={self.truth!r}: a scalar unknown's truth is a "
                               "finite number (an expression is the truth of an unknown field, "
                               "declared with field: [inputs])")
        if not math.isfinite(self.guess):
            raise PinnFitError(f"{where}.guess={self.guess}: give a finite number")
        if not math.isfinite(self.scale) or self.scale == 0 or \
                (self.transform == "log" and self.scale < 0):
            raise PinnFitError(f"{where}.scale={self.scale}: give the unknown's reference "
                               "magnitude, a finite number > 0")
        if self.bounds is not None:
            self.bounds = self._checked_bounds(where)
        if self.transform == "log" and self.guess <= 0:
            raise PinnFitError(f"unknown '{self.name}': transform log needs a positive guess, got "
                               f"{self.guess}; set pde.unknowns.{self.name}.guess to a value > 0")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo <= self.guess <= hi:
                raise PinnFitError(f"unknown '{self.name}': guess {self.guess} lies outside its "
                                   f"bounds [{lo}, {hi}]; change the guess or the bounds")

    def _checked_bounds(self, where) -> Tuple[float, float]:
        b = list(self.bounds)
        if len(b) != 2 or not all(math.isfinite(v) for v in b) or not b[0] < b[1]:
            raise PinnFitError(f"{where}.bounds={b}: give [lo, hi] with lo < hi, or null")
        if self.transform == "log" and b[0] <= 0:
            raise PinnFitError(f"{where}.bounds={b}: with transform log the unknown is "
                               "positive; give bounds with lo > 0")
        return float(b[0]), float(b[1])

    def to_raw(self, value: float) -> float:
        if self.transform == "log":
            return math.log(value / self.scale)
        return value / self.scale if self.transform == "scaled" else value

    def to_physical(self, raw):
        """k from θ: a tensor for a tensor, a float for a number."""
        if self.transform == "log":
            return self.scale * (torch.exp(raw) if torch.is_tensor(raw) else math.exp(raw))
        if self.transform == "scaled":
            return self.scale * raw
        return raw if torch.is_tensor(raw) else float(raw)


def physical(unknowns: Sequence[Unknown], raw: Sequence[float]) -> Dict[str, float]:
    """The physical values of raw values θ given in the order of `unknowns`."""
    return {u.name: u.to_physical(r) for u, r in zip(unknowns, raw)}


class Unknowns(nn.Module):
    """The trainable raw values θ of a problem's unknowns; `physical()` gives k = transform(θ)."""

    def __init__(self, unknowns: Sequence[Unknown], dtype: torch.dtype | None = None,
                 fields: nn.Module | None = None):
        """θ in `dtype` (default: torch's default dtype), made from the guess in that dtype;
        `fields`: the unknown fields' networks (pinn_cli.problem.fields.FieldNets), trained
        with the unknowns (their learning rate, frozen where the unknowns are)."""
        super().__init__()
        self.fields = fields
        self.specs = {u.name: u for u in unknowns}
        self.raw = nn.ParameterDict({
            u.name: nn.Parameter(torch.tensor(u.to_raw(u.guess), dtype=dtype))
            for u in unknowns})

    def physical(self) -> Dict[str, torch.Tensor]:
        return {k: self.specs[k].to_physical(v) for k, v in self.raw.items()}

    @torch.no_grad()
    def hold(self, values: Dict[str, float]) -> None:
        """Set the named unknowns to these physical values
        (pinn_cli.training.schedule.Phase.hold)."""
        for k, v in values.items():
            self.raw[k].fill_(self.specs[k].to_raw(v))

    @torch.no_grad()
    def project(self) -> None:
        """Clamp each unknown with bounds back into them after an optimiser step."""
        for k, u in self.specs.items():
            if u.bounds is not None:
                lo, hi = (u.to_raw(b) for b in u.bounds)
                self.raw[k].clamp_(min(lo, hi), max(lo, hi))
