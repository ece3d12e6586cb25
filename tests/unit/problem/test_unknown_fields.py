"""Unknown fields: declaration, their networks' derivatives, and the errors that name the key."""
import numpy as np
import pytest
import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.problem.fields import FieldNets, FieldUnknown
from pinn_cli.problem.problem import Problem
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.training.losses import Losses

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

INPUTS = {"x": [0.0, 1.0], "y": [-1.0, 2.0], "t": [0.0, 0.5]}


def _problem(**change):
    spec = dict(name="p", inputs=INPUTS, outputs=["u"],
                unknowns={"a": {"field": ["x", "y"], "guess": 0.3, "transform": "log"},
                          "r": {"guess": 1.0}},
                residuals={"pde": "u_t - (a*(u_xx + u_yy) + a_x*u_x + a_y*u_y) - r*u"})
    spec.update(change)
    return Problem(**spec)


def _nets(fields):
    torch.manual_seed(0)
    nets = FieldNets(fields, list(INPUTS), {k: tuple(v) for k, v in INPUTS.items()})
    for net in nets.nets:  # a field away from its guess, so that derivatives are not 0
        torch.nn.init.normal_(net.head.weight, std=0.5)
    return nets


def _points(n=40):
    lo, hi = torch.tensor(list(INPUTS.values()), dtype=torch.float64).T
    return lo + (hi - lo) * torch.rand(n, 3, dtype=torch.float64)


def test_problem_declares_a_field_next_to_a_scalar():
    p = _problem()
    assert [u.name for u in p.unknowns] == ["r"]
    assert p.field_names == ["a"] and p.fields[0].inputs == ["x", "y"]
    needs = p.residuals[0].needs
    assert ("a", (0,)) in needs and ("a", (1,)) in needs and ("a", ()) in needs


@pytest.mark.parametrize("transform", ["log", "identity"])
def test_field_derivatives_taylor_equal_autograd(float64, transform):
    fields = [FieldUnknown("a", ["x", "t"], 0.3, transform, scale=0.2),
              FieldUnknown("b", ["y"], 2.0, transform)]
    nets = _nets(fields)
    x = _points()
    needs = [(f, idx) for f in ("a", "b") for idx in [(), (0,), (1,), (2,), (0, 0), (0, 2),
                                                     (1, 1), (2, 2)]]
    auto = evaluate_fields(nets, x, needs, ["a", "b"], engine="autograd")
    taylor = evaluate_fields(nets, x, needs, ["a", "b"], engine="taylor")
    for d in needs:
        torch.testing.assert_close(taylor[d], auto[d], rtol=1e-10, atol=1e-12)
    # b depends on y only: its derivatives along x and t vanish, those along y do not
    assert taylor[("b", (0,))].abs().max() == 0 and taylor[("b", (1,))].abs().max() > 1e-3


def test_field_starts_at_its_guess(float64):
    nets = FieldNets([FieldUnknown("a", ["x"], 0.3, "log")], list(INPUTS),
                     {k: tuple(v) for k, v in INPUTS.items()})
    torch.testing.assert_close(nets(_points())[:, 0], torch.full((40,), 0.3,
                                                                  dtype=torch.float64))


def test_losses_take_the_field_from_its_network(float64):
    p = _problem()
    nets = _nets(p.fields)
    unknowns = Unknowns(p.unknowns, fields=nets)
    x = _points()

    class Plain(torch.nn.Module):  # u = sin(x) y e^-t: derivatives by hand
        def forward(self, z):
            return (torch.sin(z[:, 0]) * z[:, 1] * torch.exp(-z[:, 2]))[:, None]

    losses = Losses(p, x[:0], torch.zeros(0, 1, dtype=torch.float64), ["u"], x, [],
                    fields=unknowns.fields)
    a = evaluate_fields(nets, x, [("a", ()), ("a", (0,)), ("a", (1,))], ["a"])
    u = torch.sin(x[:, 0]) * x[:, 1] * torch.exp(-x[:, 2])
    u_x, u_y = torch.cos(x[:, 0]) * x[:, 1] * torch.exp(-x[:, 2]), u / x[:, 1]
    expected = -u - (a[("a", ())] * (-u) + a[("a", (0,))] * u_x + a[("a", (1,))] * u_y) - u
    terms = losses(Plain(), unknowns.physical())
    torch.testing.assert_close(terms["pde"], expected.square().mean())
    # the field's weights train with the unknowns, and are saved with them
    assert any(k.startswith("fields.nets.0.") for k in unknowns.state_dict())
    assert len(list(unknowns.parameters())) == 1 + len(list(nets.parameters()))


@pytest.mark.parametrize("unknowns, key", [
    ({"a": {"field": ["z"], "guess": 1.0}}, "pde.unknowns.a.field"),
    ({"u": {"field": ["x"], "guess": 1.0}}, "pde.unknowns.u"),
    ({"a": {"field": ["x"], "guess": 1.0, "bounds": [0, 2]}}, "pde.unknowns.a.bounds"),
    ({"a": {"field": ["x"], "guess": -1.0, "transform": "log"}}, "pde.unknowns.a.guess"),
    ({"a": {"field": ["x"], "guess": 1.0, "truth": "1 + q*x"}}, "the truth of field 'a'"),
    ({"a": {"field": ["x"], "guess": 1.0, "truth": "__import__('os')"}}, "the truth of field"),
    ({"k": {"guess": 1.0, "width": 10}}, "pde.unknowns.k.width"),
    ({"k": {"guess": 1.0, "truth": "1 + x"}}, "pde.unknowns.k.truth"),
    ({"k": {"guess": 1.0, "regularization": {"h1": 1e-3}}}, "pde.unknowns.k.regularization"),
    ({"a": {"field": ["x"], "guess": 1.0, "regularization": {"tv": 1e-3}}},
     "pde.unknowns.a.regularization"),
    ({"a": {"field": ["x"], "guess": 1.0, "regularization": {"h1": -1}}},
     "pde.unknowns.a.regularization"),
])
def test_bad_field_declarations_name_the_key(unknowns, key):
    with pytest.raises(PinnFitError) as err:
        _problem(unknowns=unknowns, residuals={"pde": "u_t - u_xx"})
    assert key in str(err.value)


def test_field_truth_is_an_expression_in_its_inputs():
    f = _problem().fields[0]
    f.truth = "0.1*(1 + 0.5*sin(pi*x)*y)"
    x, y = np.meshgrid(np.linspace(0, 1, 5), np.linspace(-1, 2, 4), indexing="ij")
    np.testing.assert_allclose(f.truth_function()(x, y), 0.1 * (1 + 0.5 * np.sin(np.pi * x) * y))


def test_h1_smoothness_is_a_loss_term_of_its_own(float64):
    p = _problem(unknowns={"a": {"field": ["x", "y"], "guess": 0.3, "transform": "log",
                                 "regularization": {"h1": 0.01}}, "r": {"guess": 1.0}})
    nets = _nets(p.fields)
    x = _points()
    losses = Losses(p, x[:0], torch.zeros(0, 1, dtype=torch.float64), ["u"], x, [],
                    fields=nets)
    assert losses.kinds["smooth_a"] == "condition"
    grad = evaluate_fields(nets, x, [("a", (0,)), ("a", (1,))], ["a"])
    # c mean over the points of (L_x a_x / guess)^2 + (L_y a_y / guess)^2; L_x = 1, L_y = 3
    expected = 0.01 * ((grad[("a", (0,))] / 0.3).square().mean()
                       + (3 * grad[("a", (1,))] / 0.3).square().mean())
    from pinn_cli.model.nets import MLP

    net = MLP([tuple(v) for v in INPUTS.values()], [0.0], [1.0], width=8, depth=2)
    term = losses(net, {"r": torch.tensor(1.0, dtype=torch.float64)})["smooth_a"]
    torch.testing.assert_close(term, expected)
    # its per-point residuals (the NTK weighting's) give the same loss
    from pinn_cli.training.point_residuals import point_residuals
    (group,) = [g for g in point_residuals(losses, {}) if g.columns[0] == "smooth_a"]
    torch.testing.assert_close(group.fn(None, x).square().mean(0).sum(), expected)


def test_sensitivity_names_where_the_equations_cannot_see_the_field(float64):
    """u = relu(x - 1/2)^3 e^-t: u_x = u_xx = 0 for x < 1/2, where D(x) in (D u_x)_x is free."""
    from pinn_cli.diagnostics.field_trust import field_sensitivity

    p = Problem(name="p", inputs={"x": [0.0, 1.0], "t": [0.0, 1.0]}, outputs=["u"],
                unknowns={"D": {"field": ["x"], "guess": 0.1, "transform": "log"}},
                residuals={"pde": "u_t - (D*u_xx + D_x*u_x)"})
    nets = FieldNets(p.fields, p.inputs, p.domain)
    x = torch.rand(50, 2, dtype=torch.float64)
    losses = Losses(p, x[:0], torch.zeros(0, 1, dtype=torch.float64), ["u"], x, [],
                    fields=nets)

    class Half(torch.nn.Module):
        def forward(self, z):
            return (torch.relu(z[:, 0] - 0.5) ** 3 * torch.exp(-z[:, 1]))[:, None]

    entry = field_sensitivity(p, losses, Half(), {})["D"]
    assert entry["map"].max() == pytest.approx(1.0) and entry["map"][:100].max() == 0
    (weak,) = entry["weak_regions"]
    assert weak[0] == 0.0 and 0.5 <= weak[1] < 0.75
    assert 0.25 < entry["constrained_fraction"] < 0.5
    assert "elsewhere (x in [0, " in entry["verdict"] and "not determined by the data" in \
        entry["verdict"]
