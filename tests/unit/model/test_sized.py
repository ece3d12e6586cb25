"""The default network, sized for the problem."""
import pytest

from pinn_cli.model.nets import MLP, ModifiedMLP
from pinn_cli.model.sized import sized


@pytest.mark.parametrize("n_in, n_out, kind, width, depth", [
    (2, 1, MLP, 20, 8),  # heat1d, burgers1d
    (1, 4, MLP, 20, 8),  # lotka_volterra: four fields of t alone
    (3, 1, MLP, 20, 8),  # convection embedded in x: one field
    (3, 2, ModifiedMLP, 50, 4),  # burgers2d in x, y, t
    (5, 3, ModifiedMLP, 50, 4),  # navier_stokes2d_periodic, x and y embedded
])
def test_the_modified_mlp_only_for_several_fields_over_three_or_more_inputs(n_in, n_out, kind,
                                                                            width, depth):
    net = sized([(0.0, 1.0)] * n_in, [0.0] * n_out, [1.0] * n_out)
    assert type(net) is kind and net.head.in_features == width
    assert (len(net.hidden) == depth) if kind is MLP else (len(net.hidden) == depth - 1)


def test_width_and_depth_replace_the_chosen_networks_own():
    net = sized([(0.0, 1.0)] * 3, [0.0, 0.0], [1.0, 1.0], width=8, depth=2)
    assert type(net) is ModifiedMLP and net.head.in_features == 8 and len(net.hidden) == 1
    net = sized([(0.0, 1.0)] * 2, [0.0], [1.0], width=8, depth=2, activation="sin")
    assert type(net) is MLP and net.head.in_features == 8 and len(net.hidden) == 2
