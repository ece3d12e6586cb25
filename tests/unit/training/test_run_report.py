"""What a run reports it ran: the derivative engine of each loss term and why, and how each
optimiser phase ended (its budget, or convergence before it)."""
import torch
from torch import nn

from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Problem
from pinn_cli.problem.unknowns import Unknown, Unknowns
from pinn_cli.training.losses import Losses
from pinn_cli.training.schedule import Phase, describe_end
from pinn_cli.training.trainer import Hooks, Trainer
from pinn_cli.training.weighting import Weighting

from conftest import run_cli, run_dirs, summary

INPUTS = {"x": [0.0, 1.0], "t": [0.0, 1.0]}
CONDITIONS = {"initial": {"at": {"t": 0.0}, "equation": "u - sin(x)"},
              "flux": {"at": {"x": 0.0}, "equation": "u_x"}}


def _engines(residual, engine="auto", net=None):
    problem = Problem(name="p", inputs=INPUTS, outputs=["u"], unknowns={"k": {"guess": 1.0}},
                      residuals={"eq": residual}, conditions=CONDITIONS)
    x = torch.rand(10, 2)
    losses = Losses(problem, x, x[:, :1], ["u"], torch.rand(20, 2), [x, x], engine=engine,
                    residual_at_observations=False)
    net = net or MLP(list(INPUTS.values()), [0.0], [1.0], width=4, depth=1)
    return losses.engines(net)


def test_a_third_derivative_takes_autograd_and_says_which():
    engines = _engines("u_t + u*u_x + k*u_xxx")
    assert engines["eq"] == ("autograd", "derivatives=auto: u_xxx is of order 3, above "
                                         "Taylor's 2")
    # the conditions are evaluated on their own: the Neumann one still takes Taylor
    assert engines["flux"][0] == "taylor" and engines["flux"][1].startswith("derivatives=auto")
    assert engines["initial"][0] == engines["data"][0] == "forward"


def test_second_order_takes_taylor_unless_autograd_is_asked_for_or_the_net_cannot():
    assert _engines("u_t - k*u_xx")["eq"] == (
        "taylor", "derivatives=auto: the network propagates Taylor jets and every derivative "
        "is of order <= 2")
    assert _engines("u_t - k*u_xx", engine="autograd")["eq"] == ("autograd",
                                                                 "derivatives=autograd")
    plain = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    engine, why = _engines("u_t - k*u_xx", net=plain)["eq"]
    assert engine == "autograd" and "(Sequential) has no Taylor propagation" in why


class Terms:
    """`data`: a linear network's misfit to 1 at a few points; `eq`: (k - 0.3)². L-BFGS reaches
    the minimum within a few iterations."""

    kinds = {"data": "data", "eq": "residual"}

    def __init__(self):
        self.x = torch.linspace(0, 1, 8).reshape(-1, 1)

    def __call__(self, net, params):
        return {"data": ((net(self.x) - 1.0) ** 2).mean(), "eq": (params["k"] - 0.3) ** 2}

    def log_values(self):
        return {}

    redraw_at = use_density = restrict_time = to = lambda self, arg: None


def test_adam_ends_on_its_budget_and_lbfgs_on_convergence_before_it():
    torch.manual_seed(0)
    ends = []
    trainer = Trainer(net=nn.Linear(1, 1), unknowns=Unknowns([Unknown("k", 0.5)]),
                      losses=Terms(), weighting=Weighting(),
                      phases=[Phase("identify", 20, "adam", 1e-2, 1e-2),
                              Phase("lbfgs", 500, "lbfgs", 1.0)],
                      hooks=Hooks(on_phase_end=ends.append), log_every=5)
    assert trainer.run().status == "completed"
    adam, lbfgs = ends
    assert adam == {"name": "identify", "optimizer": "adam", "steps": 20, "budget": 20,
                    "stopped": "budget", "why": "it took all its steps"}
    assert lbfgs["stopped"] == "convergence" and lbfgs["steps"] < 500
    assert lbfgs["why"].startswith("L-BFGS tolerance on the")
    assert list(trainer.state_dict()["ends"].values()) == ends  # checkpointed
    assert describe_end(adam) == "phase identify (Adam): stopped on its budget after 20 steps"
    assert describe_end(lbfgs) == (f"phase lbfgs (L-BFGS): stopped on convergence "
                                   f"({lbfgs['why']}) after {lbfgs['steps']} of 500 steps")


def test_a_tiny_run_names_its_engines_and_phase_ends_in_summary_and_log(tmp_path):
    # a 4-wide network in float32: L-BFGS stops gaining within a few hundred of its 3000 steps
    r = run_cli(["schedule.pretrain_steps=5", "schedule.identify_steps=5",
                 "schedule.lbfgs_steps=3000", "arch=mlp", "arch.width=4", "arch.depth=1",
                 "collocation.n_points=50", "collocation.n_condition_points=8", "data.n_obs=50",
                 "plots=false", "diagnostics=off", "checkpoint_every=0", "log_every=500"],
                tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["derivative_engines"]["heat"] == {
        "engine": "taylor", "why": "derivatives=auto: the network propagates Taylor jets and "
        "every derivative is of order <= 2"}
    assert {k: e["engine"] for k, e in s["derivative_engines"].items()} == {
        "data": "taylor", "heat": "taylor", "left": "forward", "right": "forward"}
    phases = {p["name"]: p for p in s["phases"]}
    assert [p["stopped"] for p in s["phases"]] == ["budget", "budget", "convergence"]
    assert phases["lbfgs"]["steps"] == s["steps"]["lbfgs"] < phases["lbfgs"]["budget"] == 3000
    log = " ".join((r.stdout + r.stderr).split())
    assert "loss term heat (residual): taylor engine; derivatives=auto" in log
    assert "phase identify (Adam): stopped on its budget after 5 steps" in log
    assert ("phase lbfgs (L-BFGS): stopped on convergence (L-BFGS tolerance on the loss change"
            in log)
    assert f"after {phases['lbfgs']['steps']} of 3000 steps" in log
