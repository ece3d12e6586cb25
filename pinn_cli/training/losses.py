"""The loss terms of a run: mean squared data misfit, residuals and conditions at their points,
and one term per periodic input: the mean squared mismatch between its two faces.

Causal training (training.causal) weights the residual points by time window;
training.point_residuals gives every term as per-point residuals r_i(x_n), L_i their mean
square (the NTK weighting uses them).
"""
import math
from typing import Dict, List

import torch

from pinn_cli.model.derivatives import choose_engine, evaluate_fields
from pinn_cli.training.causal import causal_chunks, causal_weighted
from pinn_cli.training.distributed import Ranks
from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem


class Losses:
    """Callable (net, params) -> {term: scalar loss}; `kinds` says what each term is.
    With causal training on, `causal_weights` holds the window weights w_m (M,) of the last call
    (ones while ε = 0; None for a problem without an input t) and `log_values()` their minimum.
    `restrict_time` keeps only the points of an early time window (time-window marching); a term
    left without points is 0."""

    def __init__(self, problem: Problem, obs_x, obs_y, obs_fields, colloc_x, condition_x,
                 *, engine: str = "auto", periodic_x=(), causal_epsilon: float = 0.0,
                 causal_chunks: int = 16, residual_factors=None, redraw=None,
                 residual_at_observations: bool = False, compiled: bool = False, ranks=None,
                 fields=None):
        """`condition_x`: the points of each of problem.conditions; `periodic_x`: for each of
        problem.periodic_losses, 2n points, the first n on the face input = lo and the next n
        the same points with input = hi (pinn_cli.io.collocation.sample_periodic);
        `causal_epsilon` ε and `causal_chunks` M: causal training (ε = 0: off);
        `residual_factors`: residual name -> f_r multiplying its squared residual
        (pinn_cli.problem.scaling.residual_factors; default 1); `redraw`: (every, draw) for
        `redraw_at` and `use_density`: draw(k, n, dtype) gives the k-th set of n random
        residual points in `dtype`, draw(0, n) those at the head of `colloc_x` (the rest, the observations' points,
        stay), a draw of more points extending that of fewer;
        `residual_at_observations`: the last len(obs_x) rows of `colloc_x` are `obs_x`
        (collocation.include_observations), so the data term takes the fields' values from the
        residual's network pass instead of a pass of its own (a time window, a redraw and a
        precision change keep that order); `compiled`: the terms and their gradients through
        torch.compile (`_compile`); `ranks`: a data-parallel fit's training.distributed.Ranks,
        whose shard of every point set this rank evaluates (default: one process); `fields`:
        the unknown fields' networks (pinn_cli.problem.fields.FieldNets), which give the
        values and derivatives of the fields problem.field_names in the equations."""
        self.problem, self.engine, self.fields = problem, engine, fields
        if problem.fields and fields is None:
            raise ValueError(f"problem {problem.name} has unknown fields: pass their networks")
        self.ranks = ranks or Ranks()
        self._terms = _compile(self.terms) if compiled else self.terms
        self.redraw_every, self.draw = redraw if redraw else (0, None)
        self.drawn = 0
        self.n_random = self.n_base = len(colloc_x) - (len(obs_x) if residual_at_observations
                                                       else 0)
        self.residual_roots = {k: math.sqrt(f) for k, f in (residual_factors or {}).items()}
        self.obs_x, self.obs_y = obs_x, obs_y
        self.obs_fields, self.obs_cols = obs_fields, [problem.outputs.index(f) for f in obs_fields]
        self.colloc_x = colloc_x
        self.residual_at_observations = residual_at_observations
        self._causal_setup(float(causal_epsilon), causal_chunks)
        self.residual_needs = problem.needs(problem.residuals)
        self.conditions = [(eq, x, tuple(problem.needs([eq]))) for (eq, _), x
                           in zip(problem.conditions, condition_x)]
        # conditions that need the same derivatives: one network call on their points together
        self.condition_groups: Dict[tuple, List[int]] = {}
        for i, (_, _, needs) in enumerate(self.conditions):
            self.condition_groups.setdefault(needs, []).append(i)
        if len(periodic_x) != len(problem.periodic_losses):
            raise ValueError(f"{len(problem.periodic_losses)} periodic loss terms but "
                             f"{len(periodic_x)} point sets")
        self.periodic = list(zip(problem.periodic_losses, periodic_x))
        self.all_points = (self.obs_x, self.obs_y, self.colloc_x, self.conditions, self.periodic)
        self.time_window = None
        self._set_points(self.all_points)  # this rank's shard (all of them in one process)
        self.kinds = {"data": "data"}
        for name, kind in [(e.name, "residual") for e in problem.residuals] + \
                          [(e.name, "condition") for e, _ in problem.conditions] + \
                          [(p.name, "condition") for p in problem.periodic_losses] + \
                          [(name, "condition") for name in self.smooth_terms()]:
            if name in self.kinds:
                raise PinnFitError(f"loss term name '{name}' is used twice; give residuals and "
                                   "conditions distinct names, other than 'data' and "
                                   "periodic_<input>")
            self.kinds[name] = kind

    def _causal_setup(self, epsilon: float, chunks) -> None:
        if isinstance(chunks, bool) or int(chunks) != chunks or chunks < 1:
            raise PinnFitError(f"causal.chunks={chunks}: give the number of time windows, an "
                               "integer >= 1 (16 or 32 in Wang, Sankaran & Perdikaris 2024)")
        if not math.isfinite(epsilon) or epsilon < 0:
            raise PinnFitError(f"causal.epsilon={epsilon}: give a number >= 0 (0 turns causal "
                               "training off)")
        has_t = "t" in self.problem.inputs
        if epsilon > 0 and not has_t:
            raise PinnFitError(
                f"causal.epsilon={epsilon}: causal training weights the residual by time windows "
                f"and needs an input named t, but problem '{self.problem.name}' has inputs "
                f"{self.problem.inputs}; set causal.epsilon=0 for this problem")
        self.causal_epsilon, self.causal_chunks = epsilon, int(chunks)
        self.causal_weights = self.causal_window_losses = None
        if has_t:
            self._causal_windows()

    def _causal_windows(self) -> None:
        """Each residual point's causal window, and the number of points in each window."""
        t = self.colloc_x[:, self.problem.inputs.index("t")]
        self.causal_chunk, self.causal_counts = causal_chunks(t, self.problem.domain["t"],
                                                              self.causal_chunks)
        self.causal_weights = torch.ones_like(self.causal_counts)

    def restrict_time(self, fraction: float | None) -> None:
        """Keep only the data, residual, condition and periodic points with
        t ≤ t_lo + fraction (t_hi − t_lo) (a periodic pair by its t); None or 1: all of them."""
        if fraction == self.time_window:
            return
        obs_x, obs_y, colloc_x, conditions, periodic = self.all_points
        if fraction is not None and fraction < 1:
            if "t" not in self.problem.inputs:
                raise PinnFitError(f"a time window needs an input named t; problem "
                                   f"'{self.problem.name}' has inputs {self.problem.inputs}")
            i, (lo, hi) = self.problem.inputs.index("t"), self.problem.domain["t"]
            t_max = lo + fraction * (hi - lo)
            early = lambda x: x[:, i] <= t_max

            def early_pairs(x):  # n points on one face, then their n partners: kept by pair
                keep = early(x[:len(x) // 2])
                return x[torch.cat([keep, keep])]

            obs_x, obs_y = obs_x[early(obs_x)], obs_y[early(obs_x)]
            colloc_x = colloc_x[early(colloc_x)]
            if not len(colloc_x):
                raise PinnFitError(f"no residual point has t <= {t_max:g}: raise "
                                   "collocation.n_points or lower schedule.windows")
            conditions = [(eq, x[early(x)], needs) for eq, x, needs in conditions]
            periodic = [(p, early_pairs(x)) for p, x in periodic]
        # each term's point count over all ranks, then this rank's shard of every set
        self.counts = {"data": obs_y.numel(), "residual": len(colloc_x)} \
            | {eq.name: len(x) for eq, x, _ in conditions} \
            | {p.name: len(x) // 2 for p, x in periodic}
        shard = self.ranks.shard
        if self.ranks.parallel:  # the observations' rows stay last in the residual points
            tail = len(obs_x) if self.residual_at_observations else 0
            colloc_x = torch.cat([shard(colloc_x[:len(colloc_x) - tail]),
                                  shard(colloc_x[len(colloc_x) - tail:])])
        self.obs_x, self.obs_y, self.colloc_x = shard(obs_x), shard(obs_y), colloc_x
        self.conditions = [(eq, shard(x), needs) for eq, x, needs in conditions]
        self.periodic = [(p, self.ranks.shard_pairs(x)) for p, x in periodic]
        self.time_window = fraction
        if self.causal_weights is not None:
            self._causal_windows()

    def to(self, dtype: torch.dtype) -> None:
        """Every point set, and the observed values, in `dtype` (a phase's precision)."""
        obs_x, obs_y, colloc_x, conditions, periodic = self.all_points
        if colloc_x.dtype == dtype:
            return
        self._set_points((obs_x.to(dtype), obs_y.to(dtype), colloc_x.to(dtype),
                          [(eq, x.to(dtype), needs) for eq, x, needs in conditions],
                          [(p, x.to(dtype)) for p, x in periodic]))

    def _set_points(self, all_points) -> None:
        """New point sets, and the current time window's points taken from them."""
        self.all_points = all_points
        window, self.time_window = self.time_window, -1  # -1: not a window, so it is re-applied
        self.restrict_time(window)

    def redraw_at(self, step: int) -> None:
        """Random resampling of the residual points (Wu, Zhu, Tan, Kartha & Lu 2023, "A
        comprehensive study of non-adaptive and residual-based adaptive sampling for PINNs",
        CMAME 403): at `step` the random points are draw(step // every, n), a function of the step
        alone, so a resumed run gets the same points; the observations' points and the time
        window stay."""
        k = step // self.redraw_every if self.redraw_every else 0
        if k == self.drawn:
            return
        self._set_random(self.draw(k, self.n_random, self.colloc_x.dtype))
        self.drawn = k

    def use_density(self, density: float) -> None:
        """The residual at round(density × n) random points, n the number given at the start:
        the current points first, then the rest of the same draw (a Sobol or uniform draw of
        more points extends that of fewer); the observations' points and the time window
        stay (collocation.n_points=0: none to multiply)."""
        n = round(density * self.n_base)
        if n == self.n_random:
            return
        if self.draw is None:
            raise ValueError("Losses(redraw=(every, draw)) is needed for another point density")
        head = self.all_points[2][:self.n_random]
        self._set_random(torch.cat([head, self.draw(self.drawn, n, head.dtype)[len(head):]])
                         if n > len(head) else head[:n])

    def _set_random(self, new) -> None:
        """`new` as the random residual points, the observations' points after them."""
        obs_x, obs_y, colloc_x, conditions, periodic = self.all_points
        self._set_points((obs_x, obs_y, torch.cat([new.to(colloc_x.dtype),
                                                   colloc_x[self.n_random:]]), conditions,
                          periodic))
        self.n_random = len(new)

    def log_values(self) -> Dict[str, float]:
        """What the run logs beside the loss terms: `causal_min`, the smallest causal weight
        min_m w_m of the last call, when causal training is on; else nothing."""
        if self.causal_epsilon > 0:
            return {"causal_min": float(self.causal_weights.min())}
        return {}

    def _mean_square(self, r: torch.Tensor, term: str) -> torch.Tensor:
        """mean r² over the term's points (on a rank: its part, Σ r² over its shard / the count
        on all ranks); 0 with a graph for a term with no points in a time window."""
        if not self.counts[term]:
            return r.sum()
        return r.square().sum() / self.counts[term] if self.ranks.parallel else r.square().mean()

    def unshard(self) -> None:
        """Every point on this rank again (one process from here: the diagnostics after a
        data-parallel fit)."""
        self.ranks = Ranks()
        self._set_points(self.all_points)

    @property
    def n_residual_points(self) -> int:
        """The residual points of all ranks."""
        return self.counts["residual"]

    def _residual_terms(self, res: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if self.causal_epsilon == 0:
            return {k: self._mean_square(r, "residual") for k, r in res.items()}
        terms, self.causal_weights, self.causal_window_losses = causal_weighted(
            {k: r.square() for k, r in res.items()}, self.causal_chunk, self.causal_counts,
            self.causal_epsilon)
        return terms

    def named_values(self, net, x, needs, engine=None):
        """{name: tensor (N,)}: the inputs, and the fields and derivatives `needs` at x, those
        of the solution from `net`, those of unknown fields from their networks."""
        engine, outputs = engine or self.engine, self.problem.outputs
        vals = evaluate_fields(net, x, [d for d in needs if d[0] in outputs], outputs,
                               engine=engine)
        coefficients = [d for d in needs if d[0] not in outputs]
        if coefficients:
            vals |= evaluate_fields(self.fields, x, coefficients, self.fields.names,
                                    engine=engine)
        named = {self.problem.derivative_name(d): v for d, v in vals.items()}
        return named | {name: x[:, i] for i, name in enumerate(self.problem.inputs)}

    def derivative_needs(self) -> List[tuple]:
        """Every field derivative the terms take: residuals, conditions, periodic faces."""
        return list(self.residual_needs) + [d for _, _, needs in self.conditions for d in needs] \
            + [d for p, _ in self.periodic for d in p.needs]

    def engines(self, net) -> Dict[str, tuple]:
        """{term: (engine, why)}: what computes each term's field values and derivatives on
        `net` (pinn_cli.model.derivatives.choose_engine); the residuals share one evaluation."""
        choose = lambda needs: choose_engine(net, list(needs), self.engine,
                                             self.problem.derivative_name)
        residual = choose(self.residual_needs)
        data = (residual[0], "its values come from the residuals' evaluation at the "
                "observations' points (collocation.include_observations)") \
            if self.residual_at_observations else choose([(f, ()) for f in self.obs_fields])
        return {"data": data} | {e.name: residual for e in self.problem.residuals} \
            | {eq.name: choose(needs) for eq, _, needs in self.conditions} \
            | {p.name: choose(p.needs) for p, _ in self.periodic}

    def __call__(self, net, params) -> Dict[str, torch.Tensor]:
        return self._terms(net, params)

    def terms(self, net, params) -> Dict[str, torch.Tensor]:
        """{term: scalar loss} at the network and the unknowns' physical values `params`."""
        named = self.named_values(net, self.colloc_x, self.residual_needs)
        if self.residual_at_observations:
            fit = torch.stack([named[f][len(self.colloc_x) - len(self.obs_x):]
                               for f in self.obs_fields], 1)
        else:
            fit = net(self.obs_x)[:, self.obs_cols]
        terms = {"data": self._mean_square(fit - self.obs_y, "data")}
        res = self.problem.evaluate(self.problem.residuals, named, params)
        res = {k: r * self.residual_roots[k] if k in self.residual_roots else r
               for k, r in res.items()}
        terms |= self._residual_terms(res)
        terms |= self._condition_terms(net, params)
        for p, x in self.periodic:
            terms[p.name] = self.periodic_mismatch(net, p, x)
        for name, r in self.smooth_residuals(self.colloc_x).items():
            terms[name] = sum(self._mean_square(c, "residual") for c in r.unbind(1))
        return self.ranks.total(terms)

    def _condition_terms(self, net, params) -> Dict[str, torch.Tensor]:
        """Each condition's mean square residual, a group of conditions with the same needs
        evaluated in one network call on their points together (fewer, larger calls: cheaper)."""
        terms = {}
        for needs, members in self.condition_groups.items():
            xs = [self.conditions[i][1] for i in members]
            named = self.named_values(net, torch.cat(xs), list(needs))
            parts = {k: v.split([len(x) for x in xs]) for k, v in named.items()}
            for j, i in enumerate(members):
                eq = self.conditions[i][0]
                values = {k: v[j] for k, v in parts.items()}
                terms[eq.name] = self._mean_square(
                    self.problem.evaluate([eq], values, params)[eq.name], eq.name)
        return {eq.name: terms[eq.name] for eq, _, _ in self.conditions}

    def smooth_terms(self) -> Dict[str, object]:
        """{smooth_<field>: field} for each unknown field with an H¹ smoothness term."""
        return {f"smooth_{f.name}": f for f in self.problem.fields if f.smoothing > 0}

    def smooth_residuals(self, x) -> Dict[str, torch.Tensor]:
        """Per smoothed field, its residuals (N, n_field_inputs) at x: √c L_i ∂_i f / |guess|,
        whose squares' mean over the points, summed over i, is the term smooth_<field>."""
        out = {}
        for name, f in self.smooth_terms().items():
            idx = [self.problem.inputs.index(i) for i in f.inputs]
            vals = evaluate_fields(self.fields, x, [(f.name, (i,)) for i in idx],
                                   self.fields.names, engine=self.engine)
            widths = [self.problem.domain[i][1] - self.problem.domain[i][0] for i in f.inputs]
            scale = math.sqrt(f.smoothing) / abs(f.guess or f.scale)
            out[name] = torch.stack([vals[(f.name, (i,))] * w * scale
                                     for i, w in zip(idx, widths)], 1)
        return out

    def periodic_mismatch(self, net, p, x) -> torch.Tensor:
        """Σ over the fields and their derivatives p.needs of mean (value at lo − value at hi)²,
        at the paired points x (2n, n_inputs)."""
        n = len(x) // 2
        vals = evaluate_fields(net, x, p.needs, self.problem.outputs, engine=self.engine)
        return sum(self._mean_square(v[:n] - v[n:], p.name) for v in vals.values())


def _compile(terms):
    """`terms` through torch.compile (TorchInductor: the forward pass and its backward each
    fused into generated kernels; compiled once per precision and point count, cached on disk
    for later runs). The trainer takes each term's gradient through the one graph
    (retain_graph), which torch's donated buffers forbid, so those are turned off."""
    import torch._functorch.config

    torch._functorch.config.donated_buffer = False
    return torch.compile(terms)


def weighted_total(terms: Dict[str, torch.Tensor], lambdas: Dict[str, float]) -> torch.Tensor:
    """L = Σ_i λ_i L_i, the loss that training (and the profile's re-fits) minimise."""
    return sum(lambdas[k] * v for k, v in terms.items())
