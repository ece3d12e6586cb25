"""Exact solution of the periodic linear convection (advection) equation."""

import numpy as np


def convection_exact(x, t, beta: float) -> np.ndarray:
    """Solve u_t + beta u_x = 0 on [0, 2 pi], periodic in x, u(x,0) = sin x.

    The initial profile travels at speed beta: u(x,t) = sin(x - beta t), periodic in x for every
    t, for any real beta (the problem of Krishnapriyan et al. 2021, "Characterizing possible
    failure modes in physics-informed neural networks", whose hard case is beta = 30: almost
    five periods along t in [0, 1]). Returns a float64 array of shape (len(x), len(t)).
    """
    if not np.isfinite(beta):
        raise ValueError(f"need a finite beta, got {beta}")
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return np.sin(x[:, None] - beta * t[None, :])
