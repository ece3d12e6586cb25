"""Input derivatives of the network: the fields and the partial derivatives the equations need.

Two engines:
- "taylor": forward-mode Taylor propagation. The value and the needed first and second input
  derivatives go through the layers together (`Jet`, and the nets' `taylor` methods), exact for
  the activation, in one graph that the loss backpropagates once. On a 2-core CPU (float32,
  benchmarks/derivatives.py) about 3x faster than "autograd" for burgers2d (two fields, five
  derivatives each), on par for Burgers 1D (u_t, u_x, u_xx of one field).
- "autograd": reverse-mode autograd nested once per derivative order; generic over networks and
  orders, and the reference.
"""
from typing import Dict, List

import torch
from torch import nn

from pinn_cli.errors import PinnFitError
from pinn_cli.problem import Derivative

ENGINES = ("auto", "taylor", "autograd")


class Jet:
    """Forward-mode Taylor propagation of a hidden state: its value `v` (N, width), first input
    derivatives `d1` (F, N, width) and second ones `d2` (S, N, width). The k-th second derivative
    is along the first derivatives number pi[k] and pj[k]; pi = pj = None means pair k is (k, k).
    The three are kept apart, at three matmul calls per layer: stacked in one tensor (one matmul),
    the copies of stacking and slicing made the loss + backward 20-40 % slower on a 2-core CPU."""

    def __init__(self, v, d1, d2, pi: torch.Tensor | None, pj: torch.Tensor | None):
        self.v, self.d1, self.d2, self.pi, self.pj = v, d1, d2, pi, pj

    @classmethod
    def seed(cls, z: torch.Tensor, dz: torch.Tensor, first: List[int], second: List[tuple]):
        """Jet of an input z (N, n_in) that is affine in x: d_i z = dz[i] e_i, d_ij z = 0."""
        n, n_in = z.shape
        d1 = torch.diag(dz)[first].unsqueeze(1).expand(-1, n, -1)
        return cls.input(z, d1, z.new_zeros(len(second), n, n_in), first, second)

    @classmethod
    def input(cls, v, d1, d2, first: List[int], second: List[tuple]):
        """Jet of an input v (N, n_in) with its derivatives d1 (F, N, n_in) along the inputs
        `first` and d2 (S, N, n_in) along the index pairs `second`."""
        pi, pj = ([first.index(p[k]) for p in second] for k in (0, 1))
        if pi == pj == list(range(len(second))):
            pi = pj = None
        else:
            pi, pj = (torch.tensor(i, dtype=torch.long, device=v.device) for i in (pi, pj))
        return cls(v, d1, d2, pi, pj)

    def new(self, v, d1, d2) -> "Jet":
        return Jet(v, d1, d2, self.pi, self.pj)

    def pairs(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a_i b_j over the second-derivative pairs (i, j), for first derivatives a and b."""
        if self.pi is None:
            return a[:len(self.d2)] * b[:len(self.d2)]
        return a.index_select(0, self.pi) * b.index_select(0, self.pj)

    def linear(self, layer: nn.Linear) -> "Jet":
        """z = W h + b; the derivatives are W d (no bias)."""
        w = layer.weight.T
        return self.new(torch.addmm(layer.bias, self.v, w), self.d1 @ w, self.d2 @ w)

    def act(self, step) -> "Jet":
        """s = σ(z) through `step(z, d1, d2, p)`, the activation's Taylor step (nets.TAYLOR_STEPS):
        d_i s = σ' d_i z and d_ij s = σ'' p + σ' d_ij z, with pair products p = d_i z d_j z."""
        return self.new(*step(self.v, self.d1, self.d2, self.pairs(self.d1, self.d1)))

    def __mul__(self, o: "Jet") -> "Jet":
        """Elementwise product (Leibniz rule)."""
        a, b = self.v, o.v
        d2 = self.d2 * b + a * o.d2 + self.pairs(self.d1, o.d1) + self.pairs(o.d1, self.d1)
        return self.new(a * b, self.d1 * b + a * o.d1, d2)

    def __add__(self, o: "Jet") -> "Jet":
        return self.new(self.v + o.v, self.d1 + o.d1, self.d2 + o.d2)

    def __sub__(self, o: "Jet") -> "Jet":
        return self.new(self.v - o.v, self.d1 - o.d1, self.d2 - o.d2)


def _taylor(net, x, needs, outputs) -> Dict[Derivative, torch.Tensor]:
    # Pure second derivatives first, along the first derivatives they square: pair k is (k, k).
    second = sorted({idx for _, idx in needs if len(idx) == 2},
                    key=lambda p: (p[0] != p[1], p))
    first = list(dict.fromkeys([p[0] for p in second if p[0] == p[1]]
                               + sorted({i for _, idx in needs for i in idx})))
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


def evaluate_fields(net, x: torch.Tensor, needs: List[Derivative], outputs: List[str],
                    create_graph: bool = True, engine: str | None = None
                    ) -> Dict[Derivative, torch.Tensor]:
    """Return {(field, input indices): tensor (N,)} for every derivative in `needs`.

    engine: "taylor" (forward-mode Taylor propagation: orders <= 2, nets with a `taylor` method,
    which covers every activation in nets.ACTIVATIONS), "autograd" (nested reverse mode, any
    order), or None/"auto": Taylor where it applies, else autograd.
    """
    engine = engine or "auto"
    if engine not in ENGINES:
        raise PinnFitError(f"derivative engine {engine!r} is not known; choose one of {ENGINES}")
    taylor_ok = taylor_applies(net, needs)
    if engine == "taylor" and not taylor_ok:
        raise PinnFitError("the taylor engine needs a net with a `taylor` method and "
                           "derivatives of order <= 2")
    if all(not idx for _, idx in needs):  # values only: one plain forward pass
        y = net(x)
        out = {d: y[:, outputs.index(d[0])] for d in needs}
    else:
        out = (_taylor if taylor_ok and engine != "autograd" else _autograd)(net, x, needs,
                                                                             outputs)
    if not create_graph:
        out = {k: v.detach() for k, v in out.items()}
    return out
