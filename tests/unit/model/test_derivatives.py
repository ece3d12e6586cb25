"""Forward-mode Taylor propagation of input derivatives against nested reverse-mode autograd."""
import pytest
import torch

from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.model.nets import ACTIVATIONS, MLP, ModifiedMLP

from support import DOMAINS, MIXED, PURE

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def make(cls, n_in, n_out, activation="tanh"):
    torch.manual_seed(0)
    net = cls(domain=DOMAINS[n_in], out_shift=[0.3, -1.0][:n_out], out_scale=[2.0, 0.5][:n_out],
              width=16, depth=3, activation=activation)
    lo, hi = torch.tensor(DOMAINS[n_in], dtype=torch.get_default_dtype()).T
    return net, lo + (hi - lo) * torch.rand(64, n_in)


def both(net, x, needs, outputs):
    return (evaluate_fields(net, x, needs, outputs, engine="autograd"),
            evaluate_fields(net, x, needs, outputs, engine="taylor"))


@pytest.mark.parametrize("cls", [MLP, ModifiedMLP])
@pytest.mark.parametrize("n_in", [2, 3])
@pytest.mark.parametrize("n_out", [1, 2])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_taylor_equals_autograd(float64, cls, n_in, n_out, activation):
    net, x = make(cls, n_in, n_out, activation)
    outputs = ["u", "v"][:n_out]
    for needs in (PURE[n_in], MIXED[n_in]):
        needs = [d for d in needs if d[0] in outputs]
        ref, got = both(net, x, needs, outputs)
        assert set(got) == set(needs)
        for d in needs:
            assert got[d].shape == (len(x),)
            torch.testing.assert_close(got[d], ref[d], rtol=1e-10, atol=1e-10, msg=str(d))


@pytest.mark.parametrize("cls", [MLP, ModifiedMLP])
def test_weight_gradients_equal(float64, cls):
    net, x = make(cls, 3, 2)
    grads = []
    for fields in both(net, x, MIXED[3], ["u", "v"]):
        loss = sum(((k + 1) * fields[d]).square().mean() for k, d in enumerate(MIXED[3]))
        grads.append(torch.autograd.grad(loss, list(net.parameters())))
    for ref, got in zip(*grads):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def test_float32():
    net, x = make(ModifiedMLP, 2, 1)
    ref, got = both(net, x, MIXED[2][:5], ["u"])
    for d in got:
        assert got[d].dtype == torch.float32
        torch.testing.assert_close(got[d], ref[d], rtol=1e-4, atol=1e-4)


def test_auto_engine_choice(float64, monkeypatch):
    net, x = make(MLP, 2, 1)
    taylor, calls = net.taylor, []
    monkeypatch.setattr(net, "taylor", lambda *a: calls.append(a) or taylor(*a))
    evaluate_fields(net, x, PURE[2], ["u"])
    assert len(calls) == 1
    third = PURE[2] + [("u", (0, 0, 1))]
    ref = evaluate_fields(net, x, third, ["u"], engine="autograd")
    got = evaluate_fields(net, x, third, ["u"])  # order 3: falls back to autograd
    assert len(calls) == 1
    torch.testing.assert_close(got[("u", (0, 0, 1))], ref[("u", (0, 0, 1))])
    with pytest.raises(PinnFitError, match="order <= 2"):
        evaluate_fields(net, x, third, ["u"], engine="taylor")
    with pytest.raises(PinnFitError, match="not known"):
        evaluate_fields(net, x, PURE[2], ["u"], engine="jvp")
