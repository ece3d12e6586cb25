"""The loss terms of a run: mean squared data misfit, residuals and conditions at their points,
and one term per periodic input: the mean squared mismatch between its two faces."""
from typing import Dict

import torch
from torch import nn

from pinn_cli.derivatives import evaluate_fields
from pinn_cli.errors import PinnFitError
from pinn_cli.problem import Problem


class Unknowns(nn.Module):
    """The trainable raw values θ of the unknowns; `physical()` gives k = transform(θ)."""

    def __init__(self, problem: Problem):
        super().__init__()
        self.specs = {u.name: u for u in problem.unknowns}
        self.raw = nn.ParameterDict({
            u.name: nn.Parameter(torch.tensor(u.to_raw(u.guess))) for u in problem.unknowns})

    def physical(self) -> Dict[str, torch.Tensor]:
        return {k: self.specs[k].to_physical(v) for k, v in self.raw.items()}

    @torch.no_grad()
    def project(self) -> None:
        """Clamp each unknown with bounds back into them after an optimiser step."""
        for k, u in self.specs.items():
            if u.bounds is not None:
                lo, hi = (u.to_raw(b) for b in u.bounds)
                self.raw[k].clamp_(min(lo, hi), max(lo, hi))


class Losses:
    """Callable (net, params) -> {term: scalar loss}; `kinds` says what each term is."""

    def __init__(self, problem: Problem, obs_x, obs_y, obs_fields, colloc_x, condition_x,
                 engine: str = "auto", periodic_x=()):
        """`condition_x`: the points of each of problem.conditions; `periodic_x`: for each of
        problem.periodic, 2n points, the first n on the face input = lo and the next n the same
        points with input = hi (collocation.sample_periodic)."""
        self.problem, self.engine = problem, engine
        self.obs_x, self.obs_y = obs_x, obs_y
        self.obs_cols = [problem.outputs.index(f) for f in obs_fields]
        self.colloc_x = colloc_x
        self.residual_needs = problem.needs(problem.residuals)
        self.conditions = [(eq, x, problem.needs([eq])) for (eq, _), x
                           in zip(problem.conditions, condition_x)]
        if len(periodic_x) != len(problem.periodic):
            raise ValueError(f"{len(problem.periodic)} periodic inputs but {len(periodic_x)} "
                             "point sets")
        self.periodic = list(zip(problem.periodic, periodic_x))
        self.kinds = {"data": "data"}
        for name, kind in [(e.name, "residual") for e in problem.residuals] + \
                          [(e.name, "condition") for e, _ in problem.conditions] + \
                          [(p.name, "condition") for p in problem.periodic]:
            if name in self.kinds:
                raise PinnFitError(f"loss term name '{name}' is used twice; give residuals and "
                                   "conditions distinct names, other than 'data' and "
                                   "periodic_<input>")
            self.kinds[name] = kind

    def _named(self, net, x, needs):
        vals = evaluate_fields(net, x, needs, self.problem.outputs, engine=self.engine)
        named = {self.problem.derivative_name(d): v for d, v in vals.items()}
        return named | {name: x[:, i] for i, name in enumerate(self.problem.inputs)}

    def __call__(self, net, params) -> Dict[str, torch.Tensor]:
        terms = {"data": (net(self.obs_x)[:, self.obs_cols] - self.obs_y).square().mean()}
        res = self.problem.evaluate(self.problem.residuals,
                                    self._named(net, self.colloc_x, self.residual_needs), params)
        terms |= {k: r.square().mean() for k, r in res.items()}
        for eq, x, needs in self.conditions:
            r = self.problem.evaluate([eq], self._named(net, x, needs), params)[eq.name]
            terms[eq.name] = r.square().mean()
        for p, x in self.periodic:
            terms[p.name] = self.periodic_mismatch(net, p, x)
        return terms

    def periodic_mismatch(self, net, p, x) -> torch.Tensor:
        """Σ over the fields and their derivatives p.needs of mean (value at lo − value at hi)²,
        at the paired points x (2n, n_inputs)."""
        n = len(x) // 2
        vals = evaluate_fields(net, x, p.needs, self.problem.outputs, engine=self.engine)
        return sum((v[:n] - v[n:]).square().mean() for v in vals.values())
