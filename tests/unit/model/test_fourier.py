"""arch=fourier_mlp: random Fourier features, fixed, exact under the Taylor derivative engine."""
import math

import pytest
import torch

from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.model.nets import FourierMLP, count_parameters

from support import DOMAINS, MIXED, PURE


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def make(n_in, n_out, sigma=1.5, n_features=8, activation="tanh", seed=0):
    torch.manual_seed(seed)
    net = FourierMLP(domain=DOMAINS[n_in], out_shift=[0.3, -1.0][:n_out],
                     out_scale=[2.0, 0.5][:n_out], width=16, depth=2, activation=activation,
                     sigma=sigma, n_features=n_features)
    lo, hi = torch.tensor(DOMAINS[n_in], dtype=torch.get_default_dtype()).T
    return net, lo + (hi - lo) * torch.rand(64, n_in)


@pytest.mark.parametrize("n_in", [2, 3])
@pytest.mark.parametrize("n_out", [1, 2])
@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_taylor_equals_autograd(float64, n_in, n_out, activation):
    net, x = make(n_in, n_out, activation=activation)
    outputs = ["u", "v"][:n_out]
    for needs in (PURE[n_in], MIXED[n_in]):
        needs = [d for d in needs if d[0] in outputs]
        ref = evaluate_fields(net, x, needs, outputs, engine="autograd")
        got = evaluate_fields(net, x, needs, outputs, engine="taylor")
        for d in needs:
            assert got[d].shape == (len(x),)
            torch.testing.assert_close(got[d], ref[d], rtol=1e-10, atol=1e-10, msg=str(d))
    calls = []
    taylor = net.taylor
    net.taylor = lambda *a: calls.append(a) or taylor(*a)
    evaluate_fields(net, x, PURE[n_in], outputs)  # derivatives=auto takes Taylor
    assert len(calls) == 1


def test_weight_gradients_equal(float64):
    net, x = make(3, 2)
    grads = []
    for engine in ("autograd", "taylor"):
        f = evaluate_fields(net, x, MIXED[3], ["u", "v"], engine=engine)
        loss = sum(((k + 1) * f[d]).square().mean() for k, d in enumerate(MIXED[3]))
        grads.append(torch.autograd.grad(loss, list(net.parameters())))
    for ref, got in zip(*grads):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def test_embedding_is_the_formula_on_scaled_inputs(float64):
    net, x = make(2, 1, sigma=2.0, n_features=5)
    assert net.B.shape == (5, 2)
    z = (x - net.in_center) / net.in_halfwidth
    assert z.abs().max() <= 1
    a = 2 * math.pi * z @ net.B.T
    torch.testing.assert_close(net.embed(z), torch.cat([torch.cos(a), torch.sin(a)], 1))
    assert net(x).shape == (64, 1)
    assert net.hidden[0].in_features == 10


def test_frequencies_are_fixed_and_seeded():
    net, x = make(2, 2, sigma=3.0, n_features=200)
    b0 = net.B.clone()
    assert "B" not in dict(net.named_parameters()) and "B" in net.state_dict()
    assert count_parameters(net) == sum(p.numel() for p in net.parameters())
    assert net.B.std().item() == pytest.approx(3.0, rel=0.1)  # N(0, σ²)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(x).square().mean().backward()
    opt.step()
    assert torch.equal(net.B, b0)  # an optimiser step leaves B alone
    assert torch.equal(make(2, 2, sigma=3.0, n_features=200)[0].B, b0)  # same seed, same B
    assert not torch.equal(make(2, 2, sigma=3.0, n_features=200, seed=1)[0].B, b0)


@pytest.mark.parametrize("kwargs,match", [(dict(sigma=0.0), "sigma must be > 0"),
                                          (dict(n_features=0), "n_features >= 1")])
def test_bad_settings(kwargs, match):
    with pytest.raises(PinnFitError, match=match):
        make(2, 1, **kwargs)
