"""Where the residual and the conditions are enforced (the `collocation` config node)."""
from typing import Dict, List, Tuple

import torch

from pinn_cli.errors import PinnFitError


def sample_box(domain: Dict[str, Tuple[float, float]], n: int, sampler: str, seed: int,
               at: Dict[str, float] | None = None, dtype: torch.dtype | None = None
               ) -> torch.Tensor:
    """n points in the box `domain` (inputs in order), on the face where the inputs in `at` are
    fixed; Sobol (scrambled) or uniform random; in `dtype` (default: torch's default dtype)."""
    dtype = dtype or torch.get_default_dtype()
    at = at or {}
    if n == 0:  # no points (SobolEngine cannot draw none)
        return torch.empty(0, len(domain), dtype=dtype)
    free = [k for k in domain if k not in at]
    if sampler == "sobol":
        # drawn in `dtype` itself: a float64 draw is not a float32 draw widened
        u = torch.quasirandom.SobolEngine(max(len(free), 1), scramble=True,
                                          seed=seed).draw(n, dtype=dtype)
    elif sampler == "uniform":
        u = torch.rand(n, max(len(free), 1), generator=torch.Generator().manual_seed(seed),
                       dtype=dtype)
    else:
        raise PinnFitError(f"collocation.sampler={sampler!r}: choose sobol or uniform")
    cols = []
    for name, (lo, hi) in domain.items():
        if name in at:
            cols.append(torch.full((n,), at[name], dtype=dtype))
        else:
            cols.append(lo + (hi - lo) * u[:, free.index(name)])
    return torch.stack(cols, dim=1)


def sample_periodic(domain: Dict[str, Tuple[float, float]], name: str, n: int, sampler: str,
                    seed: int) -> torch.Tensor:
    """2n points for periodicity in the input `name`: n points on the face name = lo (the other
    inputs drawn as in `sample_box`), then the same n points with name = hi."""
    lo, hi = domain[name]
    low = sample_box(domain, n, sampler, seed, at={name: lo})
    high = low.clone()
    high[:, list(domain).index(name)] = hi
    return torch.cat([low, high])


def draw_points(problem, col, seed: int, trains_network: bool = True
                ) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """The `collocation` node `col`, checked, and its points: the residual points (n_points, d)
    and each condition's (n_condition_points, d), from seeds seed and seed + 1 + i. The
    observations join the residual points where the caller has them
    (collocation.include_observations). `trains_network=False` (pinn-query) refuses the
    settings that only a trained network uses."""
    if col.n_points < 0 or col.n_condition_points < 1:
        raise PinnFitError("collocation.n_points must be >= 0 and n_condition_points >= 1")
    if not col.n_points and not col.include_observations:
        raise PinnFitError("no residual points: set collocation.n_points > 0 or "
                           "collocation.include_observations=true")
    if col.resample_every < 0 or (col.resample_every and not col.n_points):
        raise PinnFitError(f"collocation.resample_every={col.resample_every}: give 0 (never) or "
                           "the Adam steps between draws, with collocation.n_points > 0")
    if col.resample_every and not trains_network:
        raise PinnFitError(f"collocation.resample_every={col.resample_every}: pinn-query "
                           "trains no network, so there are no Adam steps to redraw points at; "
                           "drop the override (or set it to 0)")
    colloc = sample_box(problem.domain, col.n_points, col.sampler, seed)
    cond = [sample_box(problem.domain, col.n_condition_points, col.sampler, seed + 1 + i, at)
            for i, (_, at) in enumerate(problem.conditions)]
    return colloc, cond
