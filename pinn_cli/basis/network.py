"""The IP-Basis network (Manor & Kohandel 2025, Section 2.1): a body R mapping the inputs to
`n_basis` functions Φ per field, with the readouts u = Φ W + b; the loss terms of a readout
at its points, shared by the offline training and the online queries."""
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch

from pinn_cli.basis.ranges import Range
from pinn_cli.errors import PinnFitError
from pinn_cli.io.collocation import sample_box
from pinn_cli.model.derivatives import evaluate_fields
from pinn_cli.model.nets import MLP
from pinn_cli.problem.problem import Derivative, Problem
from pinn_cli.problem.reference import solve

FORMAT = "pinn-basis/1"


def query_points(problem: Problem, n_points: int, n_condition_points: int, seed: int):
    """Residual points in the domain and the points of each condition
    (pinn_cli.io.collocation.sample_box, Sobol): (colloc_x, [cond_x per condition])."""
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
