"""Curricula as schedules: continuation in an unknown (`schedule=continuation`) and time-window
marching (`schedule=marching`): the phases they make, the points each window keeps, the held
unknown, resume mid-stage, clear errors, and short CLI runs on convection, burgers1d and heat1d."""
import csv
import math

import pytest
import torch

from pinn_cli.io.collocation import sample_periodic
from pinn_cli.errors import PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Problem
from pinn_cli.training.schedule import Continuation, Marching, Phase, PretrainIdentify, _checked
from pinn_cli.training.trainer import Hooks, Trainer
from pinn_cli.training.weighting import Fixed

from conftest import run_cli, run_dirs, summary

# t in [1, 3]: the windows are fractions of the domain of t, not of [0, 1]
CONVECTION = dict(name="c", inputs={"x": [0.0, 2 * math.pi], "t": [1.0, 3.0]}, outputs=["u"],
                  unknowns={"beta": {"guess": 10.0, "transform": "log"}},
                  residuals={"convection": "u_t + beta*u_x"},
                  conditions={"initial": {"at": {"t": 1.0}, "equation": "u - sin(x)"},
                              "left": {"at": {"x": 0.0}, "equation": "u"}},
                  periodic=["x"])
STEADY = dict(name="poisson", inputs={"x": [0.0, 1.0], "y": [0.0, 1.0]}, outputs=["u"],
              unknowns={"k": {"guess": 1.0}}, residuals={"p": "k*(u_xx + u_yy) + 1"})
SETTINGS = dict(identify_steps=6, lbfgs_steps=3, lr=1e-3, unknowns_lr=1e-2, decay=1.0)
TINY = ["arch.depth=2", "arch.width=16", "collocation.n_points=300",
        "collocation.n_condition_points=50", "data.n_obs=200", "plots=false", "diagnostics=off",
        "log_every=5", "checkpoint_every=0"]


def _phases(schedule):
    return [(p.name, p.steps, p.optimizer, p.hold, p.time_window, p.trains_unknowns)
            for p in schedule.phases]


def test_continuation_phases():
    s = Continuation("beta", [1, 5, 10], 20, **SETTINGS)
    assert _phases(s) == [("beta=1", 20, "adam", {"beta": 1.0}, None, False),
                          ("beta=5", 20, "adam", {"beta": 5.0}, None, False),
                          ("beta=10", 20, "adam", {"beta": 10.0}, None, False),
                          ("identify", 6, "adam", {}, None, True),
                          ("lbfgs", 3, "lbfgs", {}, None, True)]
    # no stages: pretrain_identify without its pretrain phase
    assert _phases(Continuation("beta", [], 20, **SETTINGS)) == \
        _phases(PretrainIdentify(0, **SETTINGS))


def test_marching_phases():
    s = Marching(4, 15, **SETTINGS)
    assert _phases(s)[:4] == [(f"window{m}", 15, "adam", {}, m / 4, False) for m in (1, 2, 3, 4)]
    assert [p.name for p in s.phases[4:]] == ["identify", "lbfgs"]
    assert all(p.time_window is None for p in s.phases[4:])  # the whole domain


def _box(n, seed, **fixed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([2 * math.pi, 2.0])
    x[:, 1] += 1.0
    for i, k in enumerate(("x", "t")):
        if k in fixed:
            x[:, i] = fixed[k]
    return x


def _losses(left=None):
    """Losses of CONVECTION at random points (the left face's: `left`), causal training on."""
    problem = Problem(**CONVECTION)
    obs_x = _box(40, 0)
    per = sample_periodic(problem.domain, "x", 30, "sobol", 3).double()
    return Losses(problem, obs_x, obs_x[:, :1].sin(), ["u"], _box(200, 1),
                  [_box(25, 2, t=1.0), _box(35, 4, x=0.0) if left is None else left], engine="auto",
                  periodic_x=[per], causal_epsilon=1.0)


@pytest.fixture
def losses(float64):
    return _losses()


@pytest.mark.parametrize("m", [1, 2, 3])
def test_each_window_keeps_the_points_up_to_its_end(losses, m):
    full = [losses.obs_x, losses.colloc_x, *(x for _, x, _ in losses.conditions),
            losses.periodic[0][1]]
    t_max = 1.0 + m / 4 * 2.0
    losses.restrict_time(m / 4)
    kept = [losses.obs_x, losses.colloc_x, *(x for _, x, _ in losses.conditions),
            losses.periodic[0][1]]
    for a, b in zip(full, kept):
        assert len(b) == int((a[:, 1] <= t_max).sum()) and torch.all(b[:, 1] <= t_max)
    assert 0 < len(kept[1]) < len(full[1]) and len(kept[2]) == 25  # the initial face stays
    torch.testing.assert_close(losses.obs_y, kept[0][:, :1].sin())  # rows kept with their x
    per = losses.periodic[0][1]
    n = len(per) // 2
    assert torch.equal(per[:n, 1], per[n:, 1]) and torch.all(per[:n, 0] == 0.0)  # still pairs
    assert losses.causal_counts.sum() == len(kept[1])  # causal windows of the kept points
    torch.manual_seed(0)
    net = MLP([(0.0, 2 * math.pi), (1.0, 3.0)], [0.0], [1.0], width=8, depth=2).double()
    terms = losses(net, {"beta": torch.tensor(10.0, dtype=torch.float64)})
    assert all(torch.isfinite(v) for v in terms.values())
    losses.restrict_time(None)
    for a, b in zip(full, [losses.obs_x, losses.colloc_x,
                           *(x for _, x, _ in losses.conditions), losses.periodic[0][1]]):
        assert torch.equal(a, b)


def test_a_term_without_points_in_the_window_is_zero(float64):
    losses = _losses(left=_box(10, 5, x=0.0, t=2.9))  # every "left" point late
    losses.restrict_time(0.25)
    assert len(losses.conditions[1][1]) == 0
    torch.manual_seed(0)
    net = MLP([(0.0, 2 * math.pi), (1.0, 3.0)], [0.0], [1.0], width=8, depth=2).double()
    terms = losses(net, {"beta": torch.tensor(10.0, dtype=torch.float64)})
    assert terms["left"] == 0.0 and terms["initial"] > 0


@pytest.mark.parametrize("make,spec,message", [
    (lambda: Continuation("gamma", [1.0], 5, **SETTINGS), CONVECTION,
     r"schedule.unknown=gamma: problem 'c' has no unknown 'gamma'; its unknowns are \['beta'\]"),
    (lambda: Continuation("beta", [0.0, 5.0], 5, **SETTINGS), CONVECTION,
     r"schedule.values: \[0.0\] cannot be values of beta; give values > 0 \(transform log\)"),
    (lambda: Continuation("beta", [5.0, 50.0], 5, **SETTINGS),
     dict(CONVECTION, unknowns={"beta": {"guess": 10.0, "bounds": [1.0, 20.0]}}),
     r"\[50.0\] cannot be values of beta; give values within its bounds \[1.0, 20.0\]"),
    (lambda: Marching(4, 5, **SETTINGS), STEADY,
     r"schedule=marching marches in windows of an input named t, but problem 'poisson' has "
     r"inputs \['x', 'y'\]; choose another schedule"),
])
def test_a_schedule_that_does_not_apply_says_why(make, spec, message):
    with pytest.raises(PinnFitError, match=message):
        make().check(Problem(**spec))


def test_schedules_that_apply_pass_the_check():
    Continuation("gamma", [], 5, **SETTINGS).check(Problem(**CONVECTION))  # no stages
    Marching(2, 0, **SETTINGS).check(Problem(**STEADY))  # no window steps


@pytest.mark.parametrize("make,message", [
    (lambda: Continuation("beta", [1.0, 1.0], 5, **SETTINGS), r"repeats a value"),
    (lambda: Marching(0, 5, **SETTINGS), r"schedule.windows=0: give the number of time windows"),
    (lambda: Marching(2, 5, 0, 0, 1e-3, 1e-2, 1.0), r"no phase trains the unknowns"),
    (lambda: _checked([Phase("p", 5, "lbfgs", hold={"beta": 1.0})]),
     r"phase p holds \['beta'\] and trains the unknowns; a phase that holds unknowns trains none"),
    (lambda: _checked([Phase("p", 5, time_window=1.5), Phase("q", 5, "lbfgs")]),
     r"phase p time_window=1.5 must lie in \(0, 1\]"),
    (lambda: _checked([Phase("p", 5, "lbfgs", density=0.0)]), r"phase p density=0.0 must be > 0"),
])
def test_bad_settings_raise(make, message):
    with pytest.raises(PinnFitError, match=message):
        make()


# --- training: the held unknown, the windows, and resume mid-stage -------------------------
def _trainer(phases, stop_at=None, redraw=None):
    """A tiny float64 convection fit; records (step, phase, time window, beta) at every step and
    stops (as on Ctrl-C) after step `stop_at`; `redraw`: Losses' (every, draw) for resampling.
    Returns (trainer, records, checkpoints)."""
    torch.manual_seed(0)
    problem = Problem(**CONVECTION)
    net = MLP([(0.0, 2 * math.pi), (1.0, 3.0)], [0.0], [1.0], width=8, depth=2).double()
    obs_x = _box(40, 0)
    per = sample_periodic(problem.domain, "x", 20, "sobol", 3).double()
    losses = Losses(problem, obs_x, torch.sin(obs_x[:, :1] - 30 * (obs_x[:, 1:] - 1)), ["u"],
                    _box(100, 1), [_box(20, 2, t=1.0), _box(20, 4, x=0.0)], engine="auto", periodic_x=[per],
                    redraw=redraw)
    records, checkpoints = [], []

    def progress(phase, done, loss, params):
        records.append((trainer.step, phase.name, losses.time_window, params["beta"]))
        if trainer.step == stop_at:
            trainer.stop = True

    trainer = Trainer(net=net, unknowns=Unknowns(problem.unknowns), losses=losses,
                      weighting=Fixed(), phases=phases, log_every=5,
                      hooks=Hooks(on_progress=progress, on_checkpoint=checkpoints.append))
    return trainer, records, checkpoints


@pytest.mark.parametrize("schedule,stop_at", [
    (Continuation("beta", [1.0, 5.0], 8, **SETTINGS), 12),  # in stage beta=5
    (Marching(3, 6, **SETTINGS), 9),  # in window2
], ids=["continuation", "marching"])
def test_stages_hold_and_restrict_and_resume_restores_them(schedule, stop_at, float64,
                                                           one_thread):
    trainer, full, _ = _trainer(schedule.phases)
    trainer.run()
    for step, name, window, beta in full:
        phase = next(p for p in schedule.phases if p.name == name)
        assert window == phase.time_window
        if phase.hold:  # the held value, exactly, at every step of the stage
            assert beta == pytest.approx(phase.hold["beta"], rel=1e-14)
    stage_end = sum(p.steps for p in schedule.phases if not p.trains_unknowns)
    moved = [beta for step, name, _, beta in full if name == "identify"]
    assert len(moved) == 6 and moved[-1] != pytest.approx(moved[0], rel=1e-6)
    assert full[stage_end - 1][1] != "identify" and full[stage_end][1] == "identify"

    cut, before, checkpoints = _trainer(schedule.phases, stop_at)
    assert cut.run().status == "interrupted" and before[-1][0] == stop_at
    resumed, after, _ = _trainer(schedule.phases)
    assert resumed.losses.time_window is None and \
        float(resumed.unknowns.physical()["beta"].detach()) == pytest.approx(10.0)  # a fresh start
    resumed.load_state_dict(checkpoints[-1])
    resumed.run()
    assert after[0][0] == stop_at + 1
    assert [a[:3] for a in after] == [f[:3] for f in full[stop_at:]]  # same phases and windows
    assert [a[3] for a in after] == pytest.approx([f[3] for f in full[stop_at:]], rel=1e-12)


def _draw(k, n=100, dtype=torch.float64):
    """The k-th set of n residual points (k = 0, n = 100: _trainer's own)."""
    return _box(n, 1 if k == 0 else 100 + k).to(dtype)


def test_resampled_points_follow_the_step_and_survive_resume(float64, one_thread):
    schedule = Marching(2, 5, **SETTINGS)  # 5 + 5 + 6 Adam steps, then 3 L-BFGS steps
    trainer, full, _ = _trainer(schedule.phases, redraw=(4, _draw))
    seen = []
    trainer.hooks.on_progress = lambda phase, done, loss, params: (
        seen.append((trainer.step, phase.name, trainer.losses.all_points[2][:100].clone())),
        full.append((trainer.step, phase.name, trainer.losses.time_window, params["beta"])))
    trainer.run()
    lbfgs_start = 16
    for step, name, points in seen:  # step: the count after the update that used `points`
        k = (step - 1) // 4 if name != "lbfgs" else lbfgs_start // 4
        assert torch.equal(points, _draw(k)), (step, name)
    early = _trainer(schedule.phases, redraw=(4, _draw))[0].losses
    early.restrict_time(0.5)  # a time window still applies to a fresh draw
    early.redraw_at(4)
    t = early.colloc_x[:, 1]
    assert len(t) < 100 and bool((t <= 2.0).all())
    assert torch.equal(early.all_points[2][:100], _draw(1))

    cut, before, checkpoints = _trainer(schedule.phases, 9, redraw=(4, _draw))
    assert cut.run().status == "interrupted"
    resumed, after, _ = _trainer(schedule.phases, redraw=(4, _draw))
    resumed.load_state_dict(checkpoints[-1])
    resumed.run()
    assert [a[3] for a in after] == pytest.approx([f[3] for f in full[9:]], rel=1e-12)


def _float32(trainer):
    """The run as a float32 one, the start of a float64 finish; one L-BFGS step per call."""
    trainer.log_every = 1
    torch.set_default_dtype(torch.float32)
    trainer.net.float()
    trainer.unknowns.float()
    trainer.losses.to(torch.float32)
    return trainer


@pytest.mark.parametrize("stop_at", [2, 6], ids=["in-float32", "in-float64"])
def test_float64_finish_converts_everything_and_resumes_exactly(stop_at, float64, one_thread):
    """The finish also enforces the residual at 3x the points (schedule.finish_density): the
    float32 phase's 100, then the next 200 of the same draw."""
    phases = [Phase("lbfgs", 4, "lbfgs", 1.0),
              Phase("lbfgs_float64", 4, "lbfgs", 1.0, precision="float64", density=3.0)]
    trainer, full, _ = _trainer(phases, redraw=(0, _draw))
    _float32(trainer)
    dtypes, points = [], []
    trainer.hooks.on_progress = lambda phase, done, loss, params: (
        dtypes.append((phase.name, trainer.losses.colloc_x.dtype,
                       trainer.unknowns.raw["beta"].dtype, next(trainer.net.parameters()).dtype)),
        points.append(trainer.losses.colloc_x.clone()),
        full.append((trainer.step, phase.name, None, params["beta"])))
    trainer.run()
    assert dtypes == [("lbfgs", *[torch.float32] * 3)] * 4 + \
        [("lbfgs_float64", *[torch.float64] * 3)] * 4
    assert [len(x) for x in points] == [100] * 4 + [300] * 4
    assert torch.equal(points[-1][:100], points[0].double())  # float32's points, exactly
    assert torch.equal(points[-1][100:], _draw(0, 300)[100:])
    assert torch.get_default_dtype() == torch.float32  # torch's default is left as it was
    assert all(x.dtype == torch.float64 for x in (trainer.losses.obs_x, trainer.losses.obs_y,
                                                  *(c[1] for c in trainer.losses.conditions),
                                                  *(p[1] for p in trainer.losses.periodic)))

    torch.set_default_dtype(torch.float64)  # _trainer builds its points in float64
    cut, _, checkpoints = _trainer(phases, stop_at, redraw=(0, _draw))
    assert _float32(cut).run().status == "interrupted"
    torch.set_default_dtype(torch.float64)
    resumed, after, _ = _trainer(phases, redraw=(0, _draw))
    _float32(resumed).load_state_dict(checkpoints[-1])
    resumed.run()
    assert [a[3] for a in after] == pytest.approx([f[3] for f in full[stop_at:]],
                                                  rel=1e-12)


# --- the CLI: each schedule on convection, burgers1d and heat1d ----------------------------
def _params(run):
    with open(run / "params.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("pde,args,stages", [
    ("convection", [], ["beta=1", "beta=5", "beta=10"]),
    ("burgers1d", ["schedule.unknown=nu", "schedule.values=[0.05,0.01]"], ["nu=0.05", "nu=0.01"]),
    ("heat1d", ["schedule.unknown=k", "schedule.values=[1.0,0.5]"], ["k=1", "k=0.5"]),
])
def test_cli_continuation_composes(tmp_path, pde, args, stages):
    r = run_cli([f"pde={pde}", "schedule=continuation", "schedule.stage_steps=10",
                 "schedule.identify_steps=10", "schedule.lbfgs_steps=5", *TINY, *args],
                tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed" and list(s["steps"]) == stages + ["identify", "lbfgs"]
    name = stages[0].split("=")[0]
    rows = _params(run)
    for stage in stages:
        values = {float(row[name]) for row in rows if row["phase"] == stage}
        assert len(values) == 1 and values.pop() == pytest.approx(float(stage.split("=")[1]),
                                                                  rel=1e-6)
    ident = [float(row[name]) for row in rows if row["phase"] in ("identify", "lbfgs")]
    assert ident[-1] != pytest.approx(float(stages[-1].split("=")[1]), rel=1e-6)  # it moved


@pytest.mark.parametrize("pde", ["convection", "burgers1d", "heat1d"])
def test_cli_marching_composes(tmp_path, pde):
    r = run_cli([f"pde={pde}", "schedule=marching", "schedule.windows=3",
                 "schedule.window_steps=5", "schedule.identify_steps=10",
                 "schedule.lbfgs_steps=5", *TINY], tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(tmp_path / "outputs")
    s = summary(run)
    assert s["status"] == "completed"
    assert s["steps"] == {"window1": 5, "window2": 5, "window3": 5, "identify": 10, "lbfgs": 5}
    assert [row["phase"] for row in _params(run)][:4] == ["window1", "window1", "window2",
                                                           "window3"]


def test_cli_default_continuation_unknown_on_another_problem_says_what_to_set(tmp_path):
    r = run_cli(["pde=heat1d", "schedule=continuation", *TINY], tmp_path, timeout=120)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "Traceback" not in out, out
    assert "schedule.unknown=beta: problem 'heat1d' has no unknown 'beta'; its unknowns are " \
           "['k']. Set schedule.unknown and schedule.values" in out
