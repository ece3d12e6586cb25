"""What several test modules share: small run settings and helpers that run or compare runs.
Test modules import from here (and from conftest), never from each other."""
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pinn_cli.targets import call
from pinn_cli.training.trainer import Trainer
from pinn_cli.workflows.build import build

from conftest import QUICK, run_cli, run_dirs, summary

# --- compile=true against eager -------------------------------------------------------------
# heat1d in float64 (one compilation), causal weights on (state the compiled call writes back),
# Adam with a log row every 5 steps (per-term gradients through one graph), then L-BFGS.
COMPILE_RUN = [q for q in QUICK if not q.startswith("schedule.")] + [
    "schedule.pretrain_steps=10", "schedule.identify_steps=10", "schedule.lbfgs_steps=5",
    "log_every=5", "precision=float64", "causal.epsilon=1.0", "diagnostics=off"]


def completed_run(tmp_path_factory, args, name):
    """A run of `args` finished in a fresh folder `name`: its run folder."""
    root = tmp_path_factory.mktemp(name)
    r = run_cli(args + [f"hydra.run.dir={name}"], root)
    assert r.returncode == 0, r.stderr
    return root / name


def csv_dicts(path):
    """A CSV log's rows as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def compiled_follows_eager(tmp_path, extra=()):
    """Runs COMPILE_RUN + extra with compile=true and compile=false; their rows must agree."""
    runs, cache = {}, tmp_path / "inductor"
    for flag in ("true", "false"):
        (tmp_path / flag).mkdir()
        r = run_cli(COMPILE_RUN + [*extra, f"compile={flag}"], tmp_path / flag,
                    env={"TORCHINDUCTOR_CACHE_DIR": str(cache)})
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]
        (runs[flag],) = run_dirs(tmp_path / flag / "outputs")
    assert list(cache.rglob("*.py"))  # TorchInductor generated the kernels
    for name in ("params.csv", "losses.csv", "grad_norms.csv"):
        compiled, eager = csv_dicts(runs["true"] / name), csv_dicts(runs["false"] / name)
        assert len(compiled) == len(eager) >= 6  # rows at steps 0, 5, ..., 25
        for a, b in zip(compiled, eager):
            assert (a["step"], a["phase"]) == (b["step"], b["phase"])
            for k in b:
                if k in ("step", "phase", "elapsed_s"):
                    continue
                assert a[k] != "-0.0"
                assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-9, abs=1e-15), (name, k)
    assert csv_dicts(runs["true"] / "params.csv")[-1]["phase"] == "lbfgs"


# --- every option with every problem --------------------------------------------------------
SMALL = ["collocation.n_points=64", "collocation.n_condition_points=8", "data.n_obs=32",
         "arch.width=8", "arch.depth=2"]
VARIANTS = [f"arch={a}" for a in ("mlp", "modified_mlp", "fourier_mlp")] + \
    [f"weighting={w}" for w in ("fixed", "annealing", "grad_norm", "ntk")] + \
    [f"schedule={s}" for s in ("pretrain_identify", "joint", "lbfgs", "continuation",
                               "marching")] + \
    ["causal.epsilon=1.0", "pde.periodic_by=embedding", "scaling=on",
     "collocation.resample_every=1"]


def two_steps_per_phase(cfg, device):
    """Build a run as workflows.build does on `device`, train two steps per phase, return the
    last logged row (its step counts every phase's two steps)."""
    problem, _, net, losses, unknowns = build(cfg, device)
    schedule = call(cfg.schedule)
    schedule.check(problem)
    phases = [dataclasses.replace(p, steps=2) for p in schedule.phases]
    trainer = Trainer(net=net, unknowns=unknowns, losses=losses, weighting=call(cfg.weighting),
                      phases=phases, log_every=1)
    assert trainer.run().status == "completed"
    assert trainer.last_row.step == 2 * len(phases)
    return trainer.last_row


# --- runs stopped and resumed ---------------------------------------------------------------
# Small and deterministic on the CPU (one thread): ~5 s for 600 steps.
RESUME_RUN = ["schedule.pretrain_steps=100", "schedule.identify_steps=300",
              "schedule.lbfgs_steps=200", "arch.depth=3", "collocation.n_points=500",
              "data.n_obs=300", "plots=false", "checkpoint_every=50", "log_every=50"]
LOGS = ("params.csv", "losses.csv", "grad_norms.csv")


def csv_lines(path):
    """A CSV file's lines as lists, the header first."""
    with open(path, newline="") as f:
        return list(csv.reader(f))


def start_run(args, cwd):
    """`pinn-fit ARGS` started in the background (one thread), its output piped."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | {
        "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "pinn_cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_step(run, step, proc, timeout=120):
    """Wait until the run's checkpoint is at `step` or later (it is rewritten atomically)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        ckpt = run / "checkpoint.pt"
        if ckpt.exists():
            try:
                if torch.load(ckpt, weights_only=True)["step"] >= step:
                    return
            except Exception:  # replaced while reading: try again
                pass
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint at step {step} in {timeout} s")


def same_run(a: Path, b: Path):
    """Same logged steps in every log, and the same unknowns, to 1e-6 relative."""
    for name in LOGS:
        ra, rb = csv_lines(a / name), csv_lines(b / name)
        assert [r[0] for r in ra] == [r[0] for r in rb], name  # no step missing or twice
    for x, y in zip(csv_lines(a / "params.csv")[1:], csv_lines(b / "params.csv")[1:]):
        assert abs(float(x[3]) - float(y[3])) <= 1e-6 * abs(float(x[3]))
    ka, kb = (summary(d)["unknowns"]["k"]["estimate"] for d in (a, b))
    assert abs(ka - kb) <= 1e-6 * abs(ka)
    assert summary(b)["steps"] == summary(a)["steps"]


# --- input derivatives ----------------------------------------------------------------------
# Inputs (x, t) or (x, y, t); "pure" needs only pure second derivatives (the gather-free path),
# "mixed" adds u_xt and cross-field ones (the general path).
DOMAINS = {2: [(0, 1), (-1, 2)], 3: [(0, 1), (-1, 2), (0, 3)]}
PURE = {2: [("u", ()), ("u", (1,)), ("u", (0,)), ("u", (0, 0))],
        3: [("u", ()), ("u", (2,)), ("u", (0,)), ("u", (0, 0)), ("u", (1, 1))]}
MIXED = {2: PURE[2] + [("u", (0, 1)), ("v", (0,)), ("v", (1, 1))],
         3: PURE[3] + [("u", (0, 2)), ("v", (1,)), ("v", (1, 1)), ("v", (0, 2))]}


# --- run folders from someone else ---------------------------------------------------------
# A finished run in seconds: the run-folder mechanics of resume, not the accuracy.
TINY_RUN = QUICK + ["schedule.pretrain_steps=10", "schedule.identify_steps=20",
                    "schedule.lbfgs_steps=10", "diagnostics=off", "checkpoint_every=10"]


def mark_stopped(run: Path) -> None:
    """Make a run look stopped (as after kill -9): resume continues it."""
    (run / "summary.json").write_text(json.dumps(summary(run) | {"status": "running"}))


def stopped_copy(finished: Path, tmp_path: Path) -> Path:
    """A copy of a finished run that looks stopped: resume continues it."""
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    mark_stopped(run)
    return run


def refused(r, message):
    """`r` ended with exit 2 and one message holding `message`, without a traceback."""
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and message in out and "Traceback" not in out, out
