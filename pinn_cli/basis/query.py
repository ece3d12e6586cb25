"""IP-Basis online queries (Manor & Kohandel 2025, Section 2.2): the body R frozen, Φ and the
input derivatives the equations need computed once at every point, then only a fresh readout
(W, b) and the unknowns fitted to data + residual + conditions; by variable projection where
every equation is affine in the fields (a ridge least-squares readout for given unknowns, Golub
& Pereyra 1973), else by gradient descent as in the paper."""
import math
import time
from typing import Dict, List

import numpy as np
import torch

from pinn_cli.basis.network import Basis, _Points, _supported, _terms, _weights, is_linear
from pinn_cli.basis.ranges import EDGE
from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.training.lbfgs import make_lbfgs


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


def _method(basis: Basis, problem: Problem, method: str) -> str:
    """The method a query uses: varpro where the equations are affine in the fields."""
    basis.check(problem)
    _supported(problem)
    if method not in ("auto", "varpro", "gradient"):
        raise PinnFitError(f"method={method!r}: choose auto, varpro or gradient")
    linear = is_linear(problem, basis.ranges)
    if method == "varpro" and not linear:
        raise PinnFitError(f"method=varpro needs residuals and conditions affine in the fields; "
                           f"those of {problem.name} are not: use method=gradient or auto")
    return ("varpro" if linear else "gradient") if method == "auto" else method


def _start(basis: Basis, problem: Problem) -> Unknowns:
    """The unknowns at their guess, or the middle of the basis's range where the guess lies
    outside it; float64 from the guess on, not the guess rounded to the default dtype."""
    unknowns = Unknowns(problem.unknowns, torch.float64)
    with torch.no_grad():
        for u in problem.unknowns:
            r = basis.ranges[u.name]
            if not 0 <= r.position(u.guess) <= 1:
                unknowns.raw[u.name].fill_(u.to_raw(float(r.value(torch.tensor(0.5)))))
    return unknowns


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
    method = _method(basis, problem, method)
    query = _Query(basis, problem, obs_x, obs_y, obs_fields, colloc_x, cond_x, weights)
    unknowns = _start(basis, problem)
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
    lbfgs = make_lbfgs(trained, max_iter=lbfgs_steps, history_size=50, compact=False)

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
