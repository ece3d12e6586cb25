"""Loss + backward time per iteration: nested reverse-mode autograd vs forward-mode Taylor
propagation of the input derivatives (pinn_cli.model.derivatives), optionally under torch.compile
(Taylor only: the nested torch.autograd.grad calls fail under it).

    python benchmarks/derivatives.py [--compile] [--repeats 7] [--threads 2] [--cases burgers,...]
                                     [--device cuda] [--points N]

float32, torch.set_num_threads(2) by default. Each timing is the median over repeats (engines
interleaved, after warm-up) of the mean ms/iteration in a repeat; speedups are ratios within this
process. Timings on a shared machine swing with its load, which the output records.
"""
import argparse
import json
import os
import statistics
import time

import torch

from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.model.nets import MLP, ModifiedMLP

NU = 0.01 / torch.pi


def burgers():
    """Burgers 1D (inputs x, t): u_t + u u_x − ν u_xx, 8×20 tanh MLP, 2000 points."""
    net = MLP(domain=[(-1, 1), (0, 1)], out_shift=[0.0], out_scale=[1.0], width=20, depth=8)
    needs = [("u", ()), ("u", (1,)), ("u", (0,)), ("u", (0, 0))]

    def residuals(f):
        return [f["u", (1,)] + f["u", ()] * f["u", (0,)] - NU * f["u", (0, 0)]]
    return net, torch.rand(2000, 2) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0]), \
        needs, ["u"], residuals


def burgers2d():
    """Burgers 2D (inputs x, y, t; fields u, v), modified MLP 4×50, 20000 points."""
    net = ModifiedMLP(domain=[(0, 1), (0, 1), (0, 1)], out_shift=[0.0, 0.0],
                      out_scale=[1.0, 1.0], width=50, depth=4)
    needs = [(f, idx) for f in "uv" for idx in [(), (2,), (0,), (1,), (0, 0), (1, 1)]]

    def residuals(f):
        return [f[c, (2,)] + f["u", ()] * f[c, (0,)] + f["v", ()] * f[c, (1,)]
                - NU * (f[c, (0, 0)] + f[c, (1, 1)]) for c in "uv"]
    return net, torch.rand(20000, 3), needs, ["u", "v"], residuals


CASES = {"burgers": burgers, "burgers2d": burgers2d}


def step_fn(net, x, needs, outputs, residuals, engine):
    def loss():
        fields = evaluate_fields(net, x, needs, outputs, engine=engine)
        return sum(r.square().mean() for r in residuals(fields))
    return loss


def run_case(name, repeats, iters, use_compile, device, points=None):
    torch.manual_seed(0)
    net, x, needs, outputs, residuals = CASES[name]()
    if points:  # the same box, more or fewer points
        lo, hi = x.min(0).values, x.max(0).values
        x = lo + (hi - lo) * torch.rand(points, x.shape[1])
    net, x = net.to(device), x.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    losses = {e: step_fn(net, x, needs, outputs, residuals, e) for e in ("autograd", "taylor")}
    compile_s = {}
    if use_compile:  # Taylor only: the autograd engine fails under torch.compile (x unused)
        fn = torch.compile(losses["taylor"])
        t0 = time.perf_counter()
        fn().backward()  # the first call compiles forward and backward
        sync()
        compile_s["taylor+compile"] = time.perf_counter() - t0
        losses["taylor+compile"] = fn

    def iteration(fn):
        net.zero_grad(set_to_none=True)
        fn().backward()
        sync()

    for fn in losses.values():  # warm-up
        for _ in range(3):
            iteration(fn)
    times = {k: [] for k in losses}
    for _ in range(repeats):
        for k, fn in losses.items():
            t0 = time.perf_counter()
            for _ in range(iters):
                iteration(fn)
            times[k].append((time.perf_counter() - t0) / iters * 1e3)
    ms = {k: statistics.median(v) for k, v in times.items()}
    return {"case": name, "points": len(x), "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "threads": torch.get_num_threads(),
            "load_avg_1min": os.getloadavg()[0], "ms_per_iter": ms,
            "speedup_vs_autograd": {k: ms["autograd"] / v for k, v in ms.items()},
            "compile_s": compile_s}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="burgers,burgers2d")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="also time torch.compile'd losses")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument("--points", type=int, help="residual points (default: 2000 for burgers, "
                   "20000 for burgers2d)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    for name in args.cases.split(","):
        r = run_case(name, args.repeats, 10 if name == "burgers" else 2, args.compile,
                     torch.device(args.device), args.points)
        print(f"\n{name}: {r['points']} points, torch {torch.__version__}, {r['device_name']}, "
              f"{r['threads']} threads, load average {r['load_avg_1min']:.2f}")
        print(f"{'engine':<20}{'ms/iter':>10}{'speedup':>10}{'compile s':>11}")
        for k, v in r["ms_per_iter"].items():
            c = f"{r['compile_s'][k]:.1f}" if k in r["compile_s"] else ""
            print(f"{k:<20}{v:>10.2f}{r['speedup_vs_autograd'][k]:>10.2f}{c:>11}")
        print(json.dumps(r))


if __name__ == "__main__":
    main()
