"""Exact decaying Taylor–Green vortex of the 2-D incompressible Navier–Stokes equations."""

import numpy as np


def taylor_green_vortex(x, y, t, lambda1: float, nu: float) -> dict:
    """Solve u_t + lambda1 (u u_x + v u_y) + p_x = nu (u_xx + u_yy), likewise for v, and
    u_x + v_y = 0 (Raissi et al.'s form, density 1) with the decaying Taylor–Green vortex

        u = -cos x sin y F,   v = sin x cos y F,   p = -lambda1 (cos 2x + cos 2y) / 4 · F²,
        F = exp(-2 nu t).

    Here u·∇u = -∇((cos 2x + cos 2y) / 4 · F²), so the pressure balances the convective term
    exactly and what is left is u_t = nu Δu (Δu = -2u). The formula holds for any lambda1 > 0
    with the pressure scaled by lambda1 (lambda1 = 1 is the classical vortex). Since u·∇ω = 0,
    lambda1 shows only in p: without pressure data it cannot be identified. Returns
    {"u", "v", "p"}: float64 arrays of shape (len(x), len(y), len(t)); the pressure has zero mean
    over a period.
    """
    if not (nu > 0 and lambda1 > 0):
        raise ValueError(f"need nu > 0 and lambda1 > 0, got lambda1={lambda1}, nu={nu}")
    X, Y, T = np.meshgrid(*(np.asarray(a, dtype=np.float64) for a in (x, y, t)), indexing="ij")
    F = np.exp(-2 * nu * T)
    return {"u": -np.cos(X) * np.sin(Y) * F, "v": np.sin(X) * np.cos(Y) * F,
            "p": -lambda1 * (np.cos(2 * X) + np.cos(2 * Y)) / 4 * F**2}
