"""Profile likelihood of each unknown with the network re-fitted (`diagnostics=full`).

For an unknown k fixed at a value on a grid around the PINN estimate k̂, the trained network and
the other unknowns are re-fitted (warm start from the trained state, L-BFGS with strong Wolfe,
the run's final loss weights λ), and the re-fit's objective is recorded in the data's units,

    J(k) = min over network and other unknowns of  Σ_i λ_i L_i / λ_data
         = mse_data + Σ_{i ≠ data} (λ_i / λ_data) L_i,

the PINN's own loss read as a penalised likelihood: the residual and condition terms act as
observations of the equations, weighted relative to the data as in training. With N
observations and noise variance σ², the profile deviance

    D(k) = N (J(k) − min J) / σ²

is approximately χ²₁ around the truth (Venzon & Moolgavkar 1988; Raue et al. 2009 for profile
likelihoods in ODE/PDE models), so a parabola D ≈ (k − k0)² / s² fitted to the grid gives the
standard deviation s and the 95 % interval k0 ± 1.96 s. Reading the data misfit alone would miss
what the re-fit pays in the residuals: with the data weighted 30 (burgers1d) the network bends
away from the equation to keep the data, and λ1's profile came out 3× wider than the spread of
the estimates over noise seeds. σ² is the larger of the configured noise (data.noise ×
std(field))² and the data misfit at the estimate, so a network that cannot fit the data to the
noise level widens the interval instead of hiding the misfit. A profile that is flat (no
positive curvature) or wider than the identifiability limit says the data do not pin k down.
"""
import copy
import math
from typing import Dict, List

import numpy as np
import torch

from pinn_cli.training.lbfgs import make_lbfgs
from pinn_cli.training.losses import weighted_total

Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal


class Refit:
    """Callable (name, value, steps) -> the re-fit's objective J in the data's units (above)
    after re-fitting the trained network and the other unknowns for `steps` L-BFGS iterations
    with `name` held at `value` (physical units); the trained state itself is left as it is.
    After each call `last_unknowns` holds every unknown's value (the profile trace of the
    others) and `last_data_mse` the data misfit alone."""

    def __init__(self, net, unknowns, losses, lambdas: Dict[str, float]):
        self.net, self.unknowns, self.losses = net, unknowns, losses
        self.lambdas = dict(lambdas)
        self.last_unknowns: Dict[str, float] = {}
        self.last_data_mse = math.nan

    def __call__(self, name: str, value: float, steps: int) -> float:
        net, unknowns = copy.deepcopy(self.net), copy.deepcopy(self.unknowns)
        free = list(net.parameters())
        for k, raw in unknowns.raw.items():
            if k == name:
                with torch.no_grad():
                    raw.fill_(unknowns.specs[k].to_raw(value))
                raw.requires_grad_(False)
            else:
                free.append(raw)
        opt = make_lbfgs(free, max_iter=steps, max_eval=2 * steps, history_size=50,
                         compact=False)

        def closure():
            opt.zero_grad(set_to_none=True)
            total = weighted_total(self.losses(net, unknowns.physical()), self.lambdas)
            total.backward()
            return total

        if steps > 0:
            opt.step(closure)
        unknowns.project()
        with torch.no_grad():
            params = unknowns.physical()
            self.last_unknowns = {k: float(v) for k, v in params.items()}
            terms = self.losses(net, params)
            self.last_data_mse = float(terms["data"])
            data_weight = self.lambdas.get("data", 1.0)
            return float(weighted_total(terms, self.lambdas)) / data_weight if data_weight > 0 \
                else self.last_data_mse


def profile(refit: Refit, name: str, estimate: float, n_obs: int, noise_var: float,
            rel_step: float, points: List[float], steps: int) -> Dict:
    """The profile of `name` at estimate × (1 + c × rel_step) for c in `points` (0 included:
    the re-fitted estimate itself), each point re-fitted for `steps` L-BFGS iterations: its
    objective J and data misfit, the deviance, the fitted parabola and the 95 % interval."""
    values = [estimate * (1 + c * rel_step) for c in sorted(set(points) | {0.0})]
    objective, mse, trace = [], [], {}
    for v in values:
        objective.append(refit(name, v, steps))
        mse.append(refit.last_data_mse)
        for k, x in getattr(refit, "last_unknowns", {}).items():
            if k != name:
                trace.setdefault(k, []).append(x)
    sigma2 = max(noise_var, mse[values.index(estimate)])
    deviance = [n_obs * (j - min(objective)) / sigma2 for j in objective]
    out = {"values": values, "objective": objective, "data_mse": mse, "deviance": deviance,
           "sigma2": sigma2, "trace": trace}
    # D(k) ≈ a (k − k0)² + c: least squares in (k², k, 1) on a centred, scaled variable.
    z = (np.asarray(values) - estimate) / (abs(estimate) * rel_step)
    A = np.stack([z ** 2, z, np.ones_like(z)], axis=1)
    (a, b, c), *_ = np.linalg.lstsq(A, np.asarray(deviance), rcond=None)
    if not np.isfinite(a) or a <= 0:
        return out | {"flat": True}
    z0 = -b / (2 * a)
    unit = abs(estimate) * rel_step
    k0, std = estimate + z0 * unit, unit / np.sqrt(a)
    return out | {"flat": False, "center": float(k0), "std": float(std),
                  "interval95": [float(k0 - Z95 * std), float(k0 + Z95 * std)]}


def correlation(profiles: Dict[str, Dict]) -> Dict[str, Dict[str, float]]:
    """The correlation of each pair of unknowns from their profiles: along the profile of a, the
    re-fitted b moves by the slope dk_b/dk_a = C_ab / C_aa (the conditional mean of a Gaussian),
    so r_ab = slope · s_a / s_b with s the profile stds; the mean of the estimates from a's and
    b's profiles, clipped to [−1, 1]. Pairs where a profile is flat or has no trace are left out."""
    out: Dict[str, Dict[str, float]] = {}
    names = [k for k, p in profiles.items() if not p["flat"]]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            estimates = []
            for x, y in ((a, b), (b, a)):
                trace = profiles[x].get("trace", {}).get(y)
                if trace:
                    slope = np.polyfit(profiles[x]["values"], trace, 1)[0]
                    estimates.append(slope * profiles[x]["std"] / profiles[y]["std"])
            if estimates:
                r = float(np.clip(np.mean(estimates), -1.0, 1.0))
                out.setdefault(a, {})[b] = out.setdefault(b, {})[a] = r
    return out
