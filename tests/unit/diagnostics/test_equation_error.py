"""The equation std: the network's equation error in the units of the unknowns."""
import math

import pytest
import torch
from hydra import compose, initialize_config_module
from torch import nn

from pinn_cli.diagnostics.equation_error import equation_std
from pinn_cli.schema import register
from pinn_cli.workflows.build import build


class HeatMode(nn.Module):
    """u = exp(-k π² t) sin(π x): the exact solution of u_t = k u_xx for this k."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return (torch.exp(-self.k * math.pi ** 2 * x[:, 1]) * torch.sin(math.pi * x[:, 0]))[:, None]


def _heat1d():
    register()
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=["precision=float64", "derivatives=autograd",
                                            "collocation.n_points=500", "scaling=off"])
    _, _, _, losses, unknowns = build(cfg, torch.device("cpu"))
    return losses, unknowns


@pytest.mark.parametrize("k_net, k_unknown", [(0.1, 0.1), (0.1, 0.11), (0.1, 0.08)])
def test_fields_exact_for_another_k_give_exactly_that_gap(k_net, k_unknown):
    """Fields that solve the equation for k_net, read with the unknown at k_unknown, leave the
    residual (k_net − k_unknown) u_xx; the equation std is then |k_net − k_unknown|."""
    losses, unknowns = _heat1d()
    unknowns.hold({"k": k_unknown})
    std = equation_std(HeatMode(k_net), unknowns, losses)
    assert std["k"] == pytest.approx(abs(k_net - k_unknown), abs=1e-9)


def test_an_unknown_the_equations_do_not_reach_has_no_finite_std():
    losses, unknowns = _heat1d()
    losses.problem.residuals[0].fn = lambda values, params: values["u_t"] - 0.1 * values["u_xx"]
    assert equation_std(HeatMode(0.1), unknowns, losses)["k"] == math.inf
