"""IP-Basis PINNs (Manor & Kohandel 2025, "IP-Basis PINNs: Efficient Multi-Query Inverse
Parameter Estimation", arXiv 2509.07245): train once, answer many inverse queries.

Offline (`train_basis`, the paper's Section 2.1): a body network R maps the inputs to `n_basis`
functions Φ per field; K readouts u_k = Φ W_k + b_k, each tied to parameter values θ_k drawn
over the offline ranges, are trained with R on the mean over k of the residual and condition
losses of u_k with θ_k. Validation and early stopping (Section 2.4): held-out inverse queries on
the problem's reference solution; the R with the smallest error is kept.

Online (pinn_cli.basis.query.fit_query, Section 2.2): R frozen; Φ and the input derivatives the
equations need are computed once at every point, in one forward-mode Taylor pass (Section 2.3;
pinn_cli.model.derivatives.Jet), then only a fresh readout (W, b) and the unknowns are fitted to
data + residual + conditions.

Beyond the paper (its open question of a closed form for the inverse case): when every residual
and condition is affine in the fields (pinn_cli.basis.network.is_linear), the optimal readout
for given unknowns is a ridge least-squares solve, and only the unknowns are optimised by L-BFGS
on that projected loss (variable projection, Golub & Pereyra 1973). Otherwise readout and
unknowns are fitted by gradient descent, as in the paper.
"""
import logging
import math
import time
from typing import Dict

import numpy as np
import torch

from pinn_cli.basis.network import (Basis, _Points, _supported, _terms, _weights,
                                    query_points, reference_observations)
from pinn_cli.basis.query import fit_query
from pinn_cli.basis.ranges import ranges_for, sample_parameters
from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem
from pinn_cli.training.lbfgs import make_lbfgs

log = logging.getLogger("pinn-basis")


def train_basis(problem: Problem, ranges: Dict[str, dict], n_basis: int = 16,
                n_readouts: int = 16, steps: int = 3000, lr: float = 1e-3,
                lbfgs_steps: int = 0, seed: int = 0, width: int = 32, depth: int = 3,
                activation: str = "tanh", n_points: int = 500, n_condition_points: int = 32,
                weights: Dict[str, float] | None = None, n_validation: int = 3,
                validate_every: int = 500, patience: int = 4, n_obs: int = 100,
                query_options: dict | None = None, margin: float = 0.0) -> Basis:
    """The offline phase of IP-Basis PINNs (Manor & Kohandel 2025, Section 2.1, with the
    validation and early stopping of Section 2.4).

    R (pinn_cli.model.nets.MLP, `width` × `depth`, `activation`; `n_basis` functions per field)
    and K = `n_readouts` readouts (W_k, b_k), each tied to θ_k from a seeded Sobol draw over
    `ranges` ({unknown: {lo, hi, sampling: uniform | log}}) widened by `margin` × the width on
    each side (Range.widened: queries near the edges of the offline draw are the least accurate,
    the paper's Section 2.4; the basis keeps and reports against `ranges`), minimise the mean
    over k of Σ_terms weight × mean squared residual and condition values of u_k = Φ W_k + b_k
    with θ_k, at `n_points` residual points and `n_condition_points` per condition: Adam
    (`steps`, `lr`) then L-BFGS (`lbfgs_steps`). Every `validate_every` steps (and at the end),
    `n_validation` held-out θ (another Sobol draw) are recovered by `fit_query` (with the
    keywords `query_options`) from `n_obs` nodes of the reference solution (`pde.reference`;
    without one, the last state is kept): the state of R and the readouts with the smallest mean
    relative error of the unknowns is kept, and training stops after `patience` validations
    without improvement.
    The problem needs conditions (initial/boundary): without them every readout collapses to
    u = 0, which solves a homogeneous residual for every θ."""
    _check(problem, n_readouts, steps, lbfgs_steps, validate_every, margin)
    rng = ranges_for(problem, ranges)
    w = _weights(problem, weights, data=False)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        basis = Basis(problem.name, problem.inputs, problem.outputs, problem.domain, n_basis,
                      rng, width, depth, activation)
        n_f, p = len(problem.outputs), basis.n_basis
        W = torch.nn.Parameter(torch.randn(n_f, p, n_readouts) / math.sqrt(p))
        b = torch.nn.Parameter(torch.zeros(n_f, n_readouts))
    thetas = sample_parameters({k: r.widened(margin) for k, r in rng.items()}, n_readouts, seed)
    pts = _Points(problem, *query_points(problem, n_points, n_condition_points, seed))
    params = list(basis.net.parameters()) + [W, b]

    def loss():
        r = _terms(problem, pts.split(basis.features(pts.x, pts.needs, True)), W, b, thetas)
        return sum(w[k] * v.square().mean() for k, v in r.items())

    validate = _Validation(_held_out(problem, basis, rng, n_validation, seed, n_obs, n_points,
                                     n_condition_points, query_options or {}), params, patience)
    step, stopped = _optimise(loss, params, steps, lbfgs_steps, lr, validate_every, validate)
    best = validate.best
    with torch.no_grad():
        for t, s in zip(params, best["state"]):
            t.copy_(s)
    basis.net.requires_grad_(False)
    basis.readouts, basis.bias = W.detach().clone(), b.detach().clone()
    basis.thetas = {k: v.detach().clone() for k, v in thetas.items()}
    basis.history = {"seconds": time.perf_counter() - start, "steps": step,
                     "best_step": best["step"], "validation_error": best["error"],
                     "early_stopped": stopped, "curve": validate.curve, "n_readouts": n_readouts,
                     "seed": seed, "margin": margin}
    return basis


def _check(problem, n_readouts, steps, lbfgs_steps, validate_every, margin) -> None:
    _supported(problem)
    if not problem.conditions:
        raise PinnFitError(f"problem {problem.name} declares no conditions: a basis trained on "
                           "the residual alone collapses to u = 0; declare the initial/boundary "
                           "conditions that the queries' data follow (pde.conditions)")
    if n_readouts < 1 or min(steps, lbfgs_steps) < 0 or steps + lbfgs_steps < 1 or \
            validate_every < 1:
        raise PinnFitError("train_basis: n_readouts >= 1, steps and lbfgs_steps >= 0 (not both "
                           "0) and validate_every >= 1 are needed")
    if not (math.isfinite(margin) and margin >= 0):
        raise PinnFitError(f"margin={margin}: give a fraction >= 0 of each range's width (e.g. "
                           "0.1) by which the readouts' draw extends the range on each side")


class _Validation:
    """Validation and early stopping (Section 2.4): `held_out()` (the mean relative error of
    held-out queries, or None without a reference solution) at each call; the parameters with
    the smallest error so far are kept in `best`; a call returns True after `patience` calls
    without improvement."""

    def __init__(self, held_out, params, patience):
        self.held_out, self.params, self.patience = held_out, params, patience
        self.best = {"error": math.inf, "step": 0, "state": None}
        self.curve, self.stale = [], 0

    def __call__(self, step, value) -> bool:
        error = self.held_out() if self.held_out else math.nan
        self.curve.append({"step": step, "loss": value, "validation_error": error})
        log.info("basis step %d: loss %.3e, validation error %.3e", step, value, error)
        if not self.held_out or self.best["state"] is None or error < self.best["error"]:
            self.best.update(error=error, step=step,
                             state=[t.detach().clone() for t in self.params])
            self.stale = 0
        else:
            self.stale += 1
        return self.stale >= self.patience


def _optimise(loss, params, steps, lbfgs_steps, lr, validate_every, validate):
    """Adam (`steps`), then L-BFGS (`lbfgs_steps`), validated every `validate_every` steps and
    at the end: (the last step, whether validation stopped it early)."""
    adam = torch.optim.Adam(params, lr=lr)
    lbfgs = make_lbfgs(params, max_iter=1, max_eval=25, history_size=50, compact=False)

    def closure():
        lbfgs.zero_grad()
        value = loss()
        value.backward()
        return value

    value, stopped = math.nan, False
    for step in range(1, steps + lbfgs_steps + 1):
        if step <= steps:
            adam.zero_grad()
            value = loss()
            value.backward()
            adam.step()
        else:
            value = lbfgs.step(closure)
        value = float(value.detach())
        if not math.isfinite(value):
            raise PinnFitError(f"basis training diverged at step {step} (loss {value}); lower "
                               "lr or the number of readouts")
        if step % validate_every == 0 and validate(step, value):
            stopped = True
            break
    if not stopped and (not validate.curve or validate.curve[-1]["step"] != step):
        validate(step, value)
    return step, stopped


def _held_out(problem, basis, rng, n, seed, n_obs, n_points, n_condition_points, options):
    """The validation of Section 2.4 as a function () -> mean relative error of the unknowns
    over `n` held-out inverse queries (another Sobol draw), None without a reference solver."""
    if not n or problem.reference is None:
        return None
    truths = sample_parameters(rng, n, seed + 7919)
    queries = []
    for i in range(n):
        truth = {k: float(v[i]) for k, v in truths.items()}
        obs_x, obs_y = reference_observations(problem, truth, n_obs, seed + i)
        queries.append((truth, obs_x, obs_y))
    colloc, cond = query_points(problem, n_points, n_condition_points, seed + 104729)

    def error():
        errs = []
        for truth, obs_x, obs_y in queries:
            est = fit_query(basis, problem, obs_x, obs_y, problem.outputs, colloc, cond,
                            **options)["estimates"]
            errs.append(max(abs(est[k] - t) / (abs(t) or rng[k].hi - rng[k].lo)
                            for k, t in truth.items()))
        e = float(np.mean(errs))
        return e if math.isfinite(e) else math.inf

    return error
