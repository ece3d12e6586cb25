"""Coverage of the reported 95 % intervals over noise seeds: how many contain the truth.

Runs `pinn-fit -m seed=0..N-1 data.noise=NOISE diagnostics=full [OVERRIDE ...]` (joblib, one
process per core) and prints, per unknown, how many of the N 95 % intervals contain the truth:
the reported interval (identifiability.json's `interval`: the profile with the network's own error
added, pinn_cli.diagnostics.verdicts.interval), the profile's noise-only interval,
and the classical estimate ± 1.96 Cramér–Rao std, with the spread of the PINN estimates against
the Cramér–Rao std; as a table and as one JSON line. `--rescore SWEEP` scores the run folders of
an earlier sweep instead of running one.

    python benchmarks/intervals.py [--seeds 10] [--first-seed 0] [--noise 0.01] [--jobs 2] [OVERRIDE ...]
    python benchmarks/intervals.py pde=burgers1d data.file=data/burgers_shock.h5
    python benchmarks/intervals.py --rescore multirun/DATE/TIME
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pinn_cli.diagnostics.profile import Z95


def coverage(runs):
    """{unknown: figures} from the runs' summary.json and identifiability.json."""
    out = {}
    for name in runs[0][0]["unknowns"]:
        truth = runs[0][0]["unknowns"][name]["truth"]
        est, prof_in, prof_n, flat, cl_in, cl_n, widths = [], 0, 0, 0, 0, 0, []
        rep_in, totals = 0, []
        for summary, ident in runs:
            est.append(summary["unknowns"][name]["estimate"])
            p = ident.get("profile", {}).get(name)
            c = ident.get("classical", {})
            flat += bool(p and p["flat"])
            if p and not p["flat"]:
                lo, hi = p["interval95"]
                prof_in += lo <= truth <= hi
                prof_n += 1
                widths.append(p["std"])
            reported = ident.get("interval", {}).get(name) or {}
            if reported.get("interval95"):
                lo, hi = reported["interval95"]
                rep_in += lo <= truth <= hi
                totals.append(reported["std"])
            if c.get("estimate") and c["crlb_std"].get(name) is not None:
                k, s = c["estimate"][name], c["crlb_std"][name]
                cl_in += abs(k - truth) <= Z95 * s
                cl_n += 1
        crlb = [i["classical"]["crlb_std"][name] for _, i in runs
                if i.get("classical", {}).get("crlb_std", {}).get(name) is not None]
        out[name] = {
            "truth": truth, "runs": len(runs),
            "reported_covers": rep_in, "reported_intervals": len(totals), "profile_covers": prof_in, "profile_intervals": prof_n,
            "profile_flat": flat,
            "classical_covers": cl_in, "classical_intervals": cl_n,
            "pinn_mean": statistics.fmean(est),
            "pinn_std": statistics.stdev(est) if len(est) > 1 else None,
            "profile_std_median": statistics.median(widths) if widths else None,
            "reported_std_median": statistics.median(totals) if totals else None,
            "crlb_std_median": statistics.median(crlb) if crlb else None,
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds FIRST..FIRST+SEEDS-1")
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", help="sweep folder to keep (default: a temporary one)")
    ap.add_argument("--rescore", help="score this earlier sweep folder instead of running one")
    ap.add_argument("overrides", nargs="*", help="extra pinn-fit overrides")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(args.rescore or args.keep or Path(tmp) / "sweep")
        cmd = [sys.executable, "-m", "pinn_cli", "-m", "hydra/launcher=joblib",
               f"hydra.launcher.n_jobs={args.jobs}", f"seed=range({args.first_seed},{args.first_seed + args.seeds})",
               f"data.noise={args.noise}", "diagnostics=full", "plots=false",
               f"hydra.sweep.dir={sweep}", *args.overrides]
        proc = None if args.rescore else subprocess.run(cmd, capture_output=True, text=True)
        if proc is not None and proc.returncode != 0:
            sys.exit(f"pinn-fit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        runs = [(json.loads((d / "summary.json").read_text()),
                 json.loads((d / "identifiability.json").read_text()))
                for d in sorted(sweep.iterdir(), key=lambda p: p.name)
                if (d / "identifiability.json").is_file()]
    result = {"benchmark": "intervals", "noise": args.noise, "overrides": args.overrides,
              "unknowns": coverage(runs)}
    print(f"{'unknown':>8} {'truth':>11} {'reported covers':>16} {'profile covers':>15} "
          f"{'classical covers':>17} {'flat':>5} {'PINN std':>10} {'reported std':>13} "
          f"{'profile std':>12} {'CRLB std':>10}")
    for k, v in result["unknowns"].items():
        fmt = lambda x: f"{x:.3g}" if x is not None else "-"  # noqa: E731
        print(f"{k:>8} {v['truth']:11.6g} {v['reported_covers']:>8}/{v['reported_intervals']:<7} "
              f"{v['profile_covers']:>7}/{v['profile_intervals']:<7} "
              f"{v['classical_covers']:>8}/{v['classical_intervals']:<8} {v['profile_flat']:>5} "
              f"{fmt(v['pinn_std']):>10} {fmt(v['reported_std_median']):>13} "
              f"{fmt(v['profile_std_median']):>12} "
              f"{fmt(v['crlb_std_median']):>10}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
