"""The trained network's own equation error, in the units of the unknowns.

A profile or a Cramér–Rao bound sees only the noise of the data. A PINN adds an error of its
own: its fields satisfy the equations only up to the residual r it leaves at the residual
points. Writing r(x; k) for the residuals of the trained fields with unknowns k and
J = ∂r/∂k (per point, one column per unknown), a change δk of the unknowns explains residuals of
size |J δk|; the residuals the network does leave, of mean square ⟨r²⟩, are thus matched by
changes of covariance

    C_eq = ⟨r²⟩ (JᵀJ / n)⁻¹        (n = points × equations),

without the 1/n of independent noise: the residual is a systematic error of the fitted fields,
not noise that averages out. √diag C_eq is the *equation std* of each unknown: a network whose
fields miss the equation by a lot cannot pin the unknowns down tighter than this, whatever the
data's noise. It is large where the network did not fit the flow (loss still high) and small
where both data and equation are met.
"""
import math
from typing import Dict

import numpy as np
import torch

from pinn_cli.training.point_residuals import point_residuals


def equation_std(net, unknowns, losses) -> Dict[str, float]:
    """The equation std of each unknown (above) at the trained state, from the residual
    equations at the run's residual points (the residual factors applied, as in the loss);
    inf for an unknown the equations do not depend on at these points."""
    names = list(unknowns.raw)
    with torch.no_grad():
        values = {k: float(v) for k, v in unknowns.physical().items()}
    x = losses.colloc_x
    if not len(x):
        return {k: math.inf for k in names}
    per_point = {k: torch.full((len(x),), v, dtype=x.dtype, device=x.device, requires_grad=True)
                 for k, v in values.items()}
    group = point_residuals(losses, per_point)[1]  # the residual equations (PointGroup)
    r = group.fn(net, x)  # (n, m): a point's residuals depend on its own copy of each unknown
    J = np.zeros((r.numel(), len(names)))
    for i, k in enumerate(names):
        for c in range(r.shape[1] if r.requires_grad else 0):
            g, = torch.autograd.grad(r[:, c].sum(), per_point[k], retain_graph=True,
                                     allow_unused=True)
            if g is not None:
                J[c::r.shape[1], i] = g.detach().double().cpu().numpy()
    r = r.detach().double().reshape(-1).cpu().numpy()
    return _std(r, J, names)


def _std(r: np.ndarray, J: np.ndarray, names) -> Dict[str, float]:
    """√diag(⟨r²⟩ (JᵀJ/n)⁻¹), inf for the unknowns J has no column for."""
    n = len(r)
    active = np.abs(J).max(axis=0) > 0
    out = {k: math.inf for k in names}
    if not active.any():
        return out
    G = J[:, active].T @ J[:, active] / n
    try:
        cov = float(np.mean(r ** 2)) * np.linalg.pinv(G)
    except np.linalg.LinAlgError:
        return out
    for k, v in zip([k for k, a in zip(names, active) if a], np.diag(cov)):
        out[k] = float(np.sqrt(max(v, 0.0)))
    return out
