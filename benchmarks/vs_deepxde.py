"""pinn-fit against DeepXDE on Raissi's Burgers identification, same data, network and points.

Draws `--n-obs` observations (seed `--seed`) from Raissi's `burgers_shock.h5`, writes them as a
scattered file that pinn-fit reads, and runs, one after the other, each in its own process on
one torch thread:

- pinn-fit with burgers1d's shipped defaults (`pinn-fit pde=burgers1d data.file=...`);
- DeepXDE (torch backend) with Raissi's recipe: the same 8x20 tanh network (Glorot), lambda1
  and log nu trainable from 0 and log 0.01, 2000 residual points plus the observations as
  anchors, 400 boundary and 200 initial points, L-BFGS (strong Wolfe) only.

Both tools' times count from the launch of their process: start-up (interpreter, imports,
data, graph building) counts, the end-of-run writes after the last row do not. Prints the time
until both unknowns are within 1 %, the errors at equal wall-time budgets (10, 30, 60, 120 s)
and at the end, and the speed-up line against its target (DeepXDE's time to 1 % at least 5x
pinn-fit's; with `--seeds`: per draw, then of the medians), as a table and as one JSON line.
DeepXDE is an optional benchmark dependency (`pip install -e ".[bench]"`), never a runtime one.

    python benchmarks/vs_deepxde.py [--file data/burgers_shock.h5] [--iters 5000]
                                    [--seed 0 | --seeds 0-2]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from burgers_raissi import parsed, seeds_of  # this folder is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
TRUTH = {"lambda1": 1.0, "nu": 0.01 / math.pi}
BUDGETS = (10, 30, 60, 120)


def observations(path, n_obs, seed):
    """n_obs random nodes of Raissi's grid: (x_t (n, 2), u (n,))."""
    import h5py

    with h5py.File(path, "r") as f:
        x, t, u = f["x"][()].ravel(), f["t"][()].ravel(), f["usol"][()]
    xx, tt = np.meshgrid(x, t, indexing="ij")
    pick = np.random.default_rng(seed).choice(xx.size, n_obs, replace=False)
    return np.stack([xx.ravel()[pick], tt.ravel()[pick]], 1), u.ravel()[pick]


def deepxde_child(npz, iters, every, out):
    """Runs in its own process: DeepXDE's L-BFGS, recording (Unix time, lambda1, nu) every
    `every` iterations into `out` (JSON)."""
    os.environ["DDE_BACKEND"] = "pytorch"
    import torch

    torch.set_num_threads(1)
    import deepxde as dde

    d = np.load(npz)
    obs_x, obs_u = d["x"], d["u"][:, None]
    dde.config.set_random_seed(0)
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1),
                                          dde.geometry.TimeDomain(0, 1))
    lam, log_nu = dde.Variable(0.0), dde.Variable(math.log(0.01))

    def pde(x, y):
        u_x = dde.grad.jacobian(y, x, i=0, j=0)
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        return u_t + lam * y * u_x - torch.exp(log_nu) * u_xx

    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]),
                     lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic, dde.icbc.PointSetBC(obs_x, obs_u)],
                            num_domain=2000, num_boundary=400, num_initial=200, anchors=obs_x)
    model = dde.Model(data, dde.nn.FNN([2] + [20] * 8 + [1], "tanh", "Glorot normal"))
    dde.optimizers.config.set_LBFGS_options(maxiter=iters)
    dde.optimizers.config.LBFGS_options["iter_per_step"] = every
    dde.optimizers.config.LBFGS_options["fun_per_step"] = int(every * 1.25)
    model.compile("L-BFGS", external_trainable_variables=[lam, log_nu])
    rows = []

    class Record(dde.callbacks.Callback):
        def on_epoch_end(self):
            rows.append([time.time(), float(lam.detach()), math.exp(float(log_nu.detach()))])

    rows.append([time.time(), 0.0, 0.01])
    model.train(callbacks=[Record()], display_every=10 ** 9)
    Path(out).write_text(json.dumps(rows))


def run_deepxde(npz, iters, every, tmp):
    out = Path(tmp) / "deepxde.json"
    launched, t0 = time.time(), time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--deepxde-child", str(npz), str(iters),
                           str(every), str(out)], capture_output=True, text=True,
                          env=os.environ | {"OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"DeepXDE failed (pip install -e '.[bench]'?):\n{proc.stderr[-3000:]}")
    return [(s - launched, {"lambda1": a, "nu": b}) for s, a, b in json.loads(out.read_text())], \
        wall


def run_pinn_fit(h5, tmp, overrides):
    import csv

    run = Path(tmp) / "pinn-fit"
    launched, t0 = time.time(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pinn_cli", "pde=burgers1d", f"data.file={h5}",
                           "data.layout=scattered", "data.n_obs=null", "log_every=50", "plots=false", "diagnostics=off",
                           f"hydra.run.dir={run}", *overrides], capture_output=True, text=True,
                          cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"pinn-fit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    # the rows' training clock started this long after the launch (imports, data, set-up)
    startup = json.loads((run / "summary.json").read_text())["clock_start_unix"] - launched
    with open(run / "params.csv", newline="") as f:
        rows = [(float(r["elapsed_s"]) + startup, {k: float(r[k]) for k in TRUTH})
                for r in csv.DictReader(f)]
    return rows, wall


def errors(values):
    return {k: abs(values[k] - t) / t for k, t in TRUTH.items()}


def figures(rows, wall):
    """Time to 1 % on both, the errors at each budget (last row recorded by then), the end."""
    to_1pct = next((s for s, v in rows if max(errors(v).values()) <= 0.01), None)
    at = {}
    for b in BUDGETS:
        seen = [v for s, v in rows if s <= b]
        at[b] = {k: 100 * e for k, e in errors(seen[-1]).items()} if seen else None
    return {"seconds_to_1pct": to_1pct, "errors_pct_at_budget": at, "wall_seconds": wall,
            "final_errors_pct": {k: 100 * e for k, e in errors(rows[-1][1]).items()}}


def compare(args, seed):
    """Both tools on the draw `seed`: {"pinn-fit": figures, "deepxde": figures, speed-up}."""
    import h5py

    x, u = observations(args.file, args.n_obs, seed)
    with tempfile.TemporaryDirectory() as tmp:
        h5, npz = Path(tmp) / "obs.h5", Path(tmp) / "obs.npz"
        with h5py.File(h5, "w") as f:
            f["x"], f["t"], f["usol"] = x[:, 0], x[:, 1], u
            f.attrs.update(TRUTH)
        np.savez(npz, x=x, u=u)
        result = {"pinn-fit": figures(*run_pinn_fit(h5, tmp, args.overrides)),
                  "deepxde": figures(*run_deepxde(npz, args.iters, args.every, tmp))}
    p, d = result["pinn-fit"]["seconds_to_1pct"], result["deepxde"]["seconds_to_1pct"]
    result["speedup_to_1pct"] = d / p if p and d else None
    return result


def print_table(result, seed):
    print(f"{f'draw {seed}':>9} {'to 1 %':>8} "
          + " ".join(f"{f'@{b}s lam/nu %':>16}" for b in BUDGETS)
          + f" {'final lam/nu %':>16} {'wall s':>7}")
    for name in ("pinn-fit", "deepxde"):
        r = result[name]
        cells = [f"{e['lambda1']:.3g}/{e['nu']:.3g}" if e else "-"
                 for e in r["errors_pct_at_budget"].values()]
        fin = r["final_errors_pct"]
        to = f"{r['seconds_to_1pct']:.0f} s" if r["seconds_to_1pct"] else "never"
        print(f"{name:>9} {to:>8} " + " ".join(f"{c:>16}" for c in cells)
              + f" {fin['lambda1']:.3g}/{fin['nu']:.3g}".rjust(17) + f" {r['wall_seconds']:7.0f}")


def speedup_line(what, s, undefined):
    """The target line for the speed-up `s` (at least 5x to 1 %; None: `undefined` says why)."""
    if not s:
        return f"speed-up to 1 %{what}: not defined ({undefined})"
    return f"speed-up to 1 %{what}: {s:.2f}x (target >= 5x): {'pass' if s >= 5 else 'FAIL'}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-obs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=seeds_of,
                    help="several draws, e.g. 0-2 or 0,3: a table per draw, then the medians of "
                         "the times to 1 %% and their ratio")
    ap.add_argument("--iters", type=int, default=5000, help="DeepXDE's L-BFGS iterations")
    ap.add_argument("--every", type=int, default=50, help="DeepXDE: iterations per record")
    args = parsed(ap, argv)
    seeds = args.seeds or [args.seed]
    draws = {}
    for seed in seeds:
        draws[seed] = result = compare(args, seed)
        print_table(result, seed)
    if len(seeds) == 1:
        print(speedup_line("", result["speedup_to_1pct"], "one of them never reached 1 %"))
        print(json.dumps({"benchmark": "vs_deepxde", "n_obs": args.n_obs, "seed": seeds[0],
                          "overrides": args.overrides, **result}))
        return
    # a draw where a tool never reached 1 % counts as its slowest
    med = {name: statistics.median(r[name]["seconds_to_1pct"] or math.inf
                                   for r in draws.values()) for name in ("pinn-fit", "deepxde")}
    s = med["deepxde"] / med["pinn-fit"] if math.isfinite(med["pinn-fit"]) else None
    per = ", ".join(f"{r['speedup_to_1pct']:.2f}x" if r["speedup_to_1pct"] else "-"
                    for r in draws.values())
    shown = {k: f"{v:.1f} s" if math.isfinite(v) else "never" for k, v in med.items()}
    print(f"median time to 1 % over {len(seeds)} draws: pinn-fit {shown['pinn-fit']}, "
          f"DeepXDE {shown['deepxde']}; per draw {per}")
    print(speedup_line(" (medians)", s, "pinn-fit's median never reached it"))
    print(json.dumps({"benchmark": "vs_deepxde", "n_obs": args.n_obs, "seeds": seeds,
                      "overrides": args.overrides, "draws": draws,
                      "median_seconds_to_1pct": {k: v if math.isfinite(v) else None
                                                 for k, v in med.items()},
                      "speedup_of_medians": s if s is None or math.isfinite(s) else None}))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--deepxde-child":
        deepxde_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
