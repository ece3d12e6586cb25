"""What the trainer logs at a step (`Row`), and the per-term gradients it is made from."""
from dataclasses import dataclass, field
from typing import Dict

import torch


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
    extra: Dict[str, float] = field(default_factory=dict)  # Losses.log_values(): causal_min


def floats(tensors: Dict[str, torch.Tensor]) -> Dict[str, float]:
    return {k: v.detach().item() for k, v in tensors.items()}


def term_gradients(terms, net, params, ranks=None):
    """Per term: ∇θ L_i flattened over the network weights, and ∂L_i/∂k for each unknown;
    in a data-parallel fit (`ranks`, training.distributed) summed over the ranks."""
    weights, ks = list(net.parameters()), list(params.values())
    flat, dk = {}, {}
    for name, loss in terms.items():
        g = torch.autograd.grad(loss, weights + ks, retain_graph=True, allow_unused=True)
        both = torch.cat([(gi if gi is not None else torch.zeros_like(w)).reshape(-1)
                          for gi, w in zip(g, weights + ks)])
        both = ranks.sum(both) if ranks is not None else both
        flat[name] = both[:len(both) - len(ks)]
        dk[name] = {k: float(gi) + 0.0  # + 0.0: no -0.0 (compiled)
                    for k, gi in zip(params, both[len(both) - len(ks):])}
    return flat, dk


def per_parameter(net, flat):
    """Each term's flat gradient split back into the network's named parameters."""
    named = list(net.named_parameters())
    out = {}
    for term, g in flat.items():
        parts = torch.split(g.detach().cpu(), [p.numel() for _, p in named])
        out[term] = {n: part.reshape(p.shape).numpy() for (n, p), part in zip(named, parts)}
    return out
