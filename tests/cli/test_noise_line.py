"""pinn-fit's start-up line reports the noise pinn-data baked into a file, not `noise 0`."""
from conftest import run_cli, run_data

STEPS = ["schedule.pretrain_steps=1", "schedule.identify_steps=1", "schedule.lbfgs_steps=0",
         "diagnostics=off", "plots=false", "collocation.n_points=32", "data.n_obs=32"]


def test_start_up_line_reports_the_noise_already_in_the_file(tmp_path):
    assert run_data(["noise=0.01", "out=noisy.h5"], tmp_path).returncode == 0
    r = run_cli(STEPS + ["data.file=noisy.h5"], tmp_path)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, out
    assert "(noise: 1 % already in the file (attribute), none added)" in out
    assert "(noise 0)" not in out
