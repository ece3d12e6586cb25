"""Where the residual and the conditions are enforced (the `collocation` config node)."""
from typing import Dict, Tuple

import torch

from pinn_cli.errors import PinnFitError


def sample_box(domain: Dict[str, Tuple[float, float]], n: int, sampler: str, seed: int,
               at: Dict[str, float] | None = None) -> torch.Tensor:
    """n points in the box `domain` (inputs in order), on the face where the inputs in `at` are
    fixed; Sobol (scrambled) or uniform random."""
    at = at or {}
    free = [k for k in domain if k not in at]
    if sampler == "sobol":
        u = torch.quasirandom.SobolEngine(max(len(free), 1), scramble=True, seed=seed).draw(n)
    elif sampler == "uniform":
        u = torch.rand(n, max(len(free), 1), generator=torch.Generator().manual_seed(seed))
    else:
        raise PinnFitError(f"collocation.sampler={sampler!r}: choose sobol or uniform")
    u = u.to(torch.get_default_dtype())
    cols = []
    for name, (lo, hi) in domain.items():
        if name in at:
            cols.append(torch.full((n,), at[name]))
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
