"""CompactLBFGS: torch's L-BFGS iterates, the direction from the compact form."""
import copy

import pytest
import torch

from pinn_cli.training.lbfgs import CompactLBFGS


@pytest.fixture(params=[torch.float64])
def problem(request):
    """A small tanh network fitted to sin 3x: nonconvex, 31 parameters."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 200)[:, None]
    net = torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1))
    yield net, x, torch.sin(3 * x)
    torch.set_default_dtype(dtype)


def _optimiser(cls, net, history, iters):
    return cls(net.parameters(), lr=1, max_iter=iters, max_eval=25 * iters,
               history_size=history, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
               tolerance_change=1e-15)


def _run(opt, net, x, y, calls=1):
    def closure():
        opt.zero_grad()
        loss = (net(x) - y).square().mean()
        loss.backward()
        return loss

    for _ in range(calls):
        opt.step(closure)
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.parametrize("history", [5, 100])
def test_iterates_equal_torchs_two_loop_lbfgs(problem, history):
    """40 iterations: with history 5 the ring buffer wraps 7 times."""
    net, x, y = problem
    ours, theirs = copy.deepcopy(net), copy.deepcopy(net)
    a = _run(_optimiser(CompactLBFGS, ours, history, 40), ours, x, y)
    b = _run(_optimiser(torch.optim.LBFGS, theirs, history, 40), theirs, x, y)
    start = torch.cat([p.detach().flatten() for p in net.parameters()])
    assert (a - start).abs().max() > 0.1  # it moved
    assert torch.allclose(a, b, rtol=0, atol=1e-8)


@pytest.mark.parametrize("problem", [torch.float32, torch.float64], indirect=True)
def test_state_dict_resumes_with_the_same_iterates(problem):
    """10 + 10 iterations through a state_dict round trip equal 20 in one optimiser, in float32
    too, where torch's load_state_dict casts the float64 products SᵀY, YᵀY to float32."""
    net, x, y = problem
    whole, first = copy.deepcopy(net), copy.deepcopy(net)
    a = _run(_optimiser(CompactLBFGS, whole, 5, 10), whole, x, y, calls=2)
    opt = _optimiser(CompactLBFGS, first, 5, 10)
    _run(opt, first, x, y)
    saved = copy.deepcopy(opt.state_dict())
    resumed = _optimiser(CompactLBFGS, first, 5, 10)
    resumed.load_state_dict(saved)
    b = _run(resumed, first, x, y)
    assert torch.equal(a, b)


def test_needs_the_strong_wolfe_line_search(problem):
    net, _, _ = problem
    with pytest.raises(ValueError, match="strong_wolfe"):
        CompactLBFGS(net.parameters(), line_search_fn=None)
