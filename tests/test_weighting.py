"""Weighting schemes against hand computations."""
import numpy as np
import pytest
import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.weighting import Annealing, Fixed

KINDS = {"data": "data", "pde": "residual", "pde2": "residual", "bc": "condition"}


def _grads(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(50, generator=g, dtype=torch.float64) * s
            for k, s in zip(KINDS, (0.01, 1.0, 0.5, 0.1))}


def test_annealing_matches_algorithm_1_by_hand():
    w = Annealing(alpha=0.9, update_every=10)
    w.setup(KINDS)
    lam = {k: 1.0 for k in KINDS}
    for seed in range(3):
        grads = _grads(seed)
        w.update(grads)
        g = {k: v.numpy() for k, v in grads.items()}
        ref = np.max(np.abs(g["pde"] + g["pde2"]))  # L_r = sum of the residual terms
        for k in ("data", "bc"):
            lam[k] = 0.1 * lam[k] + 0.9 * ref / np.mean(np.abs(g[k]))
        for k in KINDS:
            assert w.lambdas[k] == pytest.approx(lam[k], rel=1e-12)
    assert w.lambdas["pde"] == w.lambdas["pde2"] == 1.0
    assert w.lambdas["data"] > 10  # the small data gradient is boosted


def test_annealing_update_schedule():
    w = Annealing(alpha=0.9, update_every=10)
    assert [s for s in range(35) if w.wants_gradients(s)] == [0, 10, 20, 30]


def test_fixed_weights_and_typo():
    w = Fixed({"data": 10.0})
    w.setup(KINDS)
    assert w.lambdas == {"data": 10.0, "pde": 1.0, "pde2": 1.0, "bc": 1.0}
    assert not w.wants_gradients(0)
    with pytest.raises(PinnFitError, match="'dta'"):
        Fixed({"dta": 1.0}).setup(KINDS)


def test_annealing_rejects_bad_alpha():
    with pytest.raises(PinnFitError, match="alpha"):
        Annealing(alpha=1.5, update_every=10)
