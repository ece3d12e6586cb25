"""Exact sine-series solution of the 1D heat equation."""

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

DEFAULT_MODES: Mapping[int, float] = MappingProxyType({1: 1.0, 3: 0.5})


def heat1d_series(x, t, k, modes=DEFAULT_MODES, length: float = 1.0) -> np.ndarray:
    """Solve u_t = k u_xx on [0, length], u(0,t) = u(length,t) = 0, u(x,0) = sum_n b_n sin(n pi x/length).

    ``modes`` maps n to b_n (a mapping, or [n, b_n] pairs as a YAML list gives them). Returns u(x_i, t_j) = sum_n b_n exp(-k (n pi/length)^2 t_j) sin(n pi x_i/length)
    as a float64 array of shape (len(x), len(t)).
    """
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    u = np.zeros((x.size, t.size))
    for n, b in dict(modes).items():
        wavenumber = n * np.pi / length
        u += b * np.outer(np.sin(wavenumber * x), np.exp(-k * wavenumber**2 * t))
    return u
