"""Coverage of the reported intervals over noise seeds (issue 5's acceptance).

Runs `pinn-fit -m seed=0..N-1 data.noise=NOISE diagnostics=full [OVERRIDE ...]` (joblib, one
process per core) and prints, per unknown, how many of the N 95 % intervals contain the truth:
the PINN's profile interval and the classical estimate ± 1.96 Cramér–Rao std, with the spread
of the PINN estimates against the Cramér–Rao std; as a table and as one JSON line.

    python benchmarks/intervals.py [--seeds 10] [--noise 0.01] [--jobs 2] [OVERRIDE ...]
    python benchmarks/intervals.py pde=burgers1d data.file=../shared/data/burgers_shock.h5
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

Z95 = 1.959963984540054


def coverage(runs):
    """{unknown: figures} from the runs' summary.json and identifiability.json."""
    out = {}
    for name in runs[0][0]["unknowns"]:
        truth = runs[0][0]["unknowns"][name]["truth"]
        est, prof_in, prof_n, flat, cl_in, cl_n, widths = [], 0, 0, 0, 0, 0, []
        for summary, ident in runs:
            est.append(summary["unknowns"][name]["estimate"])
            p = ident.get("profile", {}).get(name)
            flat += bool(p and p["flat"])
            if p and not p["flat"]:
                lo, hi = p["interval95"]
                prof_in += lo <= truth <= hi
                prof_n += 1
                widths.append(p["std"])
            c = ident.get("classical", {})
            if c.get("estimate") and c["crlb_std"].get(name) is not None:
                k, s = c["estimate"][name], c["crlb_std"][name]
                cl_in += abs(k - truth) <= Z95 * s
                cl_n += 1
        crlb = [i["classical"]["crlb_std"][name] for _, i in runs
                if i.get("classical", {}).get("crlb_std", {}).get(name) is not None]
        out[name] = {
            "truth": truth, "runs": len(runs),
            "profile_covers": prof_in, "profile_intervals": prof_n, "profile_flat": flat,
            "classical_covers": cl_in, "classical_intervals": cl_n,
            "pinn_mean": statistics.fmean(est),
            "pinn_std": statistics.stdev(est) if len(est) > 1 else None,
            "profile_std_median": statistics.median(widths) if widths else None,
            "crlb_std_median": statistics.median(crlb) if crlb else None,
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", help="sweep folder to keep (default: a temporary one)")
    ap.add_argument("overrides", nargs="*", help="extra pinn-fit overrides")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(args.keep or Path(tmp) / "sweep")
        cmd = [sys.executable, "-m", "pinn_cli", "-m", "hydra/launcher=joblib",
               f"hydra.launcher.n_jobs={args.jobs}", f"seed=range(0,{args.seeds})",
               f"data.noise={args.noise}", "diagnostics=full", "plots=false",
               f"hydra.sweep.dir={sweep}", *args.overrides]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"pinn-fit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        runs = [(json.loads((d / "summary.json").read_text()),
                 json.loads((d / "identifiability.json").read_text()))
                for d in sorted(sweep.iterdir(), key=lambda p: p.name)
                if (d / "identifiability.json").is_file()]
    result = {"benchmark": "intervals", "noise": args.noise, "overrides": args.overrides,
              "unknowns": coverage(runs)}
    print(f"{'unknown':>8} {'truth':>11} {'profile covers':>15} {'classical covers':>17} "
          f"{'flat':>5} {'PINN std':>10} {'profile std':>12} {'CRLB std':>10}")
    for k, v in result["unknowns"].items():
        fmt = lambda x: f"{x:.3g}" if x is not None else "-"  # noqa: E731
        print(f"{k:>8} {v['truth']:11.6g} {v['profile_covers']:>7}/{v['profile_intervals']:<7} "
              f"{v['classical_covers']:>8}/{v['classical_intervals']:<8} {v['profile_flat']:>5} "
              f"{fmt(v['pinn_std']):>10} {fmt(v['profile_std_median']):>12} "
              f"{fmt(v['crlb_std_median']):>10}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
