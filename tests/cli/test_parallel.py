"""Data-parallel fits under torchrun (gloo, two CPU processes): rank 0 writes the one run folder,
and the two ranks take the steps one process takes, beyond rounding; a stop asked of the
launcher ends both ranks at one step with a checkpoint that one process resumes."""
import contextlib
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import run_cli, run_dirs, summary
from support import csv_lines, wait_for_step

# float64, and short enough that rounding differences (which an optimiser amplifies along its
# trajectory, as with any change of summation order) stay far below the tolerance
SHORT = ["precision=float64", "schedule=pretrain_identify", "schedule.pretrain_steps=100", "schedule.identify_steps=200",
         "schedule.lbfgs_steps=10", "arch.depth=3", "arch.width=20", "collocation.n_points=500",
         "data.n_obs=300", "plots=false", "diagnostics=off", "log_every=50"]


def torchrun(args, cwd, env=None):
    """`torchrun --nproc_per_node=2 -m pinn_cli ARGS` in `cwd`, started (a Popen)."""
    full = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | (env or {})
    return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node=2", "-m", "pinn_cli", *args], cwd=cwd, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def same_steps(one, two):
    """Every logged loss term and unknown of run `two` equals run `one`'s to 1e-6 relative."""
    for name in ("losses.csv", "params.csv"):
        ra, rb = csv_lines(one / name), csv_lines(two / name)
        assert ra[0] == rb[0] and [r[0] for r in ra] == [r[0] for r in rb], name
        for x, y in zip(ra[1:], rb[1:]):
            for col, u, v in zip(ra[0][3:], x[3:], y[3:]):
                assert close(float(u), float(v)), (name, x[0], col, u, v)
    for k, r in summary(one)["unknowns"].items():
        assert close(r["estimate"], summary(two)["unknowns"][k]["estimate"]), k


class _OneProcess(dict):
    """The short run of a problem in one process, made when first asked for: its run folder."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def __missing__(self, pde):
        r = run_cli([f"pde={pde}", *SHORT, f"hydra.run.dir={pde}"], self.root)
        assert r.returncode == 0, r.stderr
        self[pde] = self.root / pde
        return self[pde]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    return _OneProcess(tmp_path_factory.mktemp("one"))


# burgers1d's pair is in CI's short slow form (the fast suite's budget)
@pytest.mark.parametrize("pde", ["heat1d", pytest.param("burgers1d", marks=pytest.mark.slow)])
def test_two_ranks_take_the_steps_of_one_process(tmp_path, pde, one_process):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = torchrun([f"pde={pde}", *SHORT, "hydra.run.dir=two"], tmp_path,
                    env={"TMPDIR": str(scratch)})
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    assert "shared by 2 ranks (data-parallel)" in out
    same_steps(one_process[pde], tmp_path / "two")
    assert summary(tmp_path / "two")["ranks"] == 2 and summary(one_process[pde])["ranks"] == 1
    # rank 1 wrote nothing: one run folder, its own Hydra folder removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp", "two"]
    assert not list(scratch.glob("pinn-fit-*"))


def signalled(pids, sig):
    """Send `sig` to the processes `pids` while they are frozen (SIGSTOP), so that it is
    handled at the step where they stand however busy the machine is, not after a run that
    ended first; then let them go on."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    for pid in pids:
        os.kill(pid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def test_a_stopped_two_rank_run_resumes_in_one_process(tmp_path, one_process):
    proc = torchrun(["pde=heat1d", *SHORT, "checkpoint_every=25", "hydra.run.dir=two"], tmp_path)
    wait_for_step(tmp_path / "two", 25, proc)
    # SIGTERM to every rank, as torchrun passes it on (a terminal's Ctrl-C reaches each rank)
    signalled([_rank_pid(proc.pid, 0), _rank_pid(proc.pid, 1)], signal.SIGTERM)
    proc.communicate(timeout=120)
    assert summary(tmp_path / "two")["status"] == "interrupted"
    stopped = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)["step"]
    assert 25 <= stopped < 310
    resumed = run_cli(["resume=two"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert summary(tmp_path / "two")["status"] == "completed"
    same_steps(one_process["heat1d"], tmp_path / "two")


def _rank_pid(launcher, rank):
    """The pid of the launcher's worker process of `rank` (Linux /proc)."""
    for child in open(f"/proc/{launcher}/task/{launcher}/children").read().split():
        env = open(f"/proc/{child}/environ", "rb").read().split(b"\0")
        if f"RANK={rank}".encode() in env:
            return int(child)
    raise AssertionError(f"no worker of rank {rank}")


@pytest.mark.slow  # in CI's short slow form
def test_a_lost_rank_ends_the_run_interrupted_and_one_process_resumes_it(tmp_path, one_process):
    proc = torchrun(["pde=heat1d", *SHORT, "checkpoint_every=25", "hydra.run.dir=two"], tmp_path)
    wait_for_step(tmp_path / "two", 25, proc)
    rank0, rank1 = _rank_pid(proc.pid, 0), _rank_pid(proc.pid, 1)
    os.kill(rank0, signal.SIGSTOP)  # so that rank 0 cannot finish the run first
    os.kill(rank1, signal.SIGKILL)  # rank 1 dies without a word
    os.kill(rank0, signal.SIGCONT)
    out = proc.communicate(timeout=120)[0]
    s = summary(tmp_path / "two")
    assert s["status"] == "interrupted", out
    assert "another rank of this data-parallel fit stopped" in s["error"]
    assert run_cli(["resume=two"], tmp_path).returncode == 0
    same_steps(one_process["heat1d"], tmp_path / "two")


def test_what_is_not_data_parallel_stops_every_rank_with_one_message(tmp_path):
    proc = torchrun(["pde=heat1d", *SHORT, "weighting=ntk"], tmp_path)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0
    assert "weighting=ntk is not data-parallel" in out and "rank 1: weighting=ntk" in out
    assert run_dirs(tmp_path) == []  # no run folder left
    assert "pinn_cli/" not in out  # no traceback through pinn-fit (torchrun prints its own)


def _task_pid(rank=0, timeout=60):
    """The pid of the submitit task process of `rank` (Linux /proc), once it runs."""
    import time

    t0 = time.time()
    while time.time() - t0 < timeout:
        for proc in os.listdir("/proc"):
            try:
                env = open(f"/proc/{proc}/environ", "rb").read().split(b"\0")
            except (OSError, ValueError):
                continue
            if f"SUBMITIT_LOCAL_GLOBALID={rank}".encode() in env and \
                    f"PINN_FIT_TEST={os.getpid()}".encode() in env:
                return int(proc)
        time.sleep(0.1)
    raise AssertionError("no submitit task started")


@pytest.mark.slow  # in CI's short slow form
def test_a_preempted_submitit_job_is_requeued_and_continues_its_run(tmp_path, one_process):
    """submitit's USR2 (SLURM's preemption and time-limit warning) requeues the job; started
    again in its own folder, the job continues its run from the checkpoint."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pinn_cli", "-m", "hydra/launcher=submitit_local", "pde=heat1d",
         *SHORT, "checkpoint_every=25", "hydra.sweep.dir=sweep"], cwd=tmp_path,
        env=os.environ | {"PINN_FIT_TEST": str(os.getpid())}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    task = _task_pid()
    wait_for_step(tmp_path / "sweep" / "0", 25, proc)
    signalled([task], signal.SIGUSR2)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    run = tmp_path / "sweep" / "0"
    s = summary(run)
    assert s["status"] == "completed" and s["resumed_from_step"] >= 25
    assert "the launcher started this job again; it continues its run" in \
        (run / "pinn-fit.log").read_text()
    same_steps(one_process["heat1d"], run)


@pytest.mark.slow  # in CI's short slow form
def test_a_submitit_sweep_of_two_task_jobs_runs_each_fit_on_two_ranks(tmp_path, one_process):
    r = run_cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.tasks_per_node=2",
                 "pde=heat1d", *SHORT, "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "sweep" / "0"
    assert summary(run)["ranks"] == 2
    same_steps(one_process["heat1d"], run)

