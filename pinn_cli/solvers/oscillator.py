"""Exact solution of the damped harmonic oscillator."""

import numpy as np


def oscillator_underdamped(t, c: float, k: float, x0: float = 1.0, v0: float = 0.0) -> np.ndarray:
    """Solve x_tt + c x_t + k x = 0 with x(0) = x0, x_t(0) = v0, in the underdamped case.

    With damping c >= 0 and stiffness k > 0 such that c² < 4k, the closed form is

        x(t) = e^{-c t / 2} (x0 cos(w t) + (v0 + c x0 / 2) / w · sin(w t)),   w = sqrt(k - c²/4):

    oscillations of angular frequency w whose amplitude decays at rate c/2, so a record of a few
    periods with visible decay fixes both c (the decay) and k (the frequency). Returns a float64
    array of shape (len(t),); negative t is allowed (the formula holds for all t).
    """
    if not (c >= 0 and k > 0 and c * c < 4 * k):
        raise ValueError(f"need c >= 0, k > 0 and c^2 < 4k (underdamped), got c={c}, k={k}")
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"t must be 1-D, has shape {t.shape}")
    w = np.sqrt(k - c * c / 4)
    return np.exp(-c * t / 2) * (x0 * np.cos(w * t) + (v0 + c * x0 / 2) / w * np.sin(w * t))
