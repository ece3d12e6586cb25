"""Causal training (Wang, Sankaran & Perdikaris 2024, "Respecting causality for training
physics-informed neural networks", CMAME 421): with `causal_epsilon` ε > 0 the residual points
are split by their time t into M = `causal_chunks` equal windows [t0, t1), ..., [t_{M-1}, t_M]
of the domain, and each residual term i becomes

    L_i = Σ_m (n_m / n) w_m L_i,m,   w_m = exp(−ε Σ_{k<m} Σ_j L_j,k)   (w_0 = 1),

L_i,m the mean of r_i² over the n_m points of window m and the sum over j over every residual
term; the w_m are computed from detached losses (no gradient flows through them). With equal
windows (n_m = n/M) this is the paper's (1/M) Σ_m w_m L_i,m; with ε = 0 it is the plain mean.
"""
from typing import Dict, Tuple

import torch


def causal_chunks(t: torch.Tensor, t_range: Tuple[float, float], chunks: int
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each point's time window (n,) of `chunks` equal windows of t_range (the last one closed),
    and the number of points in each window (chunks,)."""
    lo, hi = t_range
    m = torch.floor((t - lo) / (hi - lo) * chunks).long().clamp_(0, chunks - 1)
    counts = torch.bincount(m, minlength=chunks).to(t.dtype)
    return m, counts


def causal_weighted(squares: Dict[str, torch.Tensor], chunk: torch.Tensor, counts: torch.Tensor,
                    epsilon: float) -> Tuple[Dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """The causally weighted residual losses (see the module's docstring) from each term's
    squared residuals r_i² (n,) at points in windows `chunk` (n,): ({term: L_i}, the weights
    w (M,), detached, and the window losses Σ_j L_j,m (M,), detached)."""
    per = {k: torch.zeros_like(counts).index_add(0, chunk, r2) / counts.clamp(min=1)
           for k, r2 in squares.items()}
    window = sum(per.values()).detach()
    earlier = torch.cat([window.new_zeros(1), torch.cumsum(window, 0)[:-1]])
    w = torch.exp(-epsilon * earlier)
    share = w * counts / counts.sum()
    return {k: (share * v).sum() for k, v in per.items()}, w, window
