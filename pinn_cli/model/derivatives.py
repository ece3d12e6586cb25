"""Input derivatives of the network: the fields and the partial derivatives the equations need.

Two engines:
- "taylor": forward-mode Taylor propagation. The value and the needed first and second input
  derivatives go through the layers together (`Jet`, and the nets' `taylor` methods), exact for
  the activation, in one graph that the loss backpropagates once. On a 2-core CPU (float32,
  benchmarks/derivatives.py) about 3x faster than "autograd" for burgers2d (two fields, five
  derivatives each), 1.1-1.2x for Burgers 1D (u_t, u_x, u_xx of one field; 4000 points, one
  thread).
- "autograd": reverse-mode autograd nested once per derivative order; generic over networks and
  orders, and the reference.
"""
from typing import Dict, List, Tuple

import torch
from torch import nn

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Derivative

ENGINES = ("auto", "taylor", "autograd")


class Jet:
    """Forward-mode Taylor propagation of a hidden state: its value `v` (N, width), its first
    input derivatives `d1` (a list of F tensors (N, width)) and second ones `d2` (S tensors); the
    k-th second derivative is along the first derivatives number `pairs[k]` = (i, j).
    Each derivative is a tensor of its own: stacked (F, N, width) tensors cost broadcast
    products, reductions over the stacking axis and slices in the backward pass, and make the
    loss + gradient of Raissi's Burgers 1.2x slower on a 2-core CPU; one stacked tensor per
    layer (one matmul) is slower still."""

    def __init__(self, v, d1: List[torch.Tensor], d2: List[torch.Tensor],
                 pairs: List[Tuple[int, int]]):
        self.v, self.d1, self.d2, self.pairs = v, d1, d2, pairs

    @classmethod
    def seed(cls, z: torch.Tensor, dz: torch.Tensor, first: List[int], second: List[tuple]):
        """Jet of an input z (N, n_in) that is affine in x: d_i z = dz[i] e_i, d_ij z = 0."""
        unit = torch.diag(dz)
        return cls.input(z, [unit[i].expand_as(z) for i in first],
                         [torch.zeros_like(z) for _ in second], first, second)

    @classmethod
    def input(cls, v, d1, d2, first: List[int], second: List[tuple]):
        """Jet of an input v (N, n_in) with its derivatives d1 (F tensors (N, n_in)) along the
        inputs `first` and d2 (S tensors) along the index pairs `second`."""
        return cls(v, list(d1), list(d2), [(first.index(a), first.index(b)) for a, b in second])

    def new(self, v, d1, d2) -> "Jet":
        return Jet(v, d1, d2, self.pairs)

    def products(self, a: List[torch.Tensor], b: List[torch.Tensor]) -> List[torch.Tensor]:
        """a_i b_j over the second-derivative pairs (i, j), for first derivatives a and b."""
        return [a[i] * b[j] for i, j in self.pairs]

    def map(self, f) -> "Jet":
        """f applied to the value and to each derivative (a linear map: f(0) = 0 for those)."""
        return self.new(f(self.v), [f(d) for d in self.d1], [f(d) for d in self.d2])

    def linear(self, layer: nn.Linear) -> "Jet":
        """z = W h + b; the derivatives are W d (no bias)."""
        w = layer.weight.T
        return self.new(torch.addmm(layer.bias, self.v, w), [d @ w for d in self.d1],
                        [d @ w for d in self.d2])

    def act(self, step) -> "Jet":
        """s = σ(z) through `step(z)` = (s, first, second), the activation's Taylor step
        (pinn_cli.model.nets.TAYLOR_STEPS): first(d_i z) = σ' d_i z and
        second(d_ij z, d_i z d_j z) = σ' d_ij z + σ'' d_i z d_j z."""
        s, first, second = step(self.v)
        return self.new(s, [first(d) for d in self.d1],
                        [second(d, p) for d, p in zip(self.d2, self.products(self.d1, self.d1))])

    def __mul__(self, o: "Jet") -> "Jet":
        """Elementwise product (Leibniz rule)."""
        a, b = self.v, o.v
        d1 = [torch.addcmul(x * b, a, y) for x, y in zip(self.d1, o.d1)]
        d2 = [torch.addcmul(x * b, a, y) + p + q for x, y, p, q in
              zip(self.d2, o.d2, self.products(self.d1, o.d1), self.products(o.d1, self.d1))]
        return self.new(a * b, d1, d2)

    def __add__(self, o: "Jet") -> "Jet":
        return self.new(self.v + o.v, [x + y for x, y in zip(self.d1, o.d1)],
                        [x + y for x, y in zip(self.d2, o.d2)])

    def __sub__(self, o: "Jet") -> "Jet":
        return self.new(self.v - o.v, [x - y for x, y in zip(self.d1, o.d1)],
                        [x - y for x, y in zip(self.d2, o.d2)])

    def stacked(self):
        """(value (N, width), first derivatives (F, N, width), second ones (S, N, width))."""
        stack = lambda ds: torch.stack(ds) if ds else self.v.new_zeros(0, *self.v.shape)
        return self.v, stack(self.d1), stack(self.d2)


def _taylor(net, x, needs, outputs) -> Dict[Derivative, torch.Tensor]:
    second = sorted({idx for _, idx in needs if len(idx) == 2})
    first = sorted({i for _, idx in needs for i in idx})
    value, d1, d2 = net.taylor(x, first, second)
    out = {}
    for field, idx in needs:
        t = (value if not idx else d1[first.index(idx[0])] if len(idx) == 1
             else d2[second.index(idx)])
        out[(field, idx)] = t[:, outputs.index(field)]
    return out


def _autograd(net, x, needs, outputs) -> Dict[Derivative, torch.Tensor]:
    """One backward pass per (field, derivative prefix): ∂u/∂X gives all first derivatives of u at
    once, ∂(u_x)/∂X all second derivatives through x, and so on."""
    x = x.detach().requires_grad_(True)
    y = net(x)
    out: Dict[Derivative, torch.Tensor] = {}
    grads: Dict[Derivative, torch.Tensor] = {}  # (field, prefix) -> (N, n_in) gradient

    def get(d: Derivative) -> torch.Tensor:
        if d in out:
            return out[d]
        field, idx = d
        if not idx:
            out[d] = y[:, outputs.index(field)]
            return out[d]
        prefix = (field, idx[:-1])
        if prefix not in grads:
            (grads[prefix],) = torch.autograd.grad(get(prefix).sum(), x, create_graph=True)
        out[d] = grads[prefix][:, idx[-1]]
        return out[d]

    return {d: get(d) for d in needs}


def taylor_applies(net, needs: List[Derivative]) -> bool:
    """Whether the Taylor engine can give `needs` on `net`: a net with a `taylor` method and
    derivatives of order <= 2."""
    return hasattr(net, "taylor") and all(len(idx) <= 2 for _, idx in needs)


def choose_engine(net, needs: List[Derivative], engine: str | None = None,
                  name=str) -> Tuple[str, str]:
    """(engine, why): what `evaluate_fields` computes `needs` on `net` with: "forward" (field
    values only: one plain forward pass), "taylor" or "autograd"; `name` spells a derivative."""
    engine = engine or "auto"
    if engine not in ENGINES:
        raise PinnFitError(f"derivative engine {engine!r} is not known; choose one of {ENGINES}")
    high, ok = [d for d in needs if len(d[1]) > 2], taylor_applies(net, needs)
    if ok:
        why = "the network propagates Taylor jets and every derivative is of order <= 2"
    else:
        why = (f"{name(high[0])} is of order {len(high[0][1])}, above Taylor's 2" if high else
               f"the network ({type(net).__name__}) has no Taylor propagation")
        if engine == "taylor":
            raise PinnFitError("the taylor engine needs a net with a `taylor` method and "
                               f"derivatives of order <= 2: {why}")
    if all(not idx for _, idx in needs):
        return "forward", "field values only, no input derivatives: one plain forward pass"
    chosen = "taylor" if ok and engine != "autograd" else "autograd"
    return chosen, f"derivatives={engine}" + (f": {why}" if engine == "auto" else "")


def evaluate_fields(net, x: torch.Tensor, needs: List[Derivative], outputs: List[str],
                    create_graph: bool = True, engine: str | None = None
                    ) -> Dict[Derivative, torch.Tensor]:
    """Return {(field, input indices): tensor (N,)} for every derivative in `needs`.

    engine: "taylor" (forward-mode Taylor propagation: orders <= 2, nets with a `taylor` method,
    which covers every activation in pinn_cli.model.nets.ACTIVATIONS), "autograd" (nested
    reverse mode, any order), or None/"auto": Taylor where it applies, else autograd
    (`choose_engine`).
    """
    chosen, _ = choose_engine(net, needs, engine)
    if chosen == "forward":
        y = net(x)
        out = {d: y[:, outputs.index(d[0])] for d in needs}
    else:
        out = (_taylor if chosen == "taylor" else _autograd)(net, x, needs, outputs)
    if not create_graph:
        out = {k: v.detach() for k, v in out.items()}
    return out
