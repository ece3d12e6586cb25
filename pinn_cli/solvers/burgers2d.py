"""Exact traveling-front solution of the coupled 2-D viscous Burgers equations."""

import numpy as np


def burgers2d_front(x, y, t, nu: float) -> dict:
    """Solve u_t + u u_x + v u_y = nu (u_xx + u_yy), v_t + u v_x + v v_y = nu (v_xx + v_yy).

    The closed form of Fletcher (1983), obtained with the Cole–Hopf transformation,

        u = 3/4 - 1 / (4 (1 + exp((-4x + 4y - t) / (32 nu)))),   v = 3/2 - u,

    a front along y = x + t/4 whose thickness is proportional to nu (about 8 nu across), which is
    what makes nu identifiable. Returns {"u", "v"}, float64 arrays of shape
    (len(x), len(y), len(t)).
    """
    if nu <= 0:
        raise ValueError(f"need nu > 0, got {nu}")
    X, Y, T = np.meshgrid(*(np.asarray(a, dtype=np.float64) for a in (x, y, t)), indexing="ij")
    # 1 / (1 + e^s) = (1 - tanh(s/2)) / 2, written so that no exponential overflows.
    s = (-4 * X + 4 * Y - T) / (32 * nu)
    u = 0.75 - (1 - np.tanh(s / 2)) / 8
    return {"u": u, "v": 1.5 - u}
