"""One loss + gradient evaluation of a composed problem: pinn-fit's Losses, which shares network
passes (the data term read from the residual's pass at the observations' points, the conditions
that need the same derivatives in one call, a plain forward where only values are needed),
against a pass per term (the data, the residual and each condition on their own, `per_term`
below). Both give the same terms (tests/unit/problem/test_problem.py).

    python benchmarks/loss_passes.py [--repeats 20] [--threads 1] [pinn-fit overrides ...]

Defaults: burgers1d on its shipped data (2000 observations, 2000 residual points plus the
observations, 3 conditions of 200 points, 8x20 tanh), float32, one torch thread. The two are
interleaved in one process; each timing is the median over repeats of the mean ms per
evaluation in a repeat, and the ratio is taken within this process.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from pinn_cli.workflows import build
from pinn_cli.schema import register
from pinn_cli.model.derivatives import _autograd, _taylor

REPO = Path(__file__).resolve().parents[1]


def per_term(losses, net, params):
    """The terms with one network pass each: data, residual, every condition, each
    through the derivative engine (a Taylor pass with no derivatives where only values are
    needed)."""
    problem = losses.problem
    engine = _autograd if losses.engine == "autograd" or not hasattr(net, "taylor") else _taylor

    def named(x, needs):
        vals = engine(net, x, list(needs), problem.outputs)
        return {problem.derivative_name(d): v for d, v in vals.items()} | \
            {name: x[:, i] for i, name in enumerate(problem.inputs)}

    terms = {"data": (net(losses.obs_x)[:, losses.obs_cols] - losses.obs_y).square().mean()}
    res = problem.evaluate(problem.residuals, named(losses.colloc_x, losses.residual_needs),
                           params)
    terms |= losses._residual_terms({k: r * losses.residual_roots.get(k, 1.0)
                                     for k, r in res.items()})
    for eq, x, needs in losses.conditions:
        r = problem.evaluate([eq], named(x, needs), params)[eq.name]
        terms[eq.name] = r.square().mean()
    return terms


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("overrides", nargs="*", default=["pde=burgers1d"])
    args = ap.parse_args(argv)
    register()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=[*args.overrides, f"threads={args.threads}"])
    device = build.setup_torch(cfg)
    problem, _, net, losses, unknowns = build.build(cfg, device)
    if problem.periodic_losses or losses.causal_epsilon:
        raise SystemExit("per_term() covers data, residual and condition terms only")
    weights = list(net.parameters()) + list(unknowns.parameters())

    def shared():
        return losses(net, unknowns.physical())

    def apart():
        return per_term(losses, net, unknowns.physical())

    def evaluate(terms_of):
        torch.autograd.grad(sum(terms_of().values()), weights)

    a, b = shared(), apart()
    gap = max(abs(float(a[k] - b[k])) / max(abs(float(b[k])), 1e-30) for k in b)
    times = {"shared": [], "per_term": []}
    for _ in range(args.repeats):
        for name, f in (("shared", shared), ("per_term", apart)):
            for _ in range(2):
                evaluate(f)
            t = time.perf_counter()
            for _ in range(10):
                evaluate(f)
            times[name].append((time.perf_counter() - t) / 10 * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{problem.name}: {len(losses.colloc_x)} residual points, {len(losses.obs_x)} "
          f"observations, {len(losses.conditions)} conditions; {cfg.precision}, "
          f"{args.threads} thread(s); largest relative gap between the two: {gap:.1e}")
    for k, v in med.items():
        print(f"{k:>9}: {v:6.2f} ms per loss + gradient (median of {args.repeats})")
    print(f"speed-up of shared passes: {med['per_term'] / med['shared']:.2f}x")
    print(json.dumps({"benchmark": "loss_passes", "problem": problem.name,
                      "overrides": args.overrides, "threads": args.threads,
                      "ms": med, "speedup": med["per_term"] / med["shared"], "gap": gap}))


if __name__ == "__main__":
    main()
