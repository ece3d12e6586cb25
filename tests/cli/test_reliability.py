"""Runs that survive: checkpoints, resume after kill -9 or Ctrl-C, sweeps that resume, divergence
retries. Each guarantee in docs/reliability.md names its test here."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import run_cli, run_dirs, summary
from support import (LOGS, RESUME_RUN, completed_run, csv_lines, same_run, start_run,
                     wait_for_step)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return completed_run(tmp_path_factory, RESUME_RUN, "full")


def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path, uninterrupted):
    proc = start_run(RESUME_RUN + ["hydra.run.dir=cut"], tmp_path)
    wait_for_step(tmp_path / "cut", 250, proc)  # mid-way through the identify phase
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait()
    assert summary(tmp_path / "cut")["status"] == "running"
    r = run_cli(["resume=cut"], tmp_path)
    assert r.returncode == 0, r.stderr
    s = summary(tmp_path / "cut")
    assert s["status"] == "completed" and s["resumed_from_step"] >= 250
    same_run(uninterrupted, tmp_path / "cut")


def test_sigint_checkpoints_then_resume_equals_uninterrupted_run(tmp_path, uninterrupted):
    proc = start_run(RESUME_RUN + ["hydra.run.dir=cut"], tmp_path)
    wait_for_step(tmp_path / "cut", 450, proc)  # in the L-BFGS phase
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "Traceback" not in out
    s = summary(tmp_path / "cut")
    assert s["status"] == "interrupted"
    stopped = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["step"]
    assert stopped >= 450  # the checkpoint holds the step it stopped at
    assert run_cli(["resume=cut"], tmp_path).returncode == 0
    same_run(uninterrupted, tmp_path / "cut")


def test_resume_of_a_finished_run_changes_nothing(tmp_path, uninterrupted):
    before = {n: (uninterrupted / n).read_bytes() for n in LOGS + ("summary.json",)}
    r = run_cli([f"resume={uninterrupted}"], tmp_path)
    assert r.returncode == 0 and "nothing to resume" in r.stdout + r.stderr
    assert {n: (uninterrupted / n).read_bytes() for n in before} == before


@pytest.mark.parametrize("args,message", [
    (["resume=nowhere"], "resume=nowhere: no overrides.yaml there"),
    (["resume=RUN", "seed=3"], "resume continues a run with its own config; drop ['seed=3']"),
    (["-m", "resume=RUN"], "no multirun.yaml there"),
])
def test_resume_errors_name_the_fix(tmp_path, uninterrupted, args, message):
    r = run_cli([a.replace("RUN", str(uninterrupted)) for a in args], tmp_path)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and message in out and "Traceback" not in out


def test_resumed_sweep_skips_finished_jobs(tmp_path):
    tiny = [a.replace("identify_steps=300", "identify_steps=100") for a in RESUME_RUN]
    r = run_cli(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *tiny, "seed=0,1",
                 "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    done, lost = tmp_path / "sweep" / "0", tmp_path / "sweep" / "1"
    kept = (done / "summary.json").read_bytes()
    for name in ("summary.json", "checkpoint.pt", *LOGS):  # job 1 "died before it started"
        (lost / name).unlink()
    r = run_cli(["-m", "resume=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Joblib.Parallel" in r.stdout + r.stderr  # the sweep's own launcher again
    assert (done / "summary.json").read_bytes() == kept  # skipped
    assert summary(lost)["status"] == "completed" and len(run_dirs(tmp_path / "sweep")) == 2


DIVERGING = ["schedule.pretrain_steps=5", "schedule.identify_steps=50",
             "schedule.lbfgs_steps=0", "schedule.unknowns_lr=1e4", "plots=false", "log_every=10",
             "checkpoint_every=10"]


def test_divergence_retry_restores_checkpoint_with_lower_rates(tmp_path):
    r = run_cli(DIVERGING + ["on_divergence=retry", "retry_lr_factor=1e-4"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed" and len(s["retries"]) == 1
    assert s["retries"][0]["phase"] == "identify" and s["retries"][0]["terms"]
    steps = [int(r[0]) for r in csv_lines(run / "params.csv")[1:]]
    assert steps == sorted(set(steps))  # the diverged attempt's rows were rolled back


def test_divergence_retries_are_bounded_then_recorded(tmp_path):
    r = run_cli(DIVERGING + ["on_divergence=retry", "max_retries=2"], tmp_path)
    assert r.returncode == 3
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "diverged" and len(s["retries"]) == 2
    assert s["diverged_at"]["phase"] == "identify" and s["diverged_at"]["step"] >= 5
    assert s["diverged_at"]["terms"]


FULL_DISK = """
import errno, sys
import pinn_cli.io.record as record
def row(self, r):
    if r.step >= 20:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.dir / "params.csv"))
    ROW(self, r)
ROW, record.RunRecorder.row = record.RunRecorder.row, row
from pinn_cli.cli.app import main
sys.argv = ["pinn-fit", *sys.argv[1:]]
main()
"""


def test_disk_full_gives_one_message_and_keeps_what_was_written(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    r = subprocess.run([sys.executable, "-c", FULL_DISK, *RESUME_RUN, "log_every=10",
                        "hydra.run.dir=run"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "Traceback" not in out
    assert "No space left on device; free disk space or write elsewhere" in out
    s = summary(tmp_path / "run")
    assert s["status"] == "failed" and "No space left" in s["error"]
    assert [row[0] for row in csv_lines(tmp_path / "run" / "params.csv")] == ["step", "0", "10"]


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a read-only /sys (Linux)")
@pytest.mark.parametrize("args", [["hydra.run.dir=/sys/pinn-fit-run"],
                                  ["-m", "seed=0,1", "hydra.sweep.dir=/sys/pinn-fit-sweep"]])
def test_unwritable_output_folder_gives_one_message(tmp_path, args):
    """/sys refuses new folders even to root, like a read-only disk."""
    r = run_cli(args, tmp_path)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "Traceback" not in out
    assert "cannot write the output folder /sys/pinn-fit-" in out
    assert list(tmp_path.iterdir()) == []
