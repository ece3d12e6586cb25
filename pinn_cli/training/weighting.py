"""Loss-term weights λ_i (the `weighting` config group).

The loss is L = Σ_i λ_i L_i over the terms `data`, each residual and each condition. A scheme
sees, every `update_every` steps, the gradient of each term with respect to the network weights θ
and may change the λ_i. A scheme that needs more than these gradients (NTK: per-point residual
gradients) gets the network, the unknowns and the loss terms through `bind`.
"""
import math
from typing import Dict, Optional

import torch
from torch import nn

from pinn_cli.errors import PinnFitError
from pinn_cli.training.point_residuals import point_residuals


class Weighting:
    """Base class: every term weighs 1 and never changes."""

    update_every = 0  # 0: never asks for per-term gradients

    def setup(self, kinds: Dict[str, str]) -> None:
        """`kinds` maps each loss term to 'data', 'residual' or 'condition'."""
        self.kinds = dict(kinds)
        self.lambdas = {t: 1.0 for t in kinds}

    def bind(self, net, unknowns, losses) -> None:
        """Hands the scheme the network, the unknowns (pinn_cli.problem.unknowns.Unknowns) and
        the loss terms (pinn_cli.training.losses.Losses), once, before setup(). Only schemes that
        need more than the per-term gradients keep them. The Trainer calls it
        (pinn_cli.training.trainer.Trainer); `ntk` set up without it stops in setup() with an
        error that says so."""

    def wants_gradients(self, step: int) -> bool:
        return self.update_every > 0 and step % self.update_every == 0

    def update(self, grads: Dict[str, torch.Tensor]) -> None:
        """`grads[term]` is ∇θ L_term flattened over the network weights."""

    def state_dict(self) -> Dict[str, float]:
        return dict(self.lambdas)

    def load_state_dict(self, state: Dict[str, float]) -> None:
        self.lambdas.update(state)


class Fixed(Weighting):
    """Constant λ_i: the problem's own (`pde.weights`), then those of the config
    (`weighting.weights={data: 10}`) over them; unnamed terms weigh 1."""

    def __init__(self, weights=None, pde_weights=None):
        self.weights, self.pde_weights = dict(weights or {}), dict(pde_weights or {})

    def setup(self, kinds):
        super().setup(kinds)
        for key, given in (("pde.weights", self.pde_weights), ("weighting.weights", self.weights)):
            unknown = sorted(set(given) - set(kinds))
            if unknown:
                raise PinnFitError(f"{key} names {unknown}, which are not loss terms; the terms "
                                   f"are {list(kinds)}")
            self.lambdas.update({k: float(v) for k, v in given.items()})


class Annealing(Weighting):
    """Learning-rate annealing, Algorithm 1 of Wang, Teng & Perdikaris (2021), eqs. 40-41:

        λ̂_i = max_θ |∇θ L_r| / mean_θ |∇θ L_i|,
        λ_i ← (1 − α) λ_i + α λ̂_i,   every `update_every` steps,

    where L_r is the sum of the residual terms (they keep λ = 1) and i runs over the data and
    condition terms.

    With `max_weight` set, no λ_i exceeds it (null: unbounded, as in the paper).
    """

    def __init__(self, alpha, update_every, max_weight=None):
        self.alpha, self.update_every = _smoothing(alpha, update_every)
        self.max_weight = _ceiling(max_weight)

    def update(self, grads):
        ref = _residual_gradient(grads, self.kinds, "annealing").abs().max()
        for t, g in grads.items():
            if self.kinds[t] == "residual":
                continue
            mean = g.abs().mean()
            if mean > 0:
                self._move(t, float(ref / mean))

    def _move(self, term, hat):
        """λ ← (1 − α) λ + α λ̂, at most max_weight."""
        lam = (1 - self.alpha) * self.lambdas[term] + self.alpha * hat
        self.lambdas[term] = lam if self.max_weight is None else min(lam, self.max_weight)


def _ceiling(max_weight):
    """The checked weighting.max_weight: a positive number, or None (unbounded)."""
    if max_weight is None:
        return None
    if not (isinstance(max_weight, (int, float)) and math.isfinite(max_weight) and
            max_weight > 0):
        raise PinnFitError(f"weighting.max_weight={max_weight} must be a positive number, or "
                           "null (unbounded)")
    return float(max_weight)


def _smoothing(alpha, update_every):
    """The checked (α, update_every) of a scheme λ_i ← (1 − α) λ_i + α λ̂_i."""
    if not 0 < alpha <= 1:
        raise PinnFitError(f"weighting.alpha={alpha} must lie in (0, 1]")
    if update_every < 1:
        raise PinnFitError(f"weighting.update_every={update_every} must be >= 1")
    return float(alpha), int(update_every)


def _residual_gradient(grads, kinds, scheme):
    """∇θ L_r, L_r the sum of the residual terms."""
    residual = [g for t, g in grads.items() if kinds[t] == "residual"]
    if not residual:
        raise PinnFitError(f"weighting={scheme} needs at least one residual term")
    return torch.stack(residual).sum(0)


class GradNorm(Annealing):
    """ℓ2 gradient-norm balancing: every `update_every` steps

        λ̂_i = ‖∇θ L_r‖₂ / ‖∇θ L_i‖₂,
        λ_i ← (1 − α) λ_i + α λ̂_i,

    over the network weights θ, where L_r is the sum of the residual terms (they keep λ = 1) and
    i runs over the data and condition terms. It is learning-rate annealing (Annealing, Wang,
    Teng & Perdikaris 2021) with the max/mean statistics replaced by ℓ2 norms, the "grad_norm"
    weighting of Wang, Sankaran, Wang & Perdikaris (2023), "An expert's guide to training
    physics-informed neural networks" (arXiv:2308.08468) as their jaxpi library implements it
    (PINN.compute_weights): there λ̂_i = mean_j ‖∇θ L_j‖₂ / ‖∇θ L_i‖₂ over all terms j, the
    residuals reweighted too, with the same moving average (momentum 0.9, i.e. α = 0.1). With a
    single residual term the two give the same ratios λ_i / λ_r, so the same descent direction;
    here the residuals keep λ = 1 so that λ is comparable with `annealing`, and several residual
    terms are balanced as their sum, as in `annealing`. `max_weight` bounds the λ_i as there.
    """

    def update(self, grads):
        ref = _residual_gradient(grads, self.kinds, "grad_norm").norm()
        for t, g in grads.items():
            if self.kinds[t] == "residual":
                continue
            norm = g.norm()
            if norm > 0:
                self._move(t, float(ref / norm))


class NTK(Weighting):
    """Neural-tangent-kernel weighting, Algorithm 1 of Wang, Yu & Perdikaris (2022), "When and why
    PINNs fail to train: a neural tangent kernel perspective", J. Comput. Phys. 449, 110768:
    every `update_every` steps

        tr K_ii = Σ_n ‖∇θ r_i(x_n)‖²,
        λ̂_i = Σ_j tr K_jj / tr K_ii,
        λ_i ← (1 − α) λ_i + α λ̂_i      (α = 1 is the paper: λ_i = λ̂_i),

    for every term i, residuals included, where r_i(x_n) is term i's per-point residual, L_i its
    mean square: the data misfit of each observed field at each observation, each residual at each
    collocation point, each condition at its points, and for periodic_<input> the difference of
    each matched field/derivative between the paired faces. tr K_ii is the trace of term i's
    block of the NTK K = J Jᵀ, J the Jacobian of all the r_i(x_n) with respect to the network
    weights θ. It is computed exactly (per-point gradients, `ntk_traces`), on at most
    `max_points` points per term (evenly spaced in the term's point list, the sum scaled by
    N/max_points to estimate the full trace; null: every point).

    It needs the network, the unknowns and the loss terms, handed over through `bind` before
    `setup`; without them `setup` raises PinnFitError.
    """

    def __init__(self, alpha, update_every, max_points=None):
        self.alpha, self.update_every = _smoothing(alpha, update_every)
        if max_points is not None and max_points < 1:
            raise PinnFitError(f"weighting.max_points={max_points} must be >= 1 or null (every "
                               "point)")
        self.max_points = None if max_points is None else int(max_points)
        self.net = self.unknowns = self.losses = None
        self.traces: Dict[str, float] = {}

    def bind(self, net, unknowns, losses):
        self.net, self.unknowns, self.losses = net, unknowns, losses

    def setup(self, kinds):
        if self.losses is None:
            raise PinnFitError(
                "weighting=ntk needs the per-point residual gradients, so the network and the "
                "loss terms: the trainer must call weighting.bind(net, unknowns, losses) before "
                "weighting.setup(); this one does not")
        super().setup(kinds)

    def update(self, grads):
        params = {k: v.detach() for k, v in self.unknowns.physical().items()}
        self.traces = ntk_traces(self.net, self.losses, params, self.max_points)
        total = sum(self.traces.values())
        for t, tr in self.traces.items():
            if tr > 0 and math.isfinite(tr):
                hat = total / tr
                self.lambdas[t] = (1 - self.alpha) * self.lambdas[t] + self.alpha * hat


# --- per-point residuals and NTK traces ------------------------------------------------------
class _Probe(nn.Module):
    """net inside a module whose forward is a group's residual function, for functional_call."""

    def __init__(self, net, fn):
        super().__init__()
        self.net, self.fn = net, fn

    def forward(self, *arrays):
        return self.fn(self.net, *arrays)


def ntk_traces(net, losses, params, max_points: Optional[int] = None,
               chunk_size: int = 256) -> Dict[str, float]:
    """tr K_ii = Σ_n ‖∇θ r_i(x_n)‖² for every loss term i of `losses`, θ the network's trainable
    weights, from exact per-point gradients: vectorised (torch.func: vmap of jacrev over the
    points, `chunk_size` at a time) with the Taylor derivative engine when it applies to the net
    and the derivatives, else one backward pass per point and column (autograd engine). With
    `max_points`, each term uses at most that many of its points, evenly spaced, and the sum is
    scaled by N/max_points."""
    needs = list(losses.residual_needs) + [d for _, _, nd in losses.conditions for d in nd] + \
        [d for p, _ in losses.periodic for d in p.needs]
    vectorised = hasattr(net, "taylor") and all(len(idx) <= 2 for _, idx in needs)
    groups = point_residuals(losses, params, "taylor" if vectorised else losses.engine)
    weights = {n: p.detach() for n, p in net.named_parameters() if p.requires_grad}
    traces = {t: 0.0 for t in losses.kinds}
    for g in groups:
        n = len(g.arrays[0])
        if n == 0:  # a term with no points in a time window (Losses.restrict_time)
            continue
        arrays, scale = g.arrays, 1.0
        if max_points is not None and n > max_points:
            idx = torch.linspace(0, n - 1, max_points, device=arrays[0].device).round().long()
            arrays, scale = [a[idx] for a in arrays], n / max_points
        per_column = (_columns_func if vectorised else _columns_loop)(net, g.fn, arrays, weights,
                                                                       chunk_size)
        for c, term in enumerate(g.columns):
            traces[term] += scale * float(per_column[c])
    return traces


def _columns_func(net, fn, arrays, weights, chunk_size):
    """Σ_n ‖∇θ r(x_n)_c‖² per column c, by torch.func: per-point Jacobians, vmapped."""
    probe = _Probe(net, fn)
    named = {"net." + k: v for k, v in weights.items()}

    def point(theta, *rows):  # one point: rows with a leading axis of 1
        return torch.func.functional_call(probe, theta, rows)[0]

    jac = torch.func.vmap(torch.func.jacrev(point), in_dims=(None,) + (0,) * len(arrays),
                          chunk_size=chunk_size)(named, *(a.unsqueeze(1) for a in arrays))
    # jac[name]: (N, k, *shape)
    return sum(j.square().flatten(2).sum((0, 2)) for j in jac.values()).detach()


def _columns_loop(net, fn, arrays, weights, chunk_size):
    """Σ_n ‖∇θ r(x_n)_c‖² per column c, one backward pass per point and column."""
    params = [p for p in net.parameters() if p.requires_grad]
    total = None
    for start in range(0, len(arrays[0]), chunk_size):
        r = fn(net, *(a[start:start + chunk_size] for a in arrays))
        if total is None:
            total = torch.zeros(r.shape[1], dtype=torch.float64)
        for b in range(r.shape[0]):
            for c in range(r.shape[1]):
                grads = torch.autograd.grad(r[b, c], params, retain_graph=True,
                                            allow_unused=True)
                total[c] += sum(float(g.square().sum()) for g in grads if g is not None)
    return total
