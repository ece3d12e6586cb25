"""Input derivatives of the network: the fields and the partial derivatives the equations need.

Reverse-mode autograd, nested once per derivative order: generic over networks and orders.
"""
from typing import Dict, List

import torch

from pinn_cli.problem import Derivative


def evaluate_fields(net, x: torch.Tensor, needs: List[Derivative], outputs: List[str],
                    create_graph: bool = True) -> Dict[Derivative, torch.Tensor]:
    """Return {(field, input indices): tensor (N,)} for every derivative in `needs`.

    One backward pass per (field, derivative prefix): ∂u/∂X gives all first derivatives of u at
    once, ∂(u_x)/∂X all second derivatives through x, and so on.
    """
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

    for d in needs:
        get(d)
    if not create_graph:
        out = {k: v.detach() for k, v in out.items()}
    return out
