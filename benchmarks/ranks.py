"""Data-parallel scaling: the same fit in one process and under `torchrun --nproc_per_node=N`
(gloo on CPUs, NCCL with device=cuda), one after the other in one invocation. Prints per
number of ranks the process wall time, the median seconds per step of each phase (from
params.csv: the rows of each phase after its first one), residual points per second, the
parallel efficiency t_1 / (N t_N) per phase, the time until every unknown stays within 1 % of
its truth (when the run gets there), and the final errors; as a table and as one JSON line.

    python benchmarks/ranks.py [--ranks 1,2] [OVERRIDE ...]
    python benchmarks/ranks.py --ranks 1,2 pde=navier_stokes2d_periodic

Defaults: burgers2d_periodic at 10^5 residual points, a short pretrain / identify / L-BFGS
schedule (the per-step figures, not the accuracy), one thread per rank.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT = ["pde=burgers2d_periodic", "collocation.n_points=100000", "schedule=pretrain_identify",
           "schedule.pretrain_steps=60", "schedule.identify_steps=60", "schedule.lbfgs_steps=40",
           "log_every=10", "threads=1"]


def launch(n_ranks, overrides, folder):
    """(process wall seconds, the run's params.csv rows, summary.json)."""
    head = [sys.executable, "-m", "pinn_cli"] if n_ranks == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         f"--nproc_per_node={n_ranks}", "-m", "pinn_cli"]
    start = time.perf_counter()
    proc = subprocess.run([*head, *overrides, "plots=false", "diagnostics=off",
                           f"hydra.run.dir={folder}"], capture_output=True, text=True,
                          env=os.environ | {"OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{n_ranks} rank(s) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    with open(folder / "params.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return wall, rows, json.loads((folder / "summary.json").read_text())


def seconds_per_step(rows) -> dict:
    """{phase: median seconds per step}, each phase's first interval left out (its set-up)."""
    out, first = {}, {}
    for i, r in enumerate(rows):
        first.setdefault(r["phase"], i)
    for i, (a, b) in enumerate(zip(rows, rows[1:])):
        if a["phase"] == b["phase"] and first[a["phase"]] != i and int(b["step"]) > int(a["step"]):
            out.setdefault(a["phase"], []).append(
                (float(b["elapsed_s"]) - float(a["elapsed_s"])) / (int(b["step"]) - int(a["step"])))
    return {p: statistics.median(v) for p, v in out.items()}


def seconds_to_1pct(rows, truth) -> float | None:
    """Training seconds from which every unknown stays within 1 % of its truth."""
    inside = None
    for r in rows:
        ok = all(abs(float(r[k]) - t) <= 0.01 * abs(t) for k, t in truth.items())
        inside = (inside if inside is not None else float(r["elapsed_s"])) if ok else None
    return inside


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", default="1,2", help="numbers of ranks, comma-separated")
    ap.add_argument("overrides", nargs="*", default=DEFAULT)
    args = ap.parse_args(argv)
    counts = [int(n) for n in args.ranks.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            wall, rows, summary = launch(n, args.overrides, Path(tmp) / f"ranks{n}")
            truth = {k: u["truth"] for k, u in summary["unknowns"].items()
                     if u.get("truth") is not None}
            results[n] = {"wall_s": round(wall, 1), "s_per_step": seconds_per_step(rows),
                          "points": None, "seconds_to_1pct": seconds_to_1pct(rows, truth),
                          "rel_errors_pct": {k: None if u.get("rel_error") is None else
                                             round(100 * u["rel_error"], 4)
                                             for k, u in summary["unknowns"].items()}}
    points = next((int(o.split("=", 1)[1]) for o in args.overrides
                   if o.startswith("collocation.n_points=")), 2000)
    base = results[counts[0]]
    print(f"{' '.join(args.overrides)}: data-parallel ranks (torchrun), one run after the other")
    print(f"{'ranks':>5}{'wall s':>8}  {'phase':<10}{'s/step':>9}{'points/s':>11}"
          f"{'efficiency':>12}{'to 1 %':>9}  errors")
    for n, r in results.items():
        for phase, s in r["s_per_step"].items():
            b = base["s_per_step"].get(phase)
            eff = b * counts[0] / (n * s) if b else None
            r.setdefault("efficiency", {})[phase] = eff
            to1 = f"{r['seconds_to_1pct']:.1f}" if r["seconds_to_1pct"] is not None else "-"
            print(f"{n:>5}{r['wall_s']:8.1f}  {phase:<10}{s:9.4f}{points / s:11.0f}"
                  f"{100 * eff:11.0f}%{to1:>9}  {r['rel_errors_pct']}")
        r["points"] = points
    print(json.dumps({"benchmark": "ranks", "overrides": args.overrides, "runs": results}))


if __name__ == "__main__":
    main()
