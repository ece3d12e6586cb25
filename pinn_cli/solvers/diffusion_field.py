"""1-D diffusion with a diffusivity that varies in space, u_t = (D(x) u_x)_x, by finite volumes
and Crank–Nicolson in time."""
from typing import Callable

import numpy as np


def diffusion1d_field(x, t, D: Callable[[np.ndarray], np.ndarray], modes=((1, 1.0), (2, 0.5)),
                      cells: int = 800, substeps: int = 20) -> np.ndarray:
    """Solve u_t = (D(x) u_x)_x on [x_0, x_end], u = 0 at both ends,
    u(x, 0) = Σ_n b_n sin(n π (x − x_0)/L) (`modes`: [n, b_n] pairs).

    Second-order finite volumes on `cells` cells (D at the cell faces), Crank–Nicolson with
    `substeps` steps between consecutive output times; the fine solution is interpolated to
    the nodes `x`. Returns u(x_i, t_j), shape (len(x), len(t)), float64."""
    x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if not hi > lo or np.any(np.diff(t) < 0):
        raise ValueError("x needs two distinct nodes and t must be increasing")
    nodes = np.linspace(lo, hi, int(cells) + 1)
    h = nodes[1] - nodes[0]
    faces = np.asarray(D((nodes[:-1] + nodes[1:]) / 2), dtype=np.float64) * np.ones(int(cells))
    if not np.all(np.isfinite(faces)) or np.any(faces <= 0):
        raise ValueError("the diffusivity must be finite and > 0 on the domain")
    n = int(cells) - 1  # interior nodes
    A = (np.diag(-(faces[:-1] + faces[1:])) + np.diag(faces[1:-1], 1)
         + np.diag(faces[1:-1], -1)) / h ** 2
    u = sum(b * np.sin(k * np.pi * (nodes[1:-1] - lo) / (hi - lo)) for k, b in dict(modes).items())
    out = np.zeros((len(x), len(t)))
    now, eye, steps = float(t[0]), np.eye(n), {}
    for j, target in enumerate(t):
        if target > now:
            dt = (target - now) / int(substeps)
            key = round(dt, 15)  # a uniform t grid: one factorisation
            if key not in steps:
                steps[key] = np.linalg.solve(eye - dt / 2 * A, eye + dt / 2 * A)
            step = steps[key]
            for _ in range(int(substeps)):
                u = step @ u
            now = float(target)
        out[:, j] = np.interp(x, nodes, np.concatenate([[0.0], u, [0.0]]))
    return out
