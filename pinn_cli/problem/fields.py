"""Unknown coefficient fields: a coefficient that varies over some of the inputs, such as a
diffusivity D(x) or a conductivity a(x, y), declared in `pde.unknowns` with the inputs it
depends on:

    unknowns:
      D: {field: [x], guess: 0.1, transform: log}

Each field is represented by a small network of its own over its inputs (`FieldNets`), the
approach of DeepXDE's `elliptic_inverse_field` example and of PINNacle's inverse problems: a
smooth, mesh-free function whose input derivatives (D_x, D_xx) come from the same Taylor
engine as the solution's. Its output N passes through the transform: D = guess·exp(N) (log:
D > 0) or D = guess + scale·N (identity), with the last layer started at zero, so the field
starts at its guess everywhere and a pretrain phase is a forward PINN at that guess.
"""
import math
from dataclasses import dataclass
from typing import Callable, List, Sequence

import numpy as np
import sympy
import torch
from torch import nn

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.expressions import default_symbol, parse

FIELD_TRANSFORMS = ("log", "identity")


@dataclass
class FieldUnknown:
    """An unknown field `name`(inputs): its guess (a constant), transform, the network that
    represents it (`width` × `depth`, tanh), optionally its truth as an expression in its
    inputs (e.g. "0.1*(1 + 0.5*tanh((x - 0.5)/0.1))") that the run scores against, and a
    smoothness penalty `regularization: {h1: c}` (`smoothing`)."""

    name: str
    inputs: List[str]
    guess: float
    transform: str = "log"
    scale: float = 1.0
    truth: str | None = None
    width: int = 20
    depth: int = 3
    regularization: dict | None = None  # {h1: c}: the smoothness term smooth_<name>

    def check(self, problem_inputs: Sequence[str], outputs: Sequence[str]) -> None:
        where = f"pde.unknowns.{self.name}"
        if self.name in outputs or self.name in problem_inputs:
            raise PinnFitError(f"{where}: '{self.name}' is already a solution field or an input "
                               f"(fields {list(outputs)}, inputs {list(problem_inputs)}); give "
                               "the unknown field a name of its own")
        if isinstance(self.inputs, str):
            self.inputs = [self.inputs]
        bad = [i for i in self.inputs if i not in problem_inputs]
        if bad or not self.inputs or len(set(self.inputs)) < len(self.inputs):
            raise PinnFitError(f"{where}.field={list(self.inputs)}: list the inputs the field "
                               f"depends on, each once, from the problem's inputs "
                               f"{list(problem_inputs)}"
                               + (f"; {bad} are not inputs" if bad else ""))
        self.inputs = sorted(self.inputs, key=list(problem_inputs).index)
        if self.transform not in FIELD_TRANSFORMS:
            raise PinnFitError(f"{where}.transform={self.transform!r}: a field takes log "
                               "(positive fields) or identity")
        if not math.isfinite(self.guess) or (self.transform == "log" and self.guess <= 0):
            raise PinnFitError(f"{where}.guess={self.guess}: give a finite constant"
                               + (" > 0 (transform log)" if self.transform == "log" else ""))
        if not math.isfinite(self.scale) or self.scale <= 0:
            raise PinnFitError(f"{where}.scale={self.scale}: give the field's variation "
                               "magnitude, a number > 0")
        if int(self.width) < 1 or int(self.depth) < 1:
            raise PinnFitError(f"{where}: width and depth of the field's network must be >= 1")
        if self.truth is not None:
            self.truth_function()  # refused now, not after the training
        reg = dict(self.regularization or {})
        bad = sorted(set(reg) - {"h1"})
        if bad or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                          and math.isfinite(v) and v >= 0 for v in reg.values()):
            raise PinnFitError(f"{where}.regularization={reg}: give {{h1: c}}, c >= 0, the "
                               "weight of the smoothness term (docs/fields.md)")
        self.regularization = reg

    @property
    def smoothing(self) -> float:
        """c of the H¹ smoothness term c · mean Σ_i (L_i ∂_i f / |guess|)², L_i the domain's
        width along input i (0: none)."""
        return float((self.regularization or {}).get("h1", 0.0))

    def truth_function(self) -> Callable[..., np.ndarray]:
        """The truth as a numpy function of the field's inputs (in order), from the expression
        string (parsed without evaluating Python: pinn_cli.problem.expressions)."""
        return expression_function(str(self.truth), self.inputs,
                                   f"the truth of field '{self.name}'")


def expression_function(text: str, inputs: Sequence[str], what: str) -> Callable[..., np.ndarray]:
    """`text`, an expression in `inputs`, as a numpy function of arrays of those inputs."""
    expr = parse(text, default_symbol(list(inputs)), what, "'0.1*(1 + 0.5*sin(pi*x))'")
    extra = sorted(s.name for s in expr.free_symbols if s.name not in inputs)
    if extra:
        raise PinnFitError(f"{what}: {text!r} names {extra}; it may use only the inputs "
                           f"{list(inputs)}")
    fn = sympy.lambdify([sympy.Symbol(i) for i in inputs], sympy.nfloat(expr), modules="numpy")
    return lambda *xs: np.broadcast_to(np.asarray(fn(*xs), dtype=np.float64),
                                       np.broadcast(*xs).shape).copy()


class FieldNets(nn.Module):
    """The unknown fields' networks. `forward(x)` gives every field at the points x (N, n_inputs)
    of all the problem's inputs (N, n_fields); `taylor` gives them with their input
    derivatives, as the solution networks do (pinn_cli.model.derivatives)."""

    def __init__(self, fields: Sequence[FieldUnknown], inputs: Sequence[str], domain):
        from pinn_cli.model.nets import MLP  # the model package builds on the problem's types

        super().__init__()
        self.specs = list(fields)
        self.columns = [[list(inputs).index(i) for i in f.inputs] for f in self.specs]
        self.nets = nn.ModuleList()
        for f in self.specs:
            net = MLP([domain[i] for i in f.inputs], [0.0], [1.0], width=int(f.width),
                      depth=int(f.depth))
            nn.init.zeros_(net.head.weight)  # N = 0: the field starts at its guess
            self.nets.append(net)

    @property
    def names(self) -> List[str]:
        return [f.name for f in self.specs]

    def _transform(self, f: FieldUnknown, n: torch.Tensor) -> torch.Tensor:
        return f.guess * torch.exp(n) if f.transform == "log" else f.guess + f.scale * n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._transform(f, net(x[:, cols]))
                          for f, net, cols in zip(self.specs, self.nets, self.columns)], 1)

    def taylor(self, x: torch.Tensor, first, second):
        """Value (N, n_fields), first derivatives (F, N, n_fields) along the inputs `first` and
        second ones (S, N, n_fields) along the index pairs `second`; those along an input a
        field does not depend on are 0. Through the transform: for a = g·exp(N),
        a_i = a N_i and a_ij = a (N_ij + N_i N_j)."""
        values, d1s, d2s = [], [], []
        for f, net, cols in zip(self.specs, self.nets, self.columns):
            own1 = [cols.index(i) for i in first if i in cols]
            own2 = [(cols.index(i), cols.index(j)) for i, j in second
                    if i in cols and j in cols]
            v, d1, d2 = net.taylor(x[:, cols], own1, own2)
            zero = torch.zeros_like(v)
            n1 = [d1[own1.index(cols.index(i))] if i in cols else zero for i in first]
            n2 = [d2[own2.index((cols.index(i), cols.index(j)))]
                  if i in cols and j in cols else zero for i, j in second]
            a = self._transform(f, v)
            if f.transform == "log":
                n2 = [a * (d + n1[first.index(i)] * n1[first.index(j)])
                      for d, (i, j) in zip(n2, second)]
                n1 = [a * d for d in n1]
            else:
                n1, n2 = [f.scale * d for d in n1], [f.scale * d for d in n2]
            values.append(a)
            d1s.append(torch.stack(n1) if n1 else v.new_zeros(0, *v.shape))
            d2s.append(torch.stack(n2) if n2 else v.new_zeros(0, *v.shape))
        return torch.cat(values, 1), torch.cat(d1s, 2), torch.cat(d2s, 2)
