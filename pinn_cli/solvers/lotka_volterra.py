"""Lotka–Volterra predator–prey equations, integrated by the classical Runge–Kutta method."""

import math

import numpy as np


def lotka_volterra_rk4(t, alpha: float, beta: float, gamma: float, delta: float,
                       x0: float = 10.0, y0: float = 5.0, dt: float = 1e-3) -> dict:
    """Solve x_t = alpha x - beta x y, y_t = delta x y - gamma y, x(0) = x0, y(0) = y0.

    Classical fourth-order Runge–Kutta from t = 0: between consecutive requested times (sorted,
    >= 0) it takes ceil(gap / dt) equal steps, so every requested time is landed on exactly (no
    interpolation) and no step exceeds ``dt``. The global error is O(dt⁴)
    (tests/unit/problem/test_solvers.py: halving the step divides it by ~16); at the default
    dt = 1e-3 it is at round-off level for the shipped problem. A step too large for the rates,
    where the scheme turns unstable and a population leaves (0, inf), raises ValueError. The
    invariant V = delta x - gamma ln x + beta y - alpha ln y is conserved by the exact flow,
    which the tests also check. Returns {"x", "y"}: float64 arrays of shape (len(t),).
    """
    rates = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    if any(not (v > 0 and math.isfinite(v)) for v in rates.values()):
        raise ValueError(f"need positive finite rates, got {rates}")
    if not (x0 > 0 and y0 > 0):
        raise ValueError(f"need positive initial populations, got x0={x0}, y0={y0}")
    if not dt > 0:
        raise ValueError(f"need dt > 0, got {dt}")
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or np.any(t < 0) or np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
        raise ValueError("t must be a 1-D, finite, non-decreasing array of times >= 0")
    a, b, g, d = float(alpha), float(beta), float(gamma), float(delta)

    def f(x, y):
        return a * x - b * x * y, d * x * y - g * y

    xs, ys = np.empty(t.size), np.empty(t.size)
    x, y, now = float(x0), float(y0), 0.0
    for i, target in enumerate(t):
        n = math.ceil((target - now) / dt - 1e-9)
        if n > 0:
            h = float(target - now) / n
            for _ in range(n):  # plain floats: ~10x faster than small numpy arrays here
                k1x, k1y = f(x, y)
                k2x, k2y = f(x + h / 2 * k1x, y + h / 2 * k1y)
                k3x, k3y = f(x + h / 2 * k2x, y + h / 2 * k2y)
                k4x, k4y = f(x + h * k3x, y + h * k3y)
                x += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
                y += h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
            now = float(target)
            if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
                raise ValueError(f"the integration became unstable before t = {now:g} (x = "
                                 f"{x:.3g}, y = {y:.3g}): dt = {dt:g} is too large for the "
                                 f"rates {rates}")
        xs[i], ys[i] = x, y
    return {"x": xs, "y": ys}
