"""Every remedy composes with every shipped problem it applies to, and says clearly when it does
not: each pde option with each arch, weighting and schedule option, causal training and the
periodic embedding, built as a run is (fit.build) and trained for two steps per phase on a few
points; an option that cannot apply stops with one PinnFitError naming the option to change."""
import math

import pytest
import torch
from hydra import compose, initialize_config_module

from pinn_cli.schema import register
from pinn_cli.errors import PinnFitError
from pinn_cli.targets import call
from pinn_cli.workflows.build import build

from conftest import REPO
from support import SMALL, VARIANTS, two_steps_per_phase

register()
PDES = sorted(p.stem for p in (REPO / "conf" / "pde").glob("*.yaml"))



def _expected_refusal(pde, variant, problem):
    """The message an option that does not apply must give, or None where it applies."""
    if variant == "schedule=continuation" and not problem.unknowns:
        return "schedule=continuation steps a scalar unknown"
    if variant == "schedule=continuation" and "beta" not in [u.name for u in problem.unknowns]:
        return "schedule.unknown=beta: problem .* has no unknown 'beta'"
    if variant in ("schedule=marching", "causal.epsilon=1.0") and "t" not in problem.inputs:
        return "input named t"
    if variant == "pde.periodic_by=embedding" and not problem.periodic:
        return "periodic_by"
    return None


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("pde", PDES)
def test_option_trains_or_says_why_not(pde, variant, one_thread):
    overrides = [f"pde={pde}", variant, *SMALL]
    if variant in ("weighting=annealing", "weighting=grad_norm", "weighting=ntk"):
        overrides.append("weighting.update_every=1")  # the weights move within two steps
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        plain = compose("config", overrides=[f"pde={pde}"])
        cfg = compose("config", overrides=overrides)
    problem = call(plain.pde)
    refusal = _expected_refusal(pde, variant, problem)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    try:
        if refusal is not None:
            with pytest.raises(PinnFitError, match=refusal):
                _, _, _, losses, _ = build(cfg, torch.device("cpu"))
                call(cfg.schedule).check(losses.problem)
            return
        row = two_steps_per_phase(cfg, torch.device("cpu"))
        assert all(math.isfinite(v) for v in row.losses.values()), row.losses
        assert all(math.isfinite(v) for v in row.unknowns.values()), row.unknowns
    finally:
        torch.set_default_dtype(old)
