"""Whole runs with and without `compile=true` (torch.compile of the loss terms), one after the
other in one invocation: `pinn-fit OVERRIDES compile=false`, then `compile=true` with an empty
TorchInductor cache (a first run: everything compiles), then `compile=true` again (the kernels
from the disk cache). Prints per run the wall time of the process (start-up and compilation
included), the steps per phase, the median ms per step once compiled (from params.csv: the
rows of each phase after its first one), the ratio of each to the eager run, and the final
estimates, as a table and as one JSON line.

    python benchmarks/compile.py [pde=burgers1d] [OVERRIDE ...]
    python benchmarks/compile.py pde=burgers2d weighting=annealing

Defaults: burgers1d with its shipped defaults and data. Float32 iterates differ in the last
digits once compiled (the kernels round differently), so the step counts of an L-BFGS phase
that stops on its own may differ between the runs.
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


def run(overrides, folder, env):
    """(process wall seconds, summary.json, median ms per step after each phase's first row)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pinn_cli", *overrides, "plots=false",
                           "diagnostics=off", f"hydra.run.dir={folder}"],
                          capture_output=True, text=True, env=os.environ | env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"pinn-fit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    with open(folder / "params.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    firsts = {}  # phase -> index of its first row
    for i, r in enumerate(rows):
        firsts.setdefault(r["phase"], i)
    per_step = [1000 * (float(b["elapsed_s"]) - float(a["elapsed_s"]))
                / (int(b["step"]) - int(a["step"]))
                for i, (a, b) in enumerate(zip(rows, rows[1:]))
                if a["phase"] == b["phase"] and firsts[a["phase"]] != i
                and int(b["step"]) > int(a["step"])]  # compilation is in each phase's first
    summary = json.loads((folder / "summary.json").read_text())
    return wall, summary, statistics.median(per_step) if per_step else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", default=["pde=burgers1d"])
    args = ap.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = {"TORCHINDUCTOR_CACHE_DIR": str(Path(tmp) / "inductor")}
        for name, flag in (("eager", "false"), ("compiled, first run", "true"),
                           ("compiled, cached", "true")):
            folder = Path(tmp) / name.replace(", ", "_").replace(" ", "_")
            wall, summary, ms = run([*args.overrides, f"compile={flag}"], folder, cache)
            results[name] = {"wall_s": round(wall, 1), "steps": summary["steps"],
                             "ms_per_step": ms,
                             "estimates": {k: u["estimate"] for k, u in summary["unknowns"].items()},
                             "rel_errors": {k: u.get("rel_error")
                                            for k, u in summary["unknowns"].items()}}
    base = results["eager"]
    print(f"{' '.join(args.overrides)}: torch.compile of the loss terms, runs one after the other")
    print(f"{'run':<20}{'wall s':>8}{'x eager':>9}{'ms/step':>9}{'x eager':>9}  steps; errors")
    for name, r in results.items():
        ms = f"{r['ms_per_step']:9.1f}{base['ms_per_step'] / r['ms_per_step']:9.2f}" \
            if r["ms_per_step"] and base["ms_per_step"] else f"{'-':>9}{'-':>9}"
        errors = ", ".join(f"{k} {100 * e:.3f} %" if e is not None else f"{k} {r['estimates'][k]:.6g}"
                           for k, e in r["rel_errors"].items())
        print(f"{name:<20}{r['wall_s']:8.1f}{base['wall_s'] / r['wall_s']:9.2f}{ms}  "
              f"{r['steps']}; {errors}")
    print(json.dumps({"benchmark": "compile", "overrides": args.overrides, "runs": results}))


if __name__ == "__main__":
    main()
