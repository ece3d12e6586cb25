"""Peak memory of a burgers2d fit with many residual points (target: 20 000 points < 2 GB).

Runs a few steps of `pinn-fit pde=burgers2d collocation.n_points=N` in a child process per
derivative engine and prints the child's peak resident memory (ru_maxrss), or with device=cuda
the GPU's peak (summary.json's peak_gpu_memory_gb), and training time, as a table and as one JSON
line. `--steps` Adam steps then `--lbfgs-steps` L-BFGS steps (an
L-BFGS step evaluates the loss up to 25 times but keeps one graph at a time, hence fewer).

    python benchmarks/memory.py [--points 20000] [--steps 10] [--lbfgs-steps 2] [OVERRIDE ...]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_GB = 2.0


# Runs the command in a grandchild and prints that one's peak RSS: ru_maxrss of RUSAGE_CHILDREN
# is a running maximum over every child waited for, so each engine gets a fresh parent.
WRAP = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True,"
        " text=True); sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:]);"
        " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)")


def peak_of(cmd):
    """(completed process, peak RSS of the command in GB, seconds)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    kib = int(proc.stdout.split()[-1]) if proc.stdout.split() else 0  # KiB on Linux
    return proc, kib / 2 ** 20, seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lbfgs-steps", type=int, default=2)
    ap.add_argument("overrides", nargs="*", help="extra pinn-fit overrides")
    args = ap.parse_args(argv)
    rows = []
    for engine in ("taylor", "autograd"):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pinn_cli", "pde=burgers2d",
                   f"collocation.n_points={args.points}", f"derivatives={engine}",
                   "schedule.pretrain_steps=0", f"schedule.identify_steps={args.steps}",
                   f"schedule.lbfgs_steps={args.lbfgs_steps}", "diagnostics=off", "plots=false",
                   "checkpoint_every=0", f"hydra.run.dir={Path(tmp) / 'run'}", *args.overrides]
            proc, peak, seconds = peak_of(cmd)
            if proc.returncode != 0:
                sys.exit(f"pinn-fit failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
        gpu = summary.get("peak_gpu_memory_gb")  # device=cuda: the GPU's peak, not the RSS
        rows.append({"engine": engine, "points": args.points,
                     "peak_gb": gpu if gpu is not None else round(peak, 3),
                     "memory": "gpu" if gpu is not None else "rss", "rss_gb": round(peak, 3),
                     "wall_seconds": round(seconds, 1),
                     "training_seconds": summary["wall_seconds"],
                     "pass": peak < LIMIT_GB})
    print(f"{'engine':>9} {'points':>7} {'memory':>6} {'peak GB':>8} {'train s':>8}  < {LIMIT_GB} GB")
    for r in rows:
        print(f"{r['engine']:>9} {r['points']:>7} {r['memory']:>6} {r['peak_gb']:8.3f} "
              f"{r['training_seconds']:8.1f}  {'pass' if r['pass'] else 'FAIL'}")
    print(json.dumps({"benchmark": "memory", "limit_gb": LIMIT_GB, "rows": rows}))


if __name__ == "__main__":
    main()
