"""Where the equations see an unknown field, so where the data can determine it.

A field a enters the residuals through a and its derivatives (D u_xx + D_x u_x: through D with
weight u_xx and through D_x with weight u_x). Where those weights vanish, for every value of
the other inputs, the residual does not change when a does, and no amount of data fixes a
there: u_x = 0 over all times leaves D(x) free (the classical identifiability condition of
coefficient inverse problems: the flux must not vanish). The sensitivity at a point of the
field's inputs is

    s(x) = ( mean over the other inputs of Σ_residuals Σ_k (∂r/∂a_k · a_k_scale)² )^(1/2),

a_k the field and its derivatives that the residual uses (from the parsed equation), each
scaled by the field's value (and by 1/width of the domain per derivative), from the trained
network; the map is s / max s. A field is reported as constrained where s is at least
`WEAK` of its maximum.
"""
from typing import Dict

import numpy as np
import sympy
import torch

from pinn_cli.io.field_files import field_grid
from pinn_cli.problem.expressions import compile_torch

WEAK = 0.1  # sensitivity below this fraction of the field's maximum: not constrained
SAMPLES = 21  # values of each other input the sensitivity is averaged over


def field_sensitivity(problem, losses, net, params) -> Dict[str, dict]:
    """{field: {"map": s / max s on the field's grid (io.field_files.field_grid),
    "constrained_fraction", "weak_regions" (1-D: [lo, hi] intervals), "verdict"}}."""
    out = {}
    for f in problem.fields:
        axes, grid = field_grid(problem, f)
        others = [i for i in problem.inputs if i not in f.inputs]
        values = [np.linspace(*problem.domain[i], SAMPLES) for i in others]
        combos = np.stack(np.meshgrid(*values, indexing="ij"), -1).reshape(-1, len(others)) \
            if others else np.zeros((1, 0))
        x = np.repeat(grid, len(combos), 0)
        for k, name in enumerate(others):
            x[:, problem.inputs.index(name)] = np.tile(combos[:, k], len(grid))
        s2 = _squared_sensitivity(problem, losses, net, params, f, x)
        s = np.sqrt(s2.reshape(len(grid), len(combos)).mean(1))
        smap = s / s.max() if s.max() > 0 else s
        strong = smap >= WEAK
        entry = {"map": smap, "constrained_fraction": float(strong.mean())}
        if len(f.inputs) == 1:
            entry["weak_regions"] = _runs(axes[f.inputs[0]], ~strong)
        entry["verdict"] = _verdict(f, entry)
        out[f.name] = entry
    return out


def _squared_sensitivity(problem, losses, net, params, field, x_np) -> np.ndarray:
    """Σ_residuals Σ_k (∂r/∂a_k · scale_k)² at the points x_np."""
    dtype = losses.colloc_x.dtype
    x = torch.as_tensor(x_np, dtype=dtype, device=losses.colloc_x.device)
    width = {i: hi - lo for i, (lo, hi) in problem.domain.items()}
    total = np.zeros(len(x_np))
    for eq in problem.residuals:
        if eq.expr is None:
            continue
        own = [s for s in eq.expr.free_symbols
               if (problem.derivative_symbol(s.name) or (s.name, ()))[0] == field.name]
        if not own:
            continue
        # with gradients on: the autograd engine (orders above 2) differentiates the net
        named = {k: v.detach() for k, v in losses.named_values(net, x, eq.needs).items()} \
            | {k: v.detach() for k, v in params.items()}
        named |= problem.constants
        args = [s.name for s in sorted(eq.expr.free_symbols, key=lambda s: s.name)]
        a = named[field.name].detach().abs().double().cpu().numpy()
        for sym in own:
            d = problem.derivative_symbol(sym.name)
            order = len(d[1]) if d else 0
            scale = a / np.prod([width[problem.inputs[i]] for i in d[1]]) if order else a
            fn = compile_torch(sympy.diff(eq.expr, sym), args)
            with torch.no_grad():
                g = fn(*(named[n] for n in args))
            g = np.broadcast_to(torch.as_tensor(g).double().cpu().numpy(), total.shape)
            total += (g * scale) ** 2 * losses.residual_roots.get(eq.name, 1.0) ** 2
    return total


def _runs(axis, mask) -> list:
    """The [lo, hi] intervals of `axis` where `mask` holds."""
    runs, start = [], None
    for k, m in enumerate(mask):
        if m and start is None:
            start = k
        if start is not None and (not m or k == len(mask) - 1):
            end = k if m else k - 1
            runs.append([float(axis[start]), float(axis[end])])
            start = None
    return runs


def _verdict(field, entry) -> str:
    share = entry["constrained_fraction"]
    head = f"{field.name}({','.join(field.inputs)}): the equations see it on {100 * share:.0f} % " \
        "of its domain"
    weak = entry.get("weak_regions")
    if share >= 1:
        return head + "; the data can determine it everywhere they reach"
    where = f" ({', '.join(f'{field.inputs[0]} in [{a:.3g}, {b:.3g}]' for a, b in weak)})" \
        if weak else ""
    return (head + f"; elsewhere{where} the sensitivity is below {100 * WEAK:.0f} % of its "
            "largest: the recovered values there are not determined by the data, read them "
            "as the network's interpolation")
