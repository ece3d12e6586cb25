"""The training loop's L-BFGS phase: several iterations per optimiser call, same iterates."""
from conftest import QUICK, run_cli, run_dirs

CHEAP = [q for q in QUICK if not q.startswith("schedule.")] + [
    "schedule.pretrain_steps=50", "schedule.identify_steps=50", "schedule.lbfgs_steps=150",
    "log_every=25", "checkpoint_every=0", "diagnostics=off"]


def _trajectory(tmp_path, extra):
    tmp_path.mkdir()
    r = run_cli(CHEAP + extra, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    return [line.split(",")[:2] + line.split(",")[3:4] for line in
            (run / "params.csv").read_text().splitlines()]


def test_chunked_lbfgs_calls_give_the_same_iterates_as_one_call_per_iteration(tmp_path):
    # Bounds on k make the trainer call L-BFGS one iteration at a time (each iterate projected);
    # these bounds are never reached, so the projection changes nothing and the trajectories of
    # the two runs must agree to the last digit.
    chunked = _trajectory(tmp_path / "a", [])
    single = _trajectory(tmp_path / "b", ["pde.unknowns.k.bounds=[1e-6,100.0]"])
    assert [r[1] for r in chunked].count("lbfgs") == 6  # rows at 125, 150, ..., 250
    assert chunked == single


def test_an_lbfgs_run_never_imports_torch_dynamo(tmp_path):
    # train.skip_dynamo_import spares about 1 s of start-up: torch's optimisers import
    # torch._dynamo on their first zero_grad / add_param_group / state_dict otherwise. The run
    # below calls all of them (L-BFGS in two precisions, checkpoints); -X importtime lists every
    # module the process imports.
    r = run_cli(["pde=burgers1d", "data.n_obs=200", "collocation.n_points=200",
                 "schedule.steps=12", "schedule.finish_steps=4", "checkpoint_every=5",
                 "log_every=5", "plots=false", "diagnostics=off"], tmp_path,
                env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    (run,) = run_dirs(tmp_path / "outputs")
    assert (run / "checkpoint.pt").exists()
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")]
    assert "torch.optim.lbfgs" in imported  # the listing works
    assert "torch._dynamo" not in imported
