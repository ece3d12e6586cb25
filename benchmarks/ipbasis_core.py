"""IP-Basis PINNs (Manor & Kohandel 2025; pinn_cli.basis), library level: for the damped
oscillator and heat1d, the offline time of one basis, then the wall time and the error of
`--queries` inverse queries with truths drawn inside the basis's range and 3 outside it.

    python benchmarks/ipbasis_core.py [--queries 20] [--noise 0.0] [--threads 1]

Each query observes `n_obs` random nodes of the reference solution (pde.reference) at its truth,
with Gaussian noise of `--noise` × std(field). The settings are those of tests/test_basis.py,
which adds the reference solvers' initial conditions to both problems (a basis needs
conditions). Per-query time covers everything fit_query does: the linearity check, the one
forward-mode pass of R, the variable-projection fit. Prints a table, then one JSON line.
"""
import argparse
import json
import platform
import time

import numpy as np
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from pinn_cli.basis import fit_query, query_points, reference_observations, train_basis
from pinn_cli.config import register
from pinn_cli.fit import call

CASES = {
    "oscillator": {
        "conditions": {"x0": {"at": {"t": 0.0}, "equation": "x - 1"},
                       "v0": {"at": {"t": 0.0}, "equation": "x_t"}},
        "ranges": {"c": {"lo": 0.2, "hi": 0.8}, "k": {"lo": 2.0, "hi": 6.0}},
        "dtype": torch.float32,
        "train": dict(n_basis=16, n_readouts=16, steps=2000, lr=3e-3, width=32, depth=3,
                      activation="sin", n_points=256, n_condition_points=1, validate_every=500,
                      n_obs=50),
        "points": (256, 1), "n_obs": 50, "weights": None,
        "outside": [{"c": 0.4, "k": 8.0}, {"c": 1.1, "k": 4.0}, {"c": 0.4, "k": 1.5}],
    },
    "heat1d": {
        "conditions": {"initial": {"at": {"t": 0.0},
                                   "equation": "u - sin(pi*x) - 0.5*sin(3*pi*x)"}},
        "ranges": {"k": {"lo": 0.05, "hi": 0.2, "sampling": "log"}},
        "dtype": torch.float64,
        "train": dict(n_basis=16, n_readouts=8, steps=500, lbfgs_steps=500, lr=3e-3, width=32,
                      depth=3, n_points=400, n_condition_points=32, validate_every=250,
                      n_obs=100, query_options={"weights": {"data": 100.0}}),
        "points": (400, 32), "n_obs": 231, "weights": {"data": 100.0},
        "outside": [{"k": 0.3}, {"k": 0.03}, {"k": 0.25}],
    },
}


def problem(name, conditions):
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"pde={name}"])
    spec = OmegaConf.to_container(cfg.pde, resolve=True, enum_to_str=True)
    spec["conditions"] = (spec.get("conditions") or {}) | conditions
    return call(OmegaConf.create(spec))


def run(name, case, n_queries, noise, seed=0):
    torch.set_default_dtype(case["dtype"])
    p = problem(name, case["conditions"])
    t0 = time.perf_counter()
    basis = train_basis(p, case["ranges"], seed=seed, **case["train"])
    offline = time.perf_counter() - t0
    colloc, cond = query_points(p, *case["points"], seed=seed + 99)
    u = torch.quasirandom.SobolEngine(len(basis.ranges), scramble=True, seed=seed + 1).draw(
        n_queries).double()
    inside = [{k: float(r.value(u[i, j])) for j, (k, r) in enumerate(basis.ranges.items())}
              for i in range(n_queries)]
    rows = []
    for i, truth in enumerate(inside + case["outside"]):
        obs_x, obs_y = reference_observations(p, truth, case["n_obs"], seed + 1000 + i, noise)
        r = fit_query(basis, p, obs_x, obs_y, p.outputs, colloc, cond, weights=case["weights"])
        rows.append({"inside": i < n_queries, "truth": truth, "estimates": r["estimates"],
                     "rel_error": max(abs(r["estimates"][k] / v - 1) for k, v in truth.items()),
                     "seconds": r["wall_seconds"], "method": r["method"],
                     "flagged": bool(r["warnings"])})
    ins = [q for q in rows if q["inside"]]
    out = [q for q in rows if not q["inside"]]
    return {"problem": name, "offline_s": round(offline, 2),
            "best_step": basis.history["best_step"], "steps": basis.history["steps"],
            "queries_inside": len(ins),
            "query_ms_median": round(1e3 * float(np.median([q["seconds"] for q in rows])), 1),
            "query_ms_max": round(1e3 * max(q["seconds"] for q in rows), 1),
            "err_inside_median_pct": round(100 * float(np.median([q["rel_error"] for q in ins])),
                                           3),
            "err_inside_max_pct": round(100 * max(q["rel_error"] for q in ins), 3),
            "err_inside_unflagged_max_pct": round(100 * max(
                [q["rel_error"] for q in ins if not q["flagged"]], default=float("nan")), 3),
            "flagged_inside": sum(q["flagged"] for q in ins),
            "queries_outside": len(out),
            "flagged_outside": sum(q["flagged"] for q in out),
            "err_outside_pct": [round(100 * q["rel_error"], 2) for q in out],
            "method": rows[0]["method"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=20, help="queries inside the range")
    ap.add_argument("--noise", type=float, default=0.0, help="noise std, fraction of std(field)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    register()
    results = [run(name, case, args.queries, args.noise) for name, case in CASES.items()]
    cols = ["problem", "offline_s", "query_ms_median", "query_ms_max", "err_inside_median_pct",
            "err_inside_max_pct", "err_inside_unflagged_max_pct", "flagged_inside",
            "flagged_outside", "err_outside_pct"]
    print(" | ".join(cols))
    for r in results:
        print(" | ".join(str(r[c]) for c in cols))
    print(json.dumps({"benchmark": "ipbasis_core", "noise": args.noise, "threads": args.threads,
                      "torch": torch.__version__, "host": platform.node(), "results": results}))


if __name__ == "__main__":
    main()
