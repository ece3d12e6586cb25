"""compile=true: the loss terms and their gradients through torch.compile (losses._compile)."""
import csv

import pytest

from conftest import QUICK, run_cli, run_dirs

# heat1d in float64 (one compilation), causal weights on (state the compiled call writes back),
# Adam with a log row every 5 steps (per-term gradients through one graph), then L-BFGS.
SHORT = [q for q in QUICK if not q.startswith("schedule.")] + [
    "schedule.pretrain_steps=10", "schedule.identify_steps=10", "schedule.lbfgs_steps=5",
    "log_every=5", "precision=float64", "causal.epsilon=1.0", "diagnostics=off"]


def _rows(run, name):
    with open(run / name, newline="") as f:
        return list(csv.DictReader(f))


def compiled_follows_eager(tmp_path, extra=()):
    """Runs SHORT + extra with compile=true and compile=false; their rows must agree."""
    runs, cache = {}, tmp_path / "inductor"
    for flag in ("true", "false"):
        (tmp_path / flag).mkdir()
        r = run_cli(SHORT + [*extra, f"compile={flag}"], tmp_path / flag,
                    env={"TORCHINDUCTOR_CACHE_DIR": str(cache)})
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]
        (runs[flag],) = run_dirs(tmp_path / flag / "outputs")
    assert list(cache.rglob("*.py"))  # TorchInductor generated the kernels
    for name in ("params.csv", "losses.csv", "grad_norms.csv"):
        compiled, eager = _rows(runs["true"], name), _rows(runs["false"], name)
        assert len(compiled) == len(eager) >= 6  # rows at steps 0, 5, ..., 25
        for a, b in zip(compiled, eager):
            assert (a["step"], a["phase"]) == (b["step"], b["phase"])
            for k in b:
                if k in ("step", "phase", "elapsed_s"):
                    continue
                assert a[k] != "-0.0"
                assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-9, abs=1e-15), (name, k)
    assert _rows(runs["true"], "params.csv")[-1]["phase"] == "lbfgs"


def test_a_compiled_run_follows_the_eager_one(tmp_path):
    compiled_follows_eager(tmp_path)


@pytest.mark.parametrize("extra, message", [
    (["derivatives=autograd"], "compile=true needs the Taylor derivative engine, which heat1d "
                               "cannot use with derivatives=autograd; set compile=false or "
                               "derivatives=auto"),
    (["pde.residuals.heat=u_t - k*u_xxx"], "which heat1d cannot use (a derivative of order "
                                            "> 2, or a network without Taylor propagation); "
                                            "set compile=false"),
])
def test_compile_where_it_cannot_apply_is_refused(tmp_path, extra, message):
    r = run_cli(["compile=true", *extra], tmp_path)
    assert r.returncode != 0
    assert message in " ".join(r.stdout.split()) + " ".join(r.stderr.split())
    assert "Traceback" not in r.stdout + r.stderr
    assert not list(tmp_path.rglob("params.csv"))
