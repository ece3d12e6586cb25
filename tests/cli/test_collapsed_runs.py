"""Numerical collapse is never reported as completed (docs/reliability.md, "Divergence"): an
unknown with transform log that underflows to 0, a learning rate that blows the loss up without
NaN, an unknown that never moves; and a second SIGTERM while a stopped run winds down."""
import signal
import time

import pytest

from conftest import run_cli, run_dirs, summary
from support import RESUME_RUN, start_run, wait_for_step

SHORT = ["schedule.pretrain_steps=20", "schedule.identify_steps=60", "schedule.lbfgs_steps=0",
         "plots=false", "log_every=10"]


def _ended(tmp_path, args, code):
    r = run_cli(SHORT + args, tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == code, out
    assert "Traceback" not in out and "math domain error" not in out
    (run,) = run_dirs(tmp_path / "outputs")
    return summary(run), " ".join(out.split())


def test_an_unknown_that_underflows_to_zero_ends_diverged_naming_it(tmp_path):
    # log(k) driven down 30 per step: exp() of it is 0 in float32 within a few steps (before,
    # the run completed with k = 0 and the diagnostics crashed on log(0))
    s, out = _ended(tmp_path, ["schedule.unknowns_lr=30"], 3)
    assert s["status"] == "diverged" and s["diverged_at"]["terms"] == ["k"]
    assert s["diverged_at"]["phase"] == "identify"
    assert "unknown 'k' (transform log) underflowed to exactly 0 in float32" in out


def test_a_guess_that_underflows_is_refused_with_one_message(tmp_path):
    s, out = _ended(tmp_path, ["pde.unknowns.k.guess=1e-46"], 2)
    assert s["status"] == "failed"
    assert "unknown 'k': its guess 1e-46 is 0 in float32" in out


def test_a_diverging_learning_rate_ends_diverged(tmp_path):
    # Adam at lr 1e3 saturates the network: the loss grows 1e6-fold, never NaN, and k never
    # moves; before, the run said completed with k at its guess
    s, out = _ended(tmp_path, ["schedule.lr=1e3"], 3)
    assert s["status"] == "diverged" and s["diverged_at"]["phase"] == "pretrain"
    assert "stayed above 10000 times its value at the phase's start" in out


def test_a_diverging_learning_rate_is_retried_until_low_enough(tmp_path):
    # the retry runs at lr 1 (network) and 1e-5 (k): k moves, slowly; a larger cut would leave
    # k where it started (status stalled), a smaller one the network saturated
    s, _ = _ended(tmp_path, ["schedule.lr=1e3", "on_divergence=retry", "retry_lr_factor=1e-3"],
                  0)
    assert s["status"] == "completed" and len(s["retries"]) == 1
    assert s["retries"][0]["phase"] == "pretrain"
    assert s["unknowns"]["k"]["estimate"] != 0.5


def test_a_diverging_learning_rate_is_retried_at_most_max_retries(tmp_path):
    s, _ = _ended(tmp_path, ["schedule.lr=1e3", "on_divergence=retry", "max_retries=2"], 3)
    assert s["status"] == "diverged" and len(s["retries"]) == 2  # at lr 500, then 250


def test_an_unknown_that_never_moves_ends_stalled(tmp_path):
    s, out = _ended(tmp_path, ["schedule.unknowns_lr=1e-12"], 4)
    assert s["status"] == "stalled" and s["stalled"] == ["k"]
    assert "unknown 'k' never moved from 0.5" in out and "raise schedule.unknowns_lr" in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_still_ends_interrupted_with_130(tmp_path, sig):
    proc = start_run(RESUME_RUN + ["hydra.run.dir=cut"], tmp_path)
    wait_for_step(tmp_path / "cut", 250, proc)
    proc.send_signal(sig)
    while proc.poll() is None:  # more of them, until it exits: whenever one lands, 130
        time.sleep(0.005)
        proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "Traceback" not in out
    assert summary(tmp_path / "cut")["status"] == "interrupted"
