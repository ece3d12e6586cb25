"""Loss-term weights λ_i (the `weighting` config group).

The loss is L = Σ_i λ_i L_i over the terms `data`, each residual and each condition. A scheme
sees, every `update_every` steps, the gradient of each term with respect to the network weights θ
and may change the λ_i.
"""
from typing import Dict

import torch

from pinn_cli.errors import PinnFitError


class Weighting:
    """Base class: every term weighs 1 and never changes."""

    update_every = 0  # 0: never asks for per-term gradients

    def setup(self, kinds: Dict[str, str]) -> None:
        """`kinds` maps each loss term to 'data', 'residual' or 'condition'."""
        self.kinds = dict(kinds)
        self.lambdas = {t: 1.0 for t in kinds}

    def wants_gradients(self, step: int) -> bool:
        return self.update_every > 0 and step % self.update_every == 0

    def update(self, grads: Dict[str, torch.Tensor]) -> None:
        """`grads[term]` is ∇θ L_term flattened over the network weights."""

    def state_dict(self) -> Dict[str, float]:
        return dict(self.lambdas)

    def load_state_dict(self, state: Dict[str, float]) -> None:
        self.lambdas.update(state)


class Fixed(Weighting):
    """Constant λ_i from the config (`weighting.weights={data: 10}`); unnamed terms weigh 1."""

    def __init__(self, weights=None):
        self.weights = dict(weights or {})

    def setup(self, kinds):
        super().setup(kinds)
        unknown = sorted(set(self.weights) - set(kinds))
        if unknown:
            raise PinnFitError(f"weighting.weights names {unknown}, which are not loss terms; "
                               f"the terms are {list(kinds)}")
        self.lambdas.update({k: float(v) for k, v in self.weights.items()})


class Annealing(Weighting):
    """Learning-rate annealing, Algorithm 1 of Wang, Teng & Perdikaris (2021), eqs. 40-41:

        λ̂_i = max_θ |∇θ L_r| / mean_θ |∇θ L_i|,
        λ_i ← (1 − α) λ_i + α λ̂_i,   every `update_every` steps,

    where L_r is the sum of the residual terms (they keep λ = 1) and i runs over the data and
    condition terms.
    """

    def __init__(self, alpha, update_every):
        if not 0 < alpha <= 1:
            raise PinnFitError(f"weighting.alpha={alpha} must lie in (0, 1]")
        if update_every < 1:
            raise PinnFitError(f"weighting.update_every={update_every} must be >= 1")
        self.alpha, self.update_every = float(alpha), int(update_every)

    def update(self, grads):
        residual = [g for t, g in grads.items() if self.kinds[t] == "residual"]
        if not residual:
            raise PinnFitError("weighting=annealing needs at least one residual term")
        ref = torch.stack(residual).sum(0).abs().max()
        for t, g in grads.items():
            if self.kinds[t] == "residual":
                continue
            mean = g.abs().mean()
            if mean > 0:
                hat = float(ref / mean)
                self.lambdas[t] = (1 - self.alpha) * self.lambdas[t] + self.alpha * hat
