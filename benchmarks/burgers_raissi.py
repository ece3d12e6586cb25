"""Raissi et al.'s Burgers identification with the shipped defaults.

Runs `pinn-fit pde=burgers1d data.file=<burgers_shock.h5> data.n_obs=2000` and prints, from the
run folder, the wall time until both unknowns are within 1 % of the truth and the final errors,
as a table and as one JSON line.

    python benchmarks/burgers_raissi.py [--file ../shared/data/burgers_shock.h5] [OVERRIDE ...]
"""
import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def first_within(rows, truth, tol):
    """Elapsed seconds of the first logged row with every unknown within `tol` (relative)."""
    for r in rows:
        if all(abs(float(r[k]) - t) <= tol * abs(t) for k, t in truth.items()):
            return float(r["elapsed_s"])
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(REPO.parent / "shared" / "data" / "burgers_shock.h5"))
    ap.add_argument("overrides", nargs="*", help="extra pinn-fit overrides")
    args = ap.parse_args(argv)
    if not Path(args.file).is_file():
        sys.exit(f"{args.file} not found; pass --file PATH to Raissi's burgers_shock.h5")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "pinn_cli", "pde=burgers1d", f"data.file={args.file}",
               "data.n_obs=2000", "plots=false", f"hydra.run.dir={run}", *args.overrides]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"pinn-fit failed:\n{proc.stdout}\n{proc.stderr}")
        summary = json.loads((run / "summary.json").read_text())
        with open(run / "params.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    truth = {k: v["truth"] for k, v in summary["unknowns"].items()}
    result = {
        "benchmark": "burgers_raissi", "n_obs": 2000, "overrides": args.overrides,
        "wall_seconds": summary["wall_seconds"], "steps": summary["steps"],
        "seconds_to_1pct": first_within(rows, truth, 0.01),
        "seconds_to_0.1pct": first_within(rows, truth, 0.001),
        "estimates": {k: v["estimate"] for k, v in summary["unknowns"].items()},
        "rel_errors_pct": {k: 100 * v["rel_error"] for k, v in summary["unknowns"].items()},
    }
    print(f"{'unknown':>8} {'truth':>12} {'estimate':>12} {'error %':>9}")
    for k, v in summary["unknowns"].items():
        print(f"{k:>8} {v['truth']:12.6g} {v['estimate']:12.6g} {100 * v['rel_error']:9.4f}")
    print(f"time to both within 1 %: {result['seconds_to_1pct']} s (logged every "
          f"log_every steps); total {summary['wall_seconds']:.1f} s, steps {summary['steps']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
