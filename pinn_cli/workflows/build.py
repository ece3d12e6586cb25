"""A run's parts from the composed config: the problem (`pde`), the observations (`data`), the
network (`arch`, wrapped for periodic inputs and hard constraints), the residual and condition
points (`collocation`), the loss terms and the unknowns."""
import logging

import numpy as np
import torch
from omegaconf import DictConfig

from pinn_cli.errors import PinnFitError
from pinn_cli.io.collocation import draw_points, sample_box, sample_periodic
from pinn_cli.model.derivatives import taylor_applies
from pinn_cli.model.nets import hard_constrained, periodic_embedded
from pinn_cli.problem.fields import FieldNets
from pinn_cli.problem.scaling import WELL_SCALED, choose, residual_factors
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.targets import call
from pinn_cli.training.losses import Losses
from pinn_cli.training.precision import building_in, dtype_of, skip_dynamo_import, use_threads

log = logging.getLogger("pinn-fit")


def setup_torch(cfg):
    if cfg.device != "cpu" and not cfg.device.startswith("cuda"):
        raise PinnFitError(f"device={cfg.device!r}: choose cpu, cuda or cuda:N")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise PinnFitError(f"device={cfg.device} but torch sees no CUDA device; use device=cpu")
    dtype_of(cfg.precision)  # refused here, before anything is built
    use_threads(cfg.threads)
    skip_dynamo_import()
    torch.manual_seed(cfg.seed)
    return torch.device(cfg.device)


def build(cfg: DictConfig, device, ranks=None):
    """The run's parts, from the composed config, in its `precision`; in a data-parallel fit
    (`ranks`, training.distributed) the loss terms evaluate this rank's shard of the points."""
    with building_in(dtype_of(cfg.precision)):
        return _build(cfg, device, ranks)


def _build(cfg: DictConfig, device, ranks):
    problem = call(cfg.pde)
    obs = call(cfg.data, inputs=problem.inputs, outputs=problem.outputs,
               unknowns=[u.name for u in problem.unknowns], domain=problem.domain)
    shift = np.zeros(len(problem.outputs))
    scale = np.ones(len(problem.outputs))
    for j, f in enumerate(obs.fields):
        i = problem.outputs.index(f)
        shift[i], scale[i] = obs.y[:, j].mean(), max(obs.y[:, j].std(), 1e-12)
    domain = [problem.domain[k] for k in problem.inputs]
    # periodic_by=embedding: the network sees the periodic inputs through cos/sin features
    net = periodic_embedded(lambda d: call(cfg.arch, domain=d, out_shift=shift.tolist(),
                                           out_scale=scale.tolist()),
                            domain, problem.periodic_embedded)
    if problem.hard:  # the network seen through the output transforms: exact conditions
        net = hard_constrained(net, problem)
        exact = problem.exact_conditions()
        log.info("hard constraints %s%s", ", ".join(f"{f} = {h.text}"
                                                   for f, h in problem.hard.items()),
                 f"; exact by them: conditions {', '.join(exact)}, still trained as loss terms "
                 "(drop them with '~pde.conditions.NAME')" if exact else
                 "; they make none of the conditions exact" if problem.conditions else "")
    net = net.to(device)
    col = cfg.collocation
    tensor = lambda a: torch.as_tensor(a, dtype=torch.get_default_dtype(), device=device)
    obs_x = tensor(obs.x)
    colloc, cond_x = draw_points(problem, col, cfg.seed)
    if col.include_observations:
        colloc = torch.cat([colloc, obs_x.cpu()])
    cond_x = [tensor(c) for c in cond_x]
    periodic_x = [tensor(sample_periodic(problem.domain, p.input, col.n_condition_points,
                                         col.sampler, cfg.seed + 1 + len(cond_x) + i))
                  for i, p in enumerate(problem.periodic_losses)]
    # draw 0 is the points above (n of them: a superset); draw k > 0 another Sobol (or uniform) set
    draw = lambda k, n, dtype: torch.as_tensor(
        sample_box(problem.domain, n, col.sampler, cfg.seed + 7919 * k, dtype=dtype), device=device)
    causal = cfg.get("causal") or {}
    fields = FieldNets(problem.fields, problem.inputs, problem.domain) if problem.fields \
        else None
    unknowns = Unknowns(problem.unknowns, fields=fields).to(device)
    losses = Losses(problem, obs_x, tensor(obs.y), obs.fields, tensor(colloc), cond_x,
                    engine=cfg.derivatives.value, periodic_x=periodic_x,
                    causal_epsilon=causal.get("epsilon", 0.0),
                    causal_chunks=causal.get("chunks", 16),
                    residual_factors=_residual_scaling(cfg, problem, obs),
                    redraw=(col.resample_every, draw),
                    residual_at_observations=col.include_observations, compiled=cfg.compile,
                    ranks=ranks, fields=unknowns.fields)
    autograd = cfg.derivatives.value == "autograd"
    if cfg.compile and (autograd or not taylor_applies(net, losses.derivative_needs())):
        raise PinnFitError(
            f"compile=true needs the Taylor derivative engine, which {problem.name} cannot use "
            + ("with derivatives=autograd; set compile=false or derivatives=auto" if autograd else
               "(a derivative of order > 2, or a network without Taylor propagation); set "
               "compile=false"))
    return problem, obs, net, losses, unknowns


def _residual_scaling(cfg, problem, obs) -> dict:
    """The residual factors that `scaling` applies (pinn_cli.problem.scaling), logged."""
    stats = {f: (float(obs.y[:, j].mean()), float(obs.y[:, j].std()))
             for j, f in enumerate(obs.fields)}
    factors = residual_factors(problem, stats)
    mode = cfg.get("scaling", "auto")
    applied, bad = choose(getattr(mode, "value", mode), factors)
    listed = ", ".join(f"{k} x{f:.3g}" for k, f in factors.items())
    if applied:
        log.info("scaling: residual losses in the data's units (%s)", listed)
    elif bad:
        log.warning("the residuals are badly scaled against the data (factors %s, outside "
                    "[%g, %g]) and scaling=off leaves them so: the loss terms may be out of "
                    "balance by orders of magnitude; use scaling=auto", listed, *WELL_SCALED)
    return applied
