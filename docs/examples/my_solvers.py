"""A reference solver of your own, for docs/reference-solver.md: the heat equation with a Robin
(convective) condition, which the generic solver cannot impose. pde=my_robin_heat names it as
my_solvers.robin_heat; put this folder on PYTHONPATH so that Python can import it."""
import numpy as np
from scipy.integrate import solve_ivp


def robin_heat(x, t, k, h=1.0, n=201):
    """u_t = k u_xx on [0, 1], u(0, t) = 0, u_x(1, t) + h u(1, t) = 0, u(x, 0) = sin(pi x / 2).

    The method of lines on n nodes (second-order differences, a ghost node for the Robin side),
    integrated by BDF. Returns u on the grid x × t: shape (len(x), len(t))."""
    grid = np.linspace(0.0, 1.0, n)
    dx = grid[1] - grid[0]

    def rate(_, u):  # u at grid[1:], u(0) = 0
        ext = np.concatenate([[0.0], u, [u[-2] - 2 * dx * h * u[-1]]])
        return k * (ext[2:] - 2 * ext[1:-1] + ext[:-2]) / dx ** 2

    t = np.asarray(t, float)
    sol = solve_ivp(rate, (0.0, t.max()), np.sin(np.pi * grid[1:] / 2), t_eval=t,
                    method="BDF", rtol=1e-9, atol=1e-11)
    if not sol.success:
        raise ValueError(sol.message)
    u = np.vstack([np.zeros(len(t)), sol.y])  # (n, len(t))
    return np.stack([np.interp(x, grid, u[:, j]) for j in range(len(t))], axis=1)
