"""A run stopped before its unknowns settle says so in summary.json, with numbers and a fix."""
from conftest import run_cli, run_dirs, summary


def test_a_run_stopped_early_warns_that_it_has_not_converged(tmp_path):
    r = run_cli(["schedule.pretrain_steps=50", "schedule.identify_steps=100",
                 "schedule.lbfgs_steps=0", "plots=false"], tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    (run,) = run_dirs(tmp_path)
    s = summary(run)
    assert s["status"] == "completed"
    (w,) = [w for w in s["identifiability"]["warnings"] if w.startswith("k moved ")]
    assert "% over the last 50 steps of the 'identify' phase; loss still falling" in w
    assert w.endswith("train longer (more 'identify' steps, e.g. schedule.identify_steps)")
