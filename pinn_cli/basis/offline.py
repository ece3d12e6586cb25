"""IP-Basis PINNs (Manor & Kohandel 2025, "IP-Basis PINNs: Efficient Multi-Query Inverse
Parameter Estimation", arXiv 2509.07245): train once, answer many inverse queries.

Offline (`train_basis`, the paper's Section 2.1): a body network R maps the inputs to `n_basis`
functions Φ per field; K readouts u_k = Φ W_k + b_k, each tied to parameter values θ_k drawn
over the offline ranges, are trained with R on the mean over k of the residual and condition
losses of u_k with θ_k. Validation and early stopping (Section 2.4): held-out inverse queries on
the problem's reference solution; the R with the smallest error is kept.

Online (`fit_query`, Section 2.2): R frozen; Φ and the input derivatives the equations need are
computed once at every point, in one forward-mode Taylor pass (Section 2.3; derivatives.Jet),
then only a fresh readout (W, b) and the unknowns are fitted to data + residual + conditions.

Beyond the paper (its open question of a closed form for the inverse case): when every residual
and condition is affine in the fields (`is_linear`), the optimal readout for given unknowns is a
ridge least-squares solve, and only the unknowns are optimised by L-BFGS on that projected loss
(variable projection, Golub & Pereyra 1973). Otherwise readout and unknowns are fitted by
gradient descent, as in the paper.
"""
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch

from pinn_cli.io.collocation import sample_box
from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.workflows.generate import solve
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Derivative, Problem

log = logging.getLogger("pinn-basis")

FORMAT = "pinn-basis/1"
EDGE = 0.02  # an estimate this close to an edge of its range, as a fraction of the range's width


@dataclass
class Range:
    """The offline range of one unknown: [lo, hi], covered uniformly or log-uniformly."""

    lo: float
    hi: float
    sampling: str = "uniform"  # uniform | log

    def _map(self, v):
        return math.log(v) if self.sampling == "log" else float(v)

    def value(self, u: torch.Tensor) -> torch.Tensor:
        """The values at fractions u ∈ [0, 1] of the range (in log scale for log sampling)."""
        a, b = self._map(self.lo), self._map(self.hi)
        v = a + (b - a) * u
        return torch.exp(v) if self.sampling == "log" else v

    def widened(self, margin: float) -> "Range":
        """The range extended by `margin` × its width on each side (in log scale for log
        sampling, so the low end stays positive)."""
        if margin == 0:
            return self
        a, b = self._map(self.lo), self._map(self.hi)
        lo, hi = a - margin * (b - a), b + margin * (b - a)
        if self.sampling == "log":
            lo, hi = math.exp(lo), math.exp(hi)
        return Range(lo, hi, self.sampling)

    def position(self, v: float) -> float:
        """Where v lies: 0 at lo, 1 at hi (in log scale for log sampling), outside for < 0, > 1."""
        a, b = self._map(self.lo), self._map(self.hi)
        return (self._map(v) - a) / (b - a) if v > 0 or self.sampling != "log" else -math.inf


def ranges_for(problem: Problem, ranges: Dict[str, dict]) -> Dict[str, Range]:
    """Check `ranges` ({unknown: {lo, hi, sampling}}) against the problem's unknowns."""
    names = [u.name for u in problem.unknowns]
    if sorted(ranges) != sorted(names):
        raise PinnFitError(f"basis ranges are given for {sorted(ranges)}; give one for each "
                           f"unknown {names}, e.g. {names[0]}: {{lo: 0.1, hi: 1.0}}")
    out = {}
    for name in names:
        try:
            r = Range(**ranges[name])
            r = Range(float(r.lo), float(r.hi), r.sampling)
        except (TypeError, ValueError):  # not a mapping, other keys, lo or hi not a number
            raise PinnFitError(f"range of {name}: {ranges[name]!r}; give {{lo, hi}} (numbers) "
                               "and optionally sampling (uniform | log)") from None
        if r.sampling not in ("uniform", "log"):
            raise PinnFitError(f"range of {name}: sampling={r.sampling!r}; choose uniform or log")
        if not (math.isfinite(r.lo) and math.isfinite(r.hi) and r.lo < r.hi) or \
                (r.sampling == "log" and r.lo <= 0):
            raise PinnFitError(f"range of {name}: [{r.lo}, {r.hi}] must be finite with lo < hi "
                               "(and lo > 0 for log sampling)")
        out[name] = r
    return out


def sample_parameters(ranges: Dict[str, Range], n: int, seed: int) -> Dict[str, torch.Tensor]:
    """n parameter sets spread over the ranges by a scrambled Sobol draw: {unknown: (n,)}."""
    u = torch.quasirandom.SobolEngine(len(ranges), scramble=True, seed=seed).draw(n)
    u = u.to(torch.get_default_dtype())
    return {name: r.value(u[:, i]) for i, (name, r) in enumerate(ranges.items())}


def query_points(problem: Problem, n_points: int, n_condition_points: int, seed: int):
    """Residual points in the domain and the points of each condition (collocation.sample_box,
    Sobol): (colloc_x, [cond_x per condition])."""
    colloc = sample_box(problem.domain, n_points, "sobol", seed)
    cond = [sample_box(problem.domain, n_condition_points, "sobol", seed + 1 + i, at)
            for i, (_, at) in enumerate(problem.conditions)]
    return colloc, cond


def reference_observations(problem: Problem, truth: Dict[str, float], n_obs: int, seed: int,
                           noise: float = 0.0):
    """n_obs random nodes of the reference solution (pinn_cli.workflows.generate.solve) with the unknowns
    at `truth`, every field observed, Gaussian noise of `noise` × std(field):
    (obs_x (n_obs, n_inputs), obs_y (n_obs, n_fields))."""
    axes, fields = solve(problem, truth)
    grid = np.stack(np.meshgrid(*axes.values(), indexing="ij"), -1).reshape(-1, len(axes))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(grid), size=min(n_obs, len(grid)), replace=False)
    y = np.stack([np.asarray(fields[f]).reshape(-1)[pick] for f in problem.outputs], 1)
    y = y + noise * y.std(0) * rng.standard_normal(y.shape)
    return grid[pick], y


def is_linear(problem: Problem, ranges: Dict[str, Range], seed: int = 0) -> bool:
    """Whether every residual and condition is affine in the fields and their derivatives, tested
    numerically in float64 at random points, field values and unknowns drawn in their ranges
    (so that a coefficient at 0, e.g. Burgers' lambda1 guess, cannot hide a nonlinear term):
    r(a + b) + r(0) = r(a) + r(b). Python-callable residuals are tested the same way."""
    g = torch.Generator().manual_seed(seed)
    eqs = problem.residuals + [eq for eq, _ in problem.conditions]
    names = [problem.derivative_name(d) for d in problem.needs(eqs)]
    n, f64 = 16, torch.float64
    x = {k: lo + (hi - lo) * torch.rand(n, generator=g, dtype=f64)
         for k, (lo, hi) in problem.domain.items()}
    u = torch.rand(len(ranges), generator=g, dtype=f64)
    params = {k: r.value(u[i]) for i, (k, r) in enumerate(ranges.items())}
    a, b = ({k: torch.randn(n, generator=g, dtype=f64) for k in names} for _ in range(2))
    zero = {k: torch.zeros(n, dtype=f64) for k in names}

    def r(values):
        return problem.evaluate(eqs, x | values, params)

    ra, rb, r0 = r(a), r(b), r(zero)
    rab = r({k: a[k] + b[k] for k in names})
    for k in ra:
        lhs, rhs = rab[k] + r0[k], ra[k] + rb[k]
        scale = 1 + ra[k].abs().max() + rb[k].abs().max() + r0[k].abs().max()
        if not torch.all(torch.isfinite(lhs) & torch.isfinite(rhs)) or \
                (lhs - rhs).abs().max() > 1e-9 * scale:
            return False
    return True


class Basis:
    """The offline product: the body network R (an MLP whose head gives `n_basis` functions per
    field, on the inputs scaled to [-1, 1]), the offline readouts W_k, b_k with their θ_k, the
    parameter ranges, and the training history. `save`/`load` keep it with what rebuilds it."""

    def __init__(self, problem_name: str, inputs: List[str], outputs: List[str],
                 domain: Dict[str, Sequence[float]], n_basis: int, ranges: Dict[str, Range],
                 width: int, depth: int, activation: str = "tanh"):
        if n_basis < 1:
            raise PinnFitError(f"n_basis={n_basis}: give at least 1 basis function per field")
        self.problem_name, self.inputs, self.outputs = problem_name, list(inputs), list(outputs)
        self.domain = {k: tuple(float(v) for v in domain[k]) for k in self.inputs}
        self.n_basis, self.ranges = int(n_basis), dict(ranges)
        self.width, self.depth, self.activation = int(width), int(depth), activation
        n = len(self.outputs) * self.n_basis
        self.net = MLP([self.domain[k] for k in self.inputs], [0.0] * n, [1.0] * n, self.width,
                       self.depth, activation)
        # column f * n_basis + j of the head: basis function j of field f
        self.names = [f"{f}:{j}" for f in self.outputs for j in range(self.n_basis)]
        self.readouts = self.bias = None  # the offline readouts: W (F, P, K), b (F, K)
        self.thetas: Dict[str, torch.Tensor] = {}
        self.history: dict = {}

    def features(self, x: torch.Tensor, needs: List[Derivative], create_graph: bool = False
                 ) -> Dict[Derivative, torch.Tensor]:
        """Φ and its input derivatives at x by one forward-mode Taylor pass of R (the paper's
        Section 2.3): {(field, input indices): (N, n_basis)} for each derivative in `needs`."""
        wanted = [(f"{f}:{j}", idx) for f, idx in needs for j in range(self.n_basis)]
        with torch.set_grad_enabled(create_graph):
            vals = evaluate_fields(self.net, x, wanted, self.names, create_graph, "taylor")
        return {(f, idx): torch.stack([vals[(f"{f}:{j}", idx)] for j in range(self.n_basis)], 1)
                for f, idx in needs}

    def check(self, problem: Problem) -> None:
        """Refuse a problem other than the one the basis was trained for."""
        got = (problem.name, problem.inputs, problem.outputs, sorted(u.name for u in
                                                                      problem.unknowns))
        want = (self.problem_name, self.inputs, self.outputs, sorted(self.ranges))
        if got != want:
            raise PinnFitError(f"the basis was trained for problem {want[0]} (inputs {want[1]}, "
                               f"fields {want[2]}, unknowns {want[3]}), not {got[0]} (inputs "
                               f"{got[1]}, fields {got[2]}, unknowns {got[3]}); train one for it")

    def settings(self) -> dict:
        return {"problem_name": self.problem_name, "inputs": self.inputs, "outputs": self.outputs,
                "domain": {k: list(v) for k, v in self.domain.items()},
                "n_basis": self.n_basis, "width": self.width, "depth": self.depth,
                "activation": self.activation,
                "ranges": {k: asdict(r) for k, r in self.ranges.items()}}

    def save(self, path) -> Path:
        path = Path(path)
        torch.save({"format": FORMAT, "settings": self.settings(),
                    "dtype": str(next(self.net.parameters()).dtype).removeprefix("torch."),
                    "state": self.net.state_dict(), "readouts": self.readouts,
                    "bias": self.bias, "thetas": self.thetas, "history": self.history}, path)
        return path

    @classmethod
    def load(cls, path) -> "Basis":
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise PinnFitError(f"{path} cannot be read as a basis ({type(err).__name__}: "
                               f"{err}); give the file that train_basis saved") from None
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise PinnFitError(f"{path} is not a basis file of format {FORMAT}")
        s = blob["settings"]
        with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten
            basis = cls(**(s | {"ranges": {k: Range(**r) for k, r in s["ranges"].items()}}))
        basis.net.to(getattr(torch, blob["dtype"])).load_state_dict(blob["state"])
        basis.net.requires_grad_(False)
        basis.readouts, basis.bias = blob["readouts"], blob["bias"]
        basis.thetas, basis.history = blob["thetas"], blob["history"]
        return basis


class _Points:
    """The points of every loss term in one tensor, so that one Taylor pass of R gives Φ and
    its derivatives at all of them: observations (optional), residual points, each condition's."""

    def __init__(self, problem: Problem, colloc_x, cond_x, obs_x=None):
        if len(cond_x) != len(problem.conditions):
            raise PinnFitError(f"{len(problem.conditions)} conditions but {len(cond_x)} point "
                               "sets (one per condition, in the order of pde.conditions)")
        parts = ([obs_x] if obs_x is not None else []) + [colloc_x] + list(cond_x)
        self.x = torch.cat(parts)
        ends = np.cumsum([0] + [len(p) for p in parts])
        self.slices = [slice(a, b) for a, b in zip(ends[:-1], ends[1:])]
        self.needs = problem.needs(problem.residuals + [eq for eq, _ in problem.conditions])

    def split(self, feats):
        """(features, x) of each part: observations if any, residual points, each condition."""
        return [({d: v[s] for d, v in feats.items()}, self.x[s]) for s in self.slices]


def _values(problem: Problem, feats, x, W, b) -> Dict[str, torch.Tensor]:
    """What problem.evaluate takes for the readouts u_f = Φ_f W_f + b_f, side by side: W
    (F, P, C), b (F, C) give every field and derivative as (N, C), the inputs expanded to it."""
    n, c = x.shape[0], W.shape[-1]
    out = {name: x[:, i:i + 1].expand(n, c) for i, name in enumerate(problem.inputs)}
    for (f, idx), phi in feats.items():
        j = problem.outputs.index(f)
        out[problem.derivative_name((f, idx))] = phi @ W[j] + (0 if idx else b[j])
    return out


def _terms(problem: Problem, parts, W, b, params, obs=None) -> Dict[str, torch.Tensor]:
    """Pointwise residual (N, C) of each loss term for the C readouts (W, b); `obs` = (obs_y,
    columns of obs_y's fields) adds the data misfit, observed fields stacked by rows."""
    out = {}
    if obs is not None:
        (feats, x), parts = parts[0], parts[1:]
        y, cols = obs
        vals = _values(problem, {d: v for d, v in feats.items() if not d[1]}, x, W, b)
        out["data"] = torch.cat([vals[problem.outputs[c]] - y[:, i:i + 1]
                                 for i, c in enumerate(cols)])
    feats, x = parts[0]
    out |= problem.evaluate(problem.residuals, _values(problem, feats, x, W, b), params)
    for (eq, _), (feats, x) in zip(problem.conditions, parts[1:]):
        out |= problem.evaluate([eq], _values(problem, feats, x, W, b), params)
    return out


def _weights(problem: Problem, weights, data: bool) -> Dict[str, float]:
    terms = (["data"] if data else []) + [e.name for e in problem.residuals] + \
        [e.name for e, _ in problem.conditions]
    bad = sorted(set(weights or {}) - set(terms))
    if bad:
        raise PinnFitError(f"weights name {bad}, which are not loss terms; terms are {terms}")
    return {t: float((weights or {}).get(t, 1.0)) for t in terms}


def _supported(problem: Problem) -> None:
    if problem.hard or problem.periodic:
        raise PinnFitError(f"problem {problem.name}: hard constraints and periodic inputs (by loss "
                           "or by embedding) are not supported by IP-Basis yet; use conditions "
                           "(pde.conditions) instead")


def train_basis(problem: Problem, ranges: Dict[str, dict], n_basis: int = 16,
                n_readouts: int = 16, steps: int = 3000, lr: float = 1e-3,
                lbfgs_steps: int = 0, seed: int = 0, width: int = 32, depth: int = 3,
                activation: str = "tanh", n_points: int = 500, n_condition_points: int = 32,
                weights: Dict[str, float] | None = None, n_validation: int = 3,
                validate_every: int = 500, patience: int = 4, n_obs: int = 100,
                query_options: dict | None = None, margin: float = 0.0) -> Basis:
    """The offline phase of IP-Basis PINNs (Manor & Kohandel 2025, Section 2.1, with the
    validation and early stopping of Section 2.4).

    R (nets.MLP, `width` × `depth`, `activation`; `n_basis` functions per field) and K =
    `n_readouts` readouts (W_k, b_k), each tied to θ_k from a seeded Sobol draw over `ranges`
    ({unknown: {lo, hi, sampling: uniform | log}}) widened by `margin` × the width on each side
    (Range.widened: queries near the edges of the offline draw are the least accurate, the
    paper's Section 2.4; the basis keeps and reports against `ranges`), minimise the mean over k of Σ_terms weight
    × mean squared residual and condition values of u_k = Φ W_k + b_k with θ_k, at `n_points`
    residual points and `n_condition_points` per condition: Adam (`steps`, `lr`) then L-BFGS
    (`lbfgs_steps`). Every `validate_every` steps (and at the end), `n_validation` held-out θ
    (another Sobol draw) are recovered by `fit_query` (with the keywords `query_options`) from
    `n_obs` nodes of the reference solution (`pde.reference`; without one, the last state is
    kept): the state of R and the readouts with the smallest mean relative error of the
    unknowns is kept, and training stops after `patience` validations without improvement.
    The problem needs conditions (initial/boundary): without them every readout collapses to
    u = 0, which solves a homogeneous residual for every θ."""
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

    held_out = _held_out(problem, basis, rng, n_validation, seed, n_obs, n_points,
                         n_condition_points, query_options or {})
    best = {"error": math.inf, "step": 0, "state": None}
    curve, stale = [], 0

    def validate(step, value):
        nonlocal stale
        error = held_out() if held_out else math.nan
        curve.append({"step": step, "loss": value, "validation_error": error})
        log.info("basis step %d: loss %.3e, validation error %.3e", step, value, error)
        if not held_out or best["state"] is None or error < best["error"]:
            best.update(error=error, step=step, state=[t.detach().clone() for t in params])
            stale = 0
        else:
            stale += 1
        return stale >= patience

    adam = torch.optim.Adam(params, lr=lr)
    lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=25, history_size=50,
                              line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                              tolerance_change=1e-15)

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
    if not stopped and (not curve or curve[-1]["step"] != step):
        validate(step, value)
    with torch.no_grad():
        for t, s in zip(params, best["state"]):
            t.copy_(s)
    basis.net.requires_grad_(False)
    basis.readouts, basis.bias = W.detach().clone(), b.detach().clone()
    basis.thetas = {k: v.detach().clone() for k, v in thetas.items()}
    basis.history = {"seconds": time.perf_counter() - start, "steps": step,
                     "best_step": best["step"], "validation_error": best["error"],
                     "early_stopped": stopped, "curve": curve, "n_readouts": n_readouts,
                     "seed": seed, "margin": margin}
    return basis


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


class _Query:
    """One online query (Section 2.2): Φ and its derivatives at all points, computed once in
    float64; the loss terms of readouts (W, b) from them by matrix products only."""

    def __init__(self, basis: Basis, problem: Problem, obs_x, obs_y, obs_fields, colloc_x,
                 cond_x, weights):
        f64 = torch.float64
        dtype = next(basis.net.parameters()).dtype
        as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64)).to(dtype)
        bad = [f for f in obs_fields if f not in problem.outputs]
        if bad:
            raise PinnFitError(f"observed fields {bad} are not fields of {problem.name}: "
                               f"{problem.outputs}")
        self.problem = problem
        obs_y = torch.as_tensor(np.asarray(obs_y, dtype=np.float64))
        if obs_y.ndim != 2 or obs_y.shape[1] != len(obs_fields) or len(obs_y) != len(obs_x):
            raise PinnFitError(f"obs_y has shape {tuple(obs_y.shape)}: give one row per point of "
                               f"obs_x ({len(obs_x)}) and one column per field of {obs_fields}")
        self.obs = (obs_y, [problem.outputs.index(f) for f in obs_fields])
        pts = _Points(problem, as_t(colloc_x), [as_t(c) for c in cond_x], as_t(obs_x))
        feats = {d: v.to(f64) for d, v in basis.features(pts.x, pts.needs).items()}
        self.parts = [(f, x.to(f64)) for f, x in pts.split(feats)]
        self.weights = _weights(problem, weights, data=True)
        n_f, p = len(problem.outputs), basis.n_basis
        self.shape = (n_f, p)
        # The readout as one vector c of n_f (p + 1) entries, field by field [W_f, b_f]: the
        # selections below give every entry its own column of the terms (the system matrix).
        eye = torch.eye(n_f * (p + 1), dtype=f64).reshape(n_f, p + 1, -1)
        self.select = (eye[:, :p], eye[:, p])
        self.zero = (torch.zeros(n_f, p, 1, dtype=f64), torch.zeros(n_f, 1, dtype=f64))
        self.ridge = None

    def terms(self, W, b, params):
        return _terms(self.problem, self.parts, W, b, params, self.obs)

    def loss(self, W, b, params):
        """Σ weight × mean square of each term, and the terms' values."""
        terms = {k: v.square().mean() for k, v in self.terms(W, b, params).items()}
        return sum(self.weights[k] * v for k, v in terms.items()), terms

    @torch.no_grad()
    def solve(self, params, only_data: bool = False):
        """The readout minimising the loss for the given unknowns, affine terms assumed: the
        weighted rows of every term (only the data's with `only_data`) stacked into one ridge
        least-squares problem. Returns (W (F, P, 1), b (F, 1))."""
        params = {k: v.detach() for k, v in params.items()}
        cols, const = self.terms(*self.select, params), self.terms(*self.zero, params)
        keep = ["data"] if only_data else list(cols)
        scale = {k: math.sqrt(self.weights[k] / len(const[k])) for k in keep}
        A = torch.cat([scale[k] * (cols[k] - const[k]) for k in keep])
        rhs = torch.cat([-scale[k] * const[k] for k in keep])
        if self.ridge is None:  # fixed once, so that every solve minimises the same objective
            self.ridge = 1e-10 * float(A.square().sum()) / A.shape[1]
        n = A.shape[1]
        A = torch.cat([A, math.sqrt(self.ridge) * torch.eye(n, dtype=A.dtype)])
        rhs = torch.cat([rhs, rhs.new_zeros(n, 1)])
        c = torch.linalg.lstsq(A, rhs).solution.reshape(self.shape[0], self.shape[1] + 1)
        return c[:, :-1, None], c[:, -1:]


def fit_query(basis: Basis, problem: Problem, obs_x, obs_y, obs_fields: List[str], colloc_x,
              cond_x, weights: Dict[str, float] | None = None, method: str = "auto",
              steps: int = 300, lr: float = 1e-2, lbfgs_steps: int = 200) -> dict:
    """One online inverse query of IP-Basis PINNs (Manor & Kohandel 2025, Section 2.2).

    R is frozen: Φ and its derivatives at the observations `obs_x` (values `obs_y` of the fields
    `obs_fields`, one column each), the residual points `colloc_x` and each condition's points
    `cond_x` come from one forward-mode pass. The unknowns start from their guess (the middle of
    the basis's range where the guess lies outside it) and train through their transforms.
    method "varpro" (what "auto" picks when `is_linear`): the readout is the ridge least-squares
    solution for the current unknowns and L-BFGS (`lbfgs_steps`) moves the unknowns alone, the
    gradient by the envelope theorem (the readout optimal, its own derivative drops out).
    method "gradient" (the paper's): readout, started at the least-squares fit of the data, and
    unknowns by Adam (`steps`, `lr`) then L-BFGS. Loss: Σ weight × mean square of the data
    misfit, the residuals and the conditions.

    Returns {"estimates", "method", "losses" (each term), "loss" (weighted total), "gradients"
    ({term: {unknown: ∂L_term/∂k}}, the readout held at its final value, as pinn-fit logs them
    with the network held), "steps" ({"adam", "lbfgs"}), "wall_seconds", "range" ({unknown:
    {lo, hi, position, outside_range, at_range_edge}}), "warnings"}: `position` is 0 at the
    range's low end and 1 at its high end; `at_range_edge` within 2 % of the width of an edge,
    inside."""
    start = time.perf_counter()
    basis.check(problem)
    _supported(problem)
    if method not in ("auto", "varpro", "gradient"):
        raise PinnFitError(f"method={method!r}: choose auto, varpro or gradient")
    linear = is_linear(problem, basis.ranges)
    if method == "varpro" and not linear:
        raise PinnFitError(f"method=varpro needs residuals and conditions affine in the fields; "
                           f"those of {problem.name} are not: use method=gradient or auto")
    method = ("varpro" if linear else "gradient") if method == "auto" else method
    query = _Query(basis, problem, obs_x, obs_y, obs_fields, colloc_x, cond_x, weights)
    # float64 from the guess on: not the guess rounded to whatever default dtype is set
    unknowns = Unknowns(problem.unknowns, torch.float64)
    with torch.no_grad():
        for u in problem.unknowns:
            r = basis.ranges[u.name]
            if not 0 <= r.position(u.guess) <= 1:
                unknowns.raw[u.name].fill_(u.to_raw(float(r.value(torch.tensor(0.5)))))
    n_adam = 0
    if method == "varpro":
        readout = lambda: query.solve(unknowns.physical())
        trained = list(unknowns.parameters())
    else:
        W, b = (torch.nn.Parameter(t) for t in query.solve(unknowns.physical(), only_data=True))
        readout = lambda: (W, b)
        trained = [W, b] + list(unknowns.parameters())
        adam = torch.optim.Adam(trained, lr=lr)
        for n_adam in range(1, steps + 1):
            adam.zero_grad()
            query.loss(W, b, unknowns.physical())[0].backward()
            adam.step()
            unknowns.project()
    lbfgs = torch.optim.LBFGS(trained, lr=1.0, max_iter=lbfgs_steps, history_size=50,
                              line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                              tolerance_change=1e-15)

    def closure():
        lbfgs.zero_grad()
        value = query.loss(*readout(), unknowns.physical())[0]
        value.backward()
        return value

    if lbfgs_steps:
        lbfgs.step(closure)
        unknowns.project()
    with torch.no_grad():
        total, terms = query.loss(*readout(), unknowns.physical())
        est = {k: float(v) for k, v in unknowns.physical().items()}
    report, warnings = range_report(basis, est)
    state = lbfgs.state[trained[0]]
    return {"estimates": est, "method": method, "loss": float(total),
            "losses": {k: float(v) for k, v in terms.items()},
            "gradients": _term_gradients(query, readout(), unknowns),
            "steps": {"adam": n_adam, "lbfgs": state.get("n_iter", 0)},
            "wall_seconds": time.perf_counter() - start, "range": report, "warnings": warnings}


def _term_gradients(query: _Query, readout, unknowns: Unknowns) -> Dict[str, Dict[str, float]]:
    """∂L_term/∂k of each term's mean square with the readout (W, b) held fixed."""
    params = {k: v.detach().clone().requires_grad_() for k, v in unknowns.physical().items()}
    _, terms = query.loss(*(t.detach() for t in readout), params)
    out = {}
    for term, value in terms.items():
        grads = torch.autograd.grad(value, list(params.values()), allow_unused=True,
                                    retain_graph=True) if value.requires_grad else \
            [None] * len(params)
        out[term] = {k: float(g) if g is not None else 0.0 for k, g in zip(params, grads)}
    return out


def range_report(basis: Basis, estimates: Dict[str, float]):
    """Where each estimate lies in the basis's offline range, and a warning for those outside
    it or within `EDGE` of its width from an edge, where a basis is least accurate (the
    paper's Section 3.2, Table 5)."""
    report, warnings = {}, []
    for k, v in estimates.items():
        r = basis.ranges[k]
        pos = r.position(v)
        outside, edge = not 0 <= pos <= 1, 0 <= pos <= 1 and min(pos, 1 - pos) <= EDGE
        report[k] = {"lo": r.lo, "hi": r.hi, "position": pos, "outside_range": outside,
                     "at_range_edge": edge}
        if outside or edge:
            warnings.append(f"{k} = {v:.6g} is {'outside' if outside else 'at the edge of'} the "
                            f"basis's range [{r.lo:g}, {r.hi:g}]; the basis is least accurate "
                            "there: widen the range and train a new basis")
    return report, warnings
