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


def poisson2d_field(x, y, a: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    source: float | Callable = 1.0, fine: int = 200) -> np.ndarray:
    """Solve −∇·(a(x, y) ∇u) = f on the rectangle spanned by the nodes, u = 0 on its sides (the
    inverse problem PInv of PINNacle, Hao et al. 2024, in this form), by the five-point finite
    volume scheme with a at the cell faces on a grid refined by an integer factor until it has
    at least `fine` cells per side, whose nodes include the given ones. `source`: f, a number,
    a function of (x, y) or an expression in x and y (a string, parsed without evaluating
    Python). A source that does not vanish at the corners makes u singular there (u = 0 on two
    sides forces Δu = 0 at their corner). Returns u(x_i, y_j), shape (len(x), len(y)),
    float64."""
    if isinstance(source, str):
        from pinn_cli.problem.fields import expression_function

        source = expression_function(source, ["x", "y"], "pde.reference.options.source")
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    k = max(1, -(-int(fine) // (min(len(x), len(y)) - 1)))
    xs = np.linspace(x[0], x[-1], (len(x) - 1) * k + 1)
    ys = np.linspace(y[0], y[-1], (len(y) - 1) * k + 1)
    if not np.allclose(xs[::k], x) or not np.allclose(ys[::k], y):
        raise ValueError("x and y must be uniform grids")
    hx, hy, nx, ny = xs[1] - xs[0], ys[1] - ys[0], len(xs) - 2, len(ys) - 2
    X, Y = np.meshgrid(xs[1:-1], ys[1:-1], indexing="ij")
    f = source(X, Y) if callable(source) else np.full(X.shape, float(source))
    index = np.arange(nx * ny).reshape(nx, ny)
    rows, cols, vals = [], [], []
    diag = np.zeros((nx, ny))
    for dx, dy, h in ((1, 0, hx), (-1, 0, hx), (0, 1, hy), (0, -1, hy)):
        face = np.asarray(a(X + dx * hx / 2, Y + dy * hy / 2), dtype=np.float64) * np.ones(X.shape)
        if not np.all(np.isfinite(face)) or np.any(face <= 0):
            raise ValueError("the coefficient a must be finite and > 0 on the domain")
        diag += face / h ** 2
        i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        inside = (i + dx >= 0) & (i + dx < nx) & (j + dy >= 0) & (j + dy < ny)
        rows.append(index[inside])
        cols.append(index[i[inside] + dx, j[inside] + dy])
        vals.append(-face[inside] / h ** 2)
    rows.append(index.ravel())
    cols.append(index.ravel())
    vals.append(diag.ravel())
    A = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(nx * ny, nx * ny)).tocsr()
    u = np.zeros((nx + 2, ny + 2))
    u[1:-1, 1:-1] = spsolve(A, f.ravel()).reshape(nx, ny)
    return u[::k, ::k]
