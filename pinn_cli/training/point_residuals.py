"""Every loss term of a run as per-point residuals r_i(x_n) (the NTK weighting's traces and the
equation-error diagnostic use them): `point_residuals(losses, params)` gives them as groups of
points with their residual function, L_i the mean of r_i² over a group's points."""
from typing import List

import torch

from pinn_cli.model.derivatives import evaluate_fields


def point_residuals(losses, params, engine=None) -> List["PointGroup"]:
    """Every loss term as per-point residuals r_i(x_n) (residuals in the data's units, as
    the terms), with the input derivatives from `engine` (default: the run's): L_i is the
    mean of r_i² over points and columns (data), over points (residuals, conditions), or
    the sum over columns of the mean over points (periodic); causal weights aside."""
    problem, engine = losses.problem, engine or losses.engine
    named = lambda net, x, needs: losses.named_values(net, x, needs, engine)

    cols, eqs = losses.obs_cols, problem.residuals
    roots = torch.tensor([losses.residual_roots.get(e.name, 1.0) for e in eqs],
                         dtype=losses.colloc_x.dtype, device=losses.colloc_x.device)
    groups = [PointGroup([losses.obs_x, losses.obs_y], lambda net, x, y: net(x)[:, cols] - y,
                         ["data"] * len(cols)),
              PointGroup([losses.colloc_x], lambda net, x: roots * torch.stack(list(
                  problem.evaluate(eqs, named(net, x, losses.residual_needs), params).values()),
                  1), [e.name for e in eqs])]
    for eq, x, needs in losses.conditions:
        groups.append(PointGroup([x], lambda net, x, eq=eq, needs=needs: problem.evaluate(
            [eq], named(net, x, needs), params)[eq.name][:, None], [eq.name]))
    for name in losses.smooth_terms():
        groups.append(PointGroup([losses.colloc_x], lambda net, x, name=name:
                                 losses.smooth_residuals(x)[name],
                                 [name] * len(losses.smooth_terms()[name].inputs)))
    for p, x in losses.periodic:
        n = len(x) // 2

        def mismatch(net, pair, p=p):  # pair (B, 2, n_in): the point on x = lo, then on hi
            b = len(pair)
            vals = evaluate_fields(net, torch.cat([pair[:, 0], pair[:, 1]]), p.needs,
                                   problem.outputs, engine=engine)
            return torch.stack([v[:b] - v[b:] for v in vals.values()], 1)

        groups.append(PointGroup([torch.stack([x[:n], x[n:]], 1)], mismatch,
                                 [p.name] * len(p.needs)))
    return groups


class PointGroup:
    """Points of one or more loss terms and their residual function: `fn(net, *arrays)` maps
    a batch (the arrays' first axis: B points) to the residuals (B, k); column c belongs to the
    term `columns[c]`."""

    def __init__(self, arrays, fn, columns):
        self.arrays, self.fn, self.columns = arrays, fn, columns
