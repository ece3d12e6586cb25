"""Numerical collapse is never a completed run: an unknown with transform log that underflows to
0, a loss that blows up without becoming NaN, and an unknown that never moves from where its
training began. A tiny problem (a linear network, loss terms that the tests control) keeps each
run to a few milliseconds."""
import pytest
import torch
from torch import nn

from pinn_cli.errors import DivergedError, PinnFitError, StalledError
from pinn_cli.problem.unknowns import Unknown, Unknowns
from pinn_cli.training import health
from pinn_cli.training.schedule import Phase
from pinn_cli.training.health import BLOWUP_CHECKS, BLOWUP_FACTOR, STALL_MIN_STEPS
from pinn_cli.training.trainer import Trainer
from pinn_cli.training.weighting import Weighting


class Terms:
    """Loss terms `data` (the network's misfit to y = 1 at a few points, times `blow(call)`) and
    `eq` (`pull(k)`, a function of the unknown k); `calls` counts the evaluations."""

    def __init__(self, pull=lambda k: (k - 0.3) ** 2, blow=lambda call: 1.0):
        self.kinds = {"data": "data", "eq": "residual"}
        self.pull, self.blow, self.calls = pull, blow, 0
        self.x = torch.linspace(0, 1, 8).reshape(-1, 1)

    def __call__(self, net, params):
        self.calls += 1
        data = ((net(self.x) - 1.0) ** 2).mean() * self.blow(self.calls)
        return {"data": data, "eq": self.pull(params["k"])}

    def redraw_at(self, step):
        pass

    def use_density(self, density):
        pass

    def restrict_time(self, fraction):
        pass

    def to(self, dtype):
        pass

    def log_values(self):
        return {}


class Growing(Weighting):
    """Adaptive weights that double every step: the weighted total grows, the terms do not."""

    update_every = 1

    def update(self, grads):
        self.lambdas = {k: 2 * v for k, v in self.lambdas.items()}


def _trainer(terms, phases, guess=0.5, transform="log", weighting=None, **kwargs):
    torch.manual_seed(0)
    net = nn.Linear(1, 1)
    unknowns = Unknowns([Unknown("k", guess, transform=transform)])
    return Trainer(net=net, unknowns=unknowns, losses=terms, weighting=weighting or Weighting(),
                   phases=phases, log_every=5, **kwargs)


def _identify(steps=40, lr=1e-2, unknowns_lr=1e-2):
    return [Phase("identify", steps, "adam", lr, unknowns_lr)]


# --- an unknown with transform log underflows to 0 -------------------------------------------
def test_an_unknown_that_underflows_to_zero_is_divergence_naming_it():
    # eq = k pulls k down: Adam moves log(k) by about the learning rate each step, so 30 per
    # step takes exp(θ) below float32's smallest number within a few steps
    t = _trainer(Terms(pull=lambda k: k), _identify(unknowns_lr=30.0))
    with pytest.raises(DivergedError, match="unknown 'k' .*underflowed to exactly 0") as err:
        t.run()
    assert err.value.terms == ["k"] and err.value.phase == "identify"
    assert t.unknowns.physical()["k"].item() == 0.0


def test_a_guess_the_precision_cannot_hold_is_refused_before_training():
    t = _trainer(Terms(), _identify(), guess=1e-46)  # > 0 in float64, 0 in float32
    with pytest.raises(PinnFitError, match="guess 1e-46 is 0 in float32") as err:
        t.run()
    assert not isinstance(err.value, DivergedError) and t.step == 0


# --- a loss that blows up without NaN --------------------------------------------------------
def test_a_loss_that_stays_blown_up_diverges():
    # from the 4th evaluation on, the data term is 1e6 times larger: finite, never NaN
    t = _trainer(Terms(blow=lambda call: 1e6 if call > 3 else 1.0), _identify())
    with pytest.raises(DivergedError, match=f"stayed above {BLOWUP_FACTOR:g} times") as err:
        t.run()
    assert err.value.terms == ["data"]
    assert err.value.step == 3 + BLOWUP_CHECKS - 1  # the 10th check in a row above the limit


def test_a_shorter_spike_is_not_divergence():
    spike = range(4, 4 + BLOWUP_CHECKS - 1)
    t = _trainer(Terms(blow=lambda call: 1e6 if call in spike else 1.0), _identify())
    assert t.run().status == "completed"


def test_growing_adaptive_weights_are_not_a_blow_up():
    # the weighted total grows 1e12-fold over the run; the unweighted terms do not
    t = _trainer(Terms(), _identify(), weighting=Growing())
    assert t.run().status == "completed"
    assert t.last_row.total > 1e11 * sum(t.last_row.losses.values())


def test_the_reference_is_each_phase_start():
    # the second phase starts 1e6 times higher than the first (a new objective, as a
    # continuation stage or a time window brings) and stays there: no divergence
    t = _trainer(Terms(blow=lambda call: 1e6 if call > 20 else 1.0),
                 [Phase("pretrain", 20, "adam", 1e-2)] + _identify(20))
    assert t.run().status == "completed"


def test_a_retry_goes_back_to_a_checkpoint_from_before_the_blow_up():
    # the blow-up starts at the 4th evaluation of the first attempt; the checkpoint at step 6
    # is taken while it is on, so the retry goes back to step 0 (then no blow-up)
    t = _trainer(Terms(blow=lambda call: 1e6 if 3 < call < 100 else 1.0), _identify(),
                 retries=1, checkpoint_every=6)
    assert t.run().status == "completed"
    assert len(t.retried) == 1 and t.step == 40


# --- an unknown that never moves ---------------------------------------------------------------
def test_an_unknown_that_never_moves_while_pulled_has_stalled():
    t = _trainer(Terms(), _identify(unknowns_lr=1e-12))
    with pytest.raises(StalledError, match="unknown 'k' never moved from 0.5.*its gradient was "
                                           "not negligible") as err:
        t.run()
    assert err.value.unknowns == ["k"] and err.value.exit_code == 4


def test_an_unknown_held_at_its_bound_has_stalled_and_the_message_says_so():
    # the guess is the lower bound and the loss pulls k below it: every step is projected back
    net = nn.Linear(1, 1)
    unknowns = Unknowns([Unknown("k", 0.5, transform="log", bounds=(0.5, 1.0))])
    t = Trainer(net=net, unknowns=unknowns, losses=Terms(), weighting=Weighting(),
                phases=_identify(), log_every=5)
    with pytest.raises(StalledError, match=r"it sits at its bound \[0.5, 1.0\]"):
        t.run()


def test_an_unknown_that_never_moves_while_the_data_misfit_stays_has_stalled():
    # k is absent from the loss (no gradient) and the network cannot learn (lr 1e-12)
    t = _trainer(Terms(pull=lambda k: 0 * k), _identify(lr=1e-12, unknowns_lr=1e-12))
    with pytest.raises(StalledError, match="the data loss did not fall"):
        t.run()


def test_an_unknown_the_loss_ignores_has_not_stalled_when_the_data_are_fitted():
    # no gradient and a data loss that falls: a question for the diagnostics, not a stall
    t = _trainer(Terms(pull=lambda k: 0 * k), _identify(steps=100, lr=5e-2))
    assert t.run().status == "completed"


def test_a_moving_unknown_has_not_stalled():
    t = _trainer(Terms(), _identify())
    assert t.run().status == "completed"
    assert t.watch["moved"] == {"k": True}


def test_too_short_a_training_is_not_judged():
    t = _trainer(Terms(), _identify(steps=STALL_MIN_STEPS - 1, unknowns_lr=1e-12))
    assert t.run().status == "completed"


def test_the_watch_survives_a_checkpoint_and_an_older_one_without_it():
    saved = []
    t = _trainer(Terms(), _identify(unknowns_lr=1e-12), checkpoint_every=20)
    t.hooks.on_checkpoint = saved.append
    with pytest.raises(StalledError):
        t.run()
    mid = next(s for s in saved if s["step"] == 20)
    resumed = _trainer(Terms(), _identify(unknowns_lr=1e-12))
    resumed.load_state_dict(mid)
    assert resumed.watch["trained"] == 20 and resumed.watch["theta0"] == t.watch["theta0"]
    with pytest.raises(StalledError):
        resumed.run()
    old = {k: v for k, v in mid.items() if k != "watch"}  # a checkpoint from before the watch
    resumed = _trainer(Terms(), _identify(unknowns_lr=1e-12))
    resumed.load_state_dict(old)
    with pytest.raises(StalledError, match="in 20 steps"):  # watched from the resume on
        resumed.run()


def test_the_thresholds_are_the_documented_ones():
    assert (BLOWUP_FACTOR, BLOWUP_CHECKS) == (1e4, 10)
    assert (health.STALL_MOVE, STALL_MIN_STEPS, health.NEGLIGIBLE) == \
        (1e-6, 10, 1e-6)
