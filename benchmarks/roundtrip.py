"""pinn-data then pinn-fit for every shipped problem: a truth other than the shipped one, 1 %
noise, a sensor layout, and the shipped training defaults. Prints a Markdown table (the "Round
trips" table of docs/benchmarks.md) and one JSON line.

    python benchmarks/roundtrip.py [--jobs 2] [--only heat1d,burgers2d]

Each fit uses one torch thread; --jobs runs that many at once (wall times are then those of a
machine running --jobs fits).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = {  # problem -> (pinn-data overrides, extra pinn-fit overrides)
    "heat1d": (["pde.reference.truth.k=0.2", "sampling=sensors", "n_sensors=8"], []),
    "burgers1d": (["pde.reference.truth.nu=0.005", "sampling=scattered", "n_points=2000"], []),
    "burgers2d": (["pde.reference.truth.nu=0.02", "sampling=scattered", "n_points=2000"],
                  ["weighting=annealing"]),
    "convection": (["pde.reference.truth.beta=20"], ["+weighting.weights.data=100"]),
    "oscillator": (["pde.reference.truth.c=0.6", "pde.reference.truth.k=2.5",
                    "sampling=scattered", "n_points=100"], []),
    "lotka_volterra": (["pde.reference.truth.alpha=1.2", "pde.reference.truth.beta=0.15",
                        "pde.reference.truth.gamma=0.8", "pde.reference.truth.delta=0.04",
                        "sampling=scattered", "n_points=150"], []),
    "reaction_diffusion": (["pde.reference.truth.D=0.15", "pde.reference.truth.r=0.6",
                            "sampling=sensors", "n_sensors=12"], []),
    "navier_stokes2d": (["pde.reference.truth.lambda1=0.5", "pde.reference.truth.nu=0.05",
                         "sampling=scattered", "n_points=1000"], []),
}


def run(problem, folder: Path) -> dict:
    made, extra = CASES[problem]
    folder.mkdir()
    subprocess.run([str(BIN / "pinn-data"), f"pde={problem}", *made, "noise=0.01",
                    "out=made.h5"], cwd=folder, check=True, capture_output=True)
    proc = subprocess.run([str(BIN / "pinn-fit"), f"pde={problem}", "data.file=made.h5",
                           "data.n_obs=null", "plots=false", "hydra.run.dir=run", *extra],
                          cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"problem": problem, "error": proc.stderr[-500:]}
    s = json.loads((folder / "run" / "summary.json").read_text())
    return {"problem": problem, "data": " ".join(made) + " noise=0.01", "fit": " ".join(extra),
            "unknowns": s["unknowns"], "wall_s": s["wall_seconds"],
            "verdicts": (s.get("identifiability") or {}).get("verdicts", {})}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default=",".join(CASES))
    args = ap.parse_args(argv)
    problems = args.only.split(",")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: run(p, Path(tmp) / p), problems))
    print("| problem | pinn-data (truth, sampling; noise 1 %) | pinn-fit extra | recovered "
          "(relative error) | wall s |")
    print("|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['problem']} | failed: {r['error']!r} | | | |")
            continue
        got = ", ".join(f"{k} = {u['estimate']:.5g} (truth {u['truth']:g}, "
                        f"{100 * u['rel_error']:.3g} %)" for k, u in r["unknowns"].items())
        print(f"| {r['problem']} | `{r['data']}` | `{r['fit']}` | {got} | {r['wall_s']:.0f} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
