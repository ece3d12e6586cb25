"""device=cuda: the same run on a GPU as on the CPU. Skipped where torch sees no CUDA device (CI);
run on a GPU machine with `pytest tests/cli/test_device.py -n 0`."""
import pytest
import torch
from hydra import compose, initialize_config_module

from conftest import QUICK, run_cli, summary
from support import (RESUME_RUN, SMALL, VARIANTS, compiled_follows_eager, same_run, start_run,
                     two_steps_per_phase, wait_for_step)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")


def test_cuda_run_matches_the_cpu_run_and_writes_the_same_folder(tmp_path):
    # a few steps of every phase: long runs drift apart with the order of the GPU's reductions
    # (600 steps: k 4.5 % apart on an H100, both unconverged)
    args = [*QUICK, "schedule.pretrain_steps=10", "schedule.identify_steps=10",
            "schedule.lbfgs_steps=5", "log_every=5", "precision=float64", "plots=true",
            "diagnostics=quick"]
    for device in ("cpu", "cuda"):
        r = run_cli([*args, f"device={device}", f"hydra.run.dir={device}"], tmp_path)
        assert r.returncode == 0, r.stderr
    cpu, gpu = summary(tmp_path / "cpu"), summary(tmp_path / "cuda")
    assert gpu["status"] == "completed" and gpu["device"].startswith("cuda")
    assert sorted(p.name for p in (tmp_path / "cuda").iterdir()) == \
        sorted(p.name for p in (tmp_path / "cpu").iterdir())
    k_cpu, k_gpu = (s["unknowns"]["k"]["estimate"] for s in (cpu, gpu))
    # float64, same seed and points: only the order of the GPU's reductions differs
    assert abs(k_gpu - k_cpu) <= 1e-6 * abs(k_cpu), (k_cpu, k_gpu)
    assert gpu["steps"] == cpu["steps"]


def test_compile_on_cuda_follows_the_eager_cuda_run(tmp_path):
    compiled_follows_eager(tmp_path, ["device=cuda"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_option_trains_on_cuda(variant):
    """convection has every feature the options need (an unknown beta, input t, periodic x)."""
    overrides = ["pde=convection", variant, *SMALL, "device=cuda"]
    if variant.startswith("weighting=") and variant != "weighting=fixed":
        overrides.append("weighting.update_every=1")
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    torch.manual_seed(0)
    row = two_steps_per_phase(cfg, torch.device("cuda"))
    assert all(torch.isfinite(torch.tensor(v)) for v in row.losses.values()), row.losses
    assert all(torch.isfinite(torch.tensor(v)) for v in row.unknowns.values()), row.unknowns


def test_killed_cuda_run_resumes_to_the_uninterrupted_run(tmp_path):
    r = run_cli([*RESUME_RUN, "device=cuda", "hydra.run.dir=full"], tmp_path)
    assert r.returncode == 0, r.stderr
    proc = start_run([*RESUME_RUN, "device=cuda", "hydra.run.dir=cut"], tmp_path)
    wait_for_step(tmp_path / "cut", 250, proc)
    proc.kill()
    proc.wait()
    r = run_cli(["resume=cut"], tmp_path)
    assert r.returncode == 0, r.stderr
    s = summary(tmp_path / "cut")
    assert s["status"] == "completed" and s["resumed_from_step"] >= 250
    assert s["device"].startswith("cuda")
    same_run(tmp_path / "full", tmp_path / "cut")
