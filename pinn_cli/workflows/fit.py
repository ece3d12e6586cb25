"""One run: config → data + problem + network → trainer → run folder."""
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pinn_cli.io.collocation import draw_points, sample_box, sample_periodic
from pinn_cli.schema import imported
from pinn_cli.training.console import Reporter
from pinn_cli.model.derivatives import taylor_applies
from pinn_cli.errors import DivergedError, PinnFitError
from pinn_cli.training.losses import Losses
from pinn_cli.problem.unknowns import Unknowns
from pinn_cli.model.nets import hard_constrained, periodic_embedded
from pinn_cli.diagnostics.profile import Refit
from pinn_cli.io.record import RunRecorder, plot_run, read_csv
from pinn_cli.problem.scaling import WELL_SCALED, choose, residual_factors
from pinn_cli.training.schedule import Schedule
from pinn_cli.training.trainer import Trainer, skip_dynamo_import, use_precision

log = logging.getLogger("pinn-fit")


def _setup_torch(cfg):
    if cfg.device != "cpu" and not cfg.device.startswith("cuda"):
        raise PinnFitError(f"device={cfg.device!r}: choose cpu, cuda or cuda:N")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise PinnFitError(f"device={cfg.device} but torch sees no CUDA device; use device=cpu")
    use_precision(cfg.precision, cfg.threads)
    skip_dynamo_import()
    torch.manual_seed(cfg.seed)
    return torch.device(cfg.device)


def _gpu_memory(device):
    """The run's peak GPU memory so far (torch's allocator), for summary.json on device=cuda."""
    if device.type != "cuda":
        return {}
    return {"peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 4)}


def target_of(node: DictConfig):
    """The class or function a config node's `_target_` names (config.imported)."""
    return imported(node._target_, node._get_full_key("_target_"))


def call(node: DictConfig, **kwargs):
    """Call a config node's `_target_` with its other keys (plain containers) and `kwargs`."""
    args = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    args.pop("_target_")
    return target_of(node)(**args, **kwargs)


def build(cfg: DictConfig, device):
    """The run's parts, from the composed config."""
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
    draw = lambda k, n: tensor(sample_box(problem.domain, n, col.sampler, cfg.seed + 7919 * k))
    causal = cfg.get("causal") or {}
    losses = Losses(problem, obs_x, tensor(obs.y), obs.fields, tensor(colloc), cond_x,
                    cfg.derivatives.value, periodic_x, causal.get("epsilon", 0.0),
                    causal.get("chunks", 16), _residual_scaling(cfg, problem, obs),
                    (col.resample_every, draw), residual_at_observations=col.include_observations,
                    compiled=cfg.compile)
    autograd = cfg.derivatives.value == "autograd"
    if cfg.compile and (autograd or not taylor_applies(net, losses.derivative_needs())):
        raise PinnFitError(
            f"compile=true needs the Taylor derivative engine, which {problem.name} cannot use "
            + ("with derivatives=autograd; set compile=false or derivatives=auto" if autograd else
               "(a derivative of order > 2, or a network without Taylor propagation); set "
               "compile=false"))
    unknowns = Unknowns(problem.unknowns).to(device)
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


FINAL = ("completed", "diverged", "failed")  # statuses a resume leaves alone


def _previous(cfg, run_dir):
    """For `resume`: (the run's last summary, its checkpoint) or (None, None) for a new folder;
    without `resume`, a folder that holds a run is refused."""
    path = run_dir / "summary.json"
    if not path.exists():
        return None, None
    if cfg.resume is None:
        raise PinnFitError(f"{run_dir} already holds a run; pinn-fit never overwrites one. Start "
                           f"a new run, or continue this one with pinn-fit resume={run_dir}")
    try:
        previous = json.loads(path.read_text())
    except ValueError:
        previous = {"status": "running"}
    ckpt = run_dir / "checkpoint.pt"
    if not ckpt.exists():
        return previous, None
    try:
        return previous, torch.load(ckpt, map_location="cpu", weights_only=False)
    except Exception as err:
        raise PinnFitError(f"{ckpt} cannot be read ({type(err).__name__}: {err}); this run cannot "
                           "be resumed, start a new one") from None


def fit(cfg: DictConfig):
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    previous, state = _previous(cfg, run_dir)
    if previous is not None and previous.get("status") in FINAL:
        log.info("%s already ended with status %s; nothing to resume", run_dir,
                 previous["status"])
        return None
    device = _setup_torch(cfg)
    target = target_of(cfg.schedule)
    if not (isinstance(target, type) and issubclass(target, Schedule)):
        return target(cfg, run_dir)  # a schedule that trains nothing (schedule=basis) runs itself
    problem, obs, net, losses, unknowns = build(cfg, device)
    truth = {u.name: obs.truth.get(u.name, u.truth) for u in problem.unknowns}
    weighting = call(cfg.weighting)
    schedule = call(cfg.schedule)
    schedule.check(problem)
    phases = schedule.phases
    if weighting.update_every > 0 and all(p.optimizer == "lbfgs" for p in phases):
        log.warning("weighting=%s adapts the loss weights during Adam steps only, and this "
                    "schedule has none (L-BFGS keeps them fixed): the weights stay at their start "
                    "values; choose schedule=pretrain_identify for adaptive weights",
                    HydraConfig.get().runtime.choices.get("weighting", "?"))
    log.info("%s: %d observations of %s from %s (noise %g), %d residual points, unknowns %s",
             problem.name, len(obs.x), ",".join(obs.fields), obs.file, cfg.data.noise,
             len(losses.colloc_x), ", ".join(f"{u.name} (guess {u.guess:g}, truth {truth[u.name]})"
                                             for u in problem.unknowns))
    recorder = RunRecorder(run_dir, list(truth), list(losses.kinds),
                           offsets=state["csv_offsets"] if state else None,
                           extras=list(losses.log_values()))
    reporter = Reporter(phases)
    base = {"pde": problem.name, "data_file": obs.file, "run_dir": str(run_dir),
            "torch": torch.__version__, "device": str(device), "host": platform.node(),
            "residual_scaling": {k: r * r for k, r in losses.residual_roots.items()}}

    def summary(status, **extra):
        row = trainer.last_row
        est = row.unknowns if row else {u.name: u.guess for u in problem.unknowns}
        unknown_report = unknowns_report(problem, truth, est)
        recorder.summary({"status": status, "wall_seconds": round(trainer.elapsed(), 3),
                          # when the training clock (elapsed_s, wall_seconds) read 0
                          "clock_start_unix": round(time.time() - trainer.elapsed(), 3),
                          "steps": dict(trainer.steps), "unknowns": unknown_report,
                          "final_losses": row.losses if row else None,
                          "lambdas": dict(weighting.lambdas), "retries": trainer.retried,
                          "resumed_from_step": state["step"] if state else None, **extra, **base,
                          **_gpu_memory(device)})
        return unknown_report

    def checkpoint(state):
        state |= {"csv_offsets": recorder.offsets(), "last_row": trainer.last_row,
                  "config": OmegaConf.to_container(cfg, resolve=True)}
        recorder.checkpoint(state)

    def on_row(row):
        recorder.row(row)
        reporter.row(row)

    def on_restore(restored):
        recorder.truncate(restored["csv_offsets"])
        log.warning("diverged (%s); retrying from step %d with learning rates x%g",
                    trainer.retried[-1], restored["step"], trainer.lr_factor)

    trainer = Trainer(net, unknowns, losses, weighting, phases, on_row, reporter.progress_step,
                      cfg.log_every, checkpoint, cfg.checkpoint_every,
                      cfg.max_retries if cfg.on_divergence.value == "retry" else 0,
                      cfg.retry_lr_factor, on_restore, recorder.gradients)
    if state:
        trainer.load_state_dict(state)
        trainer.last_row = state["last_row"]
        log.info("resuming %s from step %d (phase %s)", run_dir, state["step"],
                 phases[min(state["phase_index"], len(phases) - 1)].name)
    summary("running")
    try:
        outcome = trainer.run()
    except Exception as err:  # record why the run stopped, keep what it wrote, then report
        reporter.close()
        recorder.close()
        status = "diverged" if isinstance(err, DivergedError) else "failed"
        where = {"diverged_at": {"step": err.step, "phase": err.phase, "terms": err.terms}} \
            if isinstance(err, DivergedError) else {}
        summary(status, error=f"{type(err).__name__}: {err}", **where)
        _plots(cfg, run_dir, truth)
        raise
    finally:
        reporter.close()
        recorder.close()
    report = summary(outcome.status)
    _plots(cfg, run_dir, truth)
    if outcome.status == "completed":
        diagnostics = call(cfg.diagnostics)(
            problem=problem, obs=obs, noise=cfg.data.noise,
            estimates={k: r["estimate"] for k, r in report.items()}, run_dir=run_dir,
            logs={n: read_csv(run_dir / n) for n in ("params.csv", "losses.csv",
                                                      "grad_norms.csv")},
            refit=Refit(net, unknowns, losses, weighting.lambdas))
        if diagnostics:
            report = summary(outcome.status, identifiability=_verdicts(diagnostics))
    for name, r in report.items():
        err = f", truth {r['truth']:.6g}, error {100 * r['rel_error']:.3f} %" \
            if r["rel_error"] is not None else ""
        log.info("%s = %.6g%s", name, r["estimate"], err)
    log.info("%s in %.1f s: %s", outcome.status, trainer.elapsed(), run_dir)
    if outcome.status == "interrupted":
        raise KeyboardInterrupt
    return objective(report, trainer.last_row)


def unknowns_report(problem, truth, estimates) -> dict:
    """The `unknowns` block of summary.json: per unknown its estimate, truth, guess and relative
    error (None without a nonzero truth)."""
    out = {}
    for u in problem.unknowns:
        t = truth[u.name]
        out[u.name] = {"estimate": estimates[u.name], "truth": t, "guess": u.guess,
                       "rel_error": abs(estimates[u.name] - t) / abs(t) if t not in (None, 0)
                       else None}
    return out


def _verdicts(diagnostics):
    """What summary.json keeps of identifiability.json: per unknown, the verdict line and the
    classical estimate with its Cramér–Rao std; and the training warnings."""
    c = diagnostics.get("classical", {})
    return {"verdicts": diagnostics.get("verdict", {}),
            "classical": {k: {"estimate": v, "crlb_std": c["crlb_std"][k]}
                          for k, v in c.get("estimate", {}).items()},
            "warnings": diagnostics.get("warnings", [])}


def objective(report, row) -> float:
    """What a sweeper minimises (hydra/sweeper=optuna): the largest relative error of the
    unknowns when every truth is known, else the final weighted loss."""
    errors = [r["rel_error"] for r in report.values()]
    if errors and None not in errors:
        return max(errors)
    return row.total if row else float("inf")


def _plots(cfg, run_dir, truth):
    if cfg.plots:
        plot_run(run_dir, truth)
