"""One run: config → data + problem + network → trainer → run folder."""
import contextlib
import dataclasses
import logging
import platform
import time
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from pinn_cli.diagnostics.field_trust import field_sensitivity
from pinn_cli.diagnostics.profile import Refit
from pinn_cli.errors import PinnFitError
from pinn_cli.io.field_files import write_fields
from pinn_cli.io.lock import hold
from pinn_cli.io.observations import noise_phrase
from pinn_cli.io.record import RunRecorder, read_csv
from pinn_cli.io.run_plots import plot_run
from pinn_cli.io.report import write_report
from pinn_cli.targets import call, only_trusted_code
from pinn_cli.training.console import Reporter
from pinn_cli.training.distributed import Ranks, refuse_unsharded
from pinn_cli.training.row import Row
from pinn_cli.training.schedule import describe_end
from pinn_cli.training.trainer import Hooks, Trainer
from pinn_cli.workflows.build import build, setup_torch
from pinn_cli.workflows.previous import ended, plain_config, previous_run, same_data
from pinn_cli.workflows.report import objective, unknowns_report, verdicts

log = logging.getLogger("pinn-fit")


def _gpu_memory(device):
    """The run's peak GPU memory so far (torch's allocator), for summary.json on device=cuda."""
    if device.type != "cuda":
        return {}
    return {"peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 4)}


class _Run:
    """The run folder's side of a fit: the CSV logs, the progress display, summary.json and the
    checkpoints, fed by the trainer's hooks."""

    def __init__(self, *, cfg, run_dir, problem, obs, data_sha256, losses, engines, truth,
                 weighting, phases, device, state, tracker, ranks=1):
        self.cfg, self.run_dir, self.problem, self.truth = cfg, run_dir, problem, truth
        self.tracker = tracker  # io.tracking: each row also goes to MLflow or TensorBoard
        self.weighting, self.device, self.state, self.trainer = weighting, device, state, None
        self.points = obs.x  # the observations' coordinates, drawn in report.html
        self.recorder = RunRecorder(run_dir, list(truth), list(losses.kinds),
                                    offsets=state["csv_offsets"] if state else None,
                                    extras=list(losses.log_values()))
        self.reporter = Reporter(phases)
        self.base = {"pde": problem.name, "data_file": obs.file, "data_sha256": data_sha256,
                     "run_dir": str(run_dir),
                     "torch": torch.__version__, "device": str(device), "host": platform.node(),
                     "ranks": ranks,
                     "residual_scaling": {k: r * r for k, r in losses.residual_roots.items()},
                     "derivative_engines": {k: {"engine": e, "why": why}
                                            for k, (e, why) in engines.items()}}

    def hooks(self) -> Hooks:
        return Hooks(on_row=self.on_row, on_progress=self.reporter.progress_step,
                     on_checkpoint=self.checkpoint, on_restore=self.on_restore,
                     on_gradients=self.recorder.gradients,
                     on_phase_end=lambda end: log.info("%s", describe_end(end)))

    def summary(self, status, **extra) -> dict:
        """Write summary.json with `status`; returns its `unknowns` block."""
        trainer, row = self.trainer, self.trainer.last_row
        est = row.unknowns if row else {u.name: u.guess for u in self.problem.unknowns}
        report = unknowns_report(self.problem, self.truth, est)
        self.recorder.summary({
            "status": status, "wall_seconds": round(trainer.elapsed(), 3),
            # when the training clock (elapsed_s, wall_seconds) read 0
            "clock_start_unix": round(time.time() - trainer.elapsed(), 3),
            "steps": dict(trainer.steps), "phases": list(trainer.ends.values()),
            "unknowns": report,
            "final_losses": row.losses if row else None,
            "lambdas": dict(self.weighting.lambdas), "retries": trainer.retried,
            "resumed_from_step": self.state["step"] if self.state else None, **extra,
            **self.base, **_gpu_memory(self.device)})
        return report

    def checkpoint(self, state):
        row = self.trainer.last_row
        state |= {"csv_offsets": self.recorder.offsets(),
                  "last_row": dataclasses.asdict(row) if row else None,
                  "config": plain_config(self.cfg), "data_sha256": self.base["data_sha256"]}
        self.recorder.checkpoint(state)

    def on_row(self, row):
        self.recorder.row(row)
        self.tracker.row(row)
        self.reporter.row(row)

    def on_restore(self, restored):
        self.recorder.truncate(restored["csv_offsets"])
        self.tracker.rewind(restored["step"])
        log.warning("diverged (%s); retrying from step %d with learning rates x%g",
                    self.trainer.retried[-1], restored["step"], self.trainer.lr_factor)

    def close(self):
        self.reporter.close()
        self.recorder.close()


def _phases(cfg, problem, weighting):
    """The schedule's phases, checked against the problem and the weighting."""
    schedule = call(cfg.schedule)
    schedule.check(problem)
    phases = schedule.phases
    if weighting.update_every > 0 and all(p.optimizer == "lbfgs" for p in phases):
        log.warning("weighting=%s adapts the loss weights during Adam steps only, and this "
                    "schedule has none (L-BFGS keeps them fixed): the weights stay at their start "
                    "values; choose schedule=pretrain_identify for adaptive weights",
                    HydraConfig.get().runtime.choices.get("weighting", "?"))
    return phases


def _train(trainer, run):
    """Run the trainer; a run that stops on an error records why (status failed, or the
    error's own: diverged, stalled), keeps what it wrote and re-raises. After Ctrl-C or SIGTERM
    both signals stay ignored (hold_signals): a second one while the run writes its summary and
    exits cannot turn status interrupted and exit code 130 into a kill."""
    try:
        return trainer.run(hold_signals=True)
    except Exception as err:
        run.close()
        known = isinstance(err, PinnFitError)
        run.summary(err.status if known else "failed", error=f"{type(err).__name__}: {err}",
                    **(err.record() if known else {}))
        _plots(run.cfg, run.run_dir, run.truth)
        _report(run)
        raise
    finally:
        run.close()


def fit(cfg: DictConfig):
    """`pinn-fit`: one inverse-PINN run in the Hydra run folder; returns what a sweeper
    minimises (workflows.report.objective). The folder is locked while it runs; a resume
    imports no code from the folder's config beyond pinn_cli's (targets.only_trusted_code)."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    trusted = only_trusted_code() if cfg.resume is not None else contextlib.nullcontext()
    ranks, again = Ranks.from_env(), _requeued(run_dir)
    if not ranks.writes:  # another rank of a data-parallel fit: it writes nothing
        _log_errors_only(ranks.rank)  # rank 0 logs the run
        folder = Path(cfg.resume) if cfg.resume is not None else run_dir if again else None
        try:
            with trusted:
                return _fit_rank(cfg, folder, ranks)
        finally:
            with contextlib.suppress(OSError):  # its Hydra folder (cli.ranks), left empty
                run_dir.rmdir()
    with hold(run_dir), trusted:
        tracker = call(cfg.logger)  # first: a missing library stops the run before it starts
        with tracker:  # ends the tracked run with the status in summary.json
            return _fit(cfg, run_dir, tracker, ranks, again)


REQUEUING = "hydra_plugins.hydra_submitit_launcher."  # launchers that requeue a preempted job


def _requeued(run_dir) -> bool:
    """Whether this is a sweep job that its launcher started again in its own folder: submitit
    (SLURM, or local) requeues a preempted job with the same config. A new sweep's job folders
    start empty (cli.app.WritableOutput), so a run found there is this job's own, which it
    continues from its checkpoint as `resume` would."""
    hydra = HydraConfig.get()
    return hydra.mode == RunMode.MULTIRUN and (run_dir / "summary.json").exists() \
        and str(hydra.launcher.get("_target_", "")).startswith(REQUEUING)


def _log_errors_only(rank: int) -> None:
    """Another rank's console: its errors only, each naming the rank."""
    def named(record):
        record.msg = f"rank {rank}: {record.msg}"
        return True

    root = logging.getLogger()
    root.setLevel(logging.ERROR)
    for handler in root.handlers:
        handler.addFilter(named)


def _run_name(run_dir) -> str:
    """The tracked run's name: the run folder's, or in a sweep the sweep folder's and the job's."""
    sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    return f"{run_dir.parent.name}/{run_dir.name}" if sweep else run_dir.name


def _start(cfg, ranks, state):
    """The run's parts (workflows.build), the weighting and the phases, on every rank; a
    data-parallel fit joins its process group first."""
    device = ranks.device(setup_torch(cfg))
    refuse_unsharded(weighting=cfg.weighting._target_, ranks=ranks,
                     causal_epsilon=(cfg.get("causal") or {}).get("epsilon", 0.0))
    ranks.start(device)
    problem, obs, net, losses, unknowns = build(cfg, device, ranks)
    weighting = call(cfg.weighting)
    return device, problem, obs, net, losses, unknowns, weighting, _phases(cfg, problem, weighting)


def _trainer(cfg, *, net, unknowns, losses, weighting, phases, hooks, ranks, state):
    trainer = Trainer(
        net=net, unknowns=unknowns, losses=losses, weighting=weighting, phases=phases,
        hooks=hooks, log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
        retries=cfg.max_retries if cfg.on_divergence.value == "retry" else 0,
        retry_lr_factor=cfg.retry_lr_factor, ranks=ranks)
    if state:
        trainer.load_state_dict(state)
        trainer.last_row = Row(**state["last_row"]) if state["last_row"] else None
    return trainer


def _fit_rank(cfg, folder, ranks):
    """A rank other than 0: the same parts and steps as rank 0 on its shard of the points,
    from the checkpoint of the run being resumed (`folder`) if any; writes nothing."""
    previous, state = previous_run(cfg, folder, True) if folder is not None else (None, None)
    if previous is not None and ended(cfg, folder, previous):
        return None
    device, problem, obs, net, losses, unknowns, weighting, phases = _start(cfg, ranks, state)
    trainer = _trainer(cfg, net=net, unknowns=unknowns, losses=losses, weighting=weighting,
                       phases=phases, hooks=Hooks(), ranks=ranks, state=state)
    try:
        outcome = trainer.run(hold_signals=True)
    finally:
        ranks.finish()
    if outcome.status == "interrupted":
        raise KeyboardInterrupt
    return None


def _fit(cfg, run_dir, tracker, ranks, requeued=False):
    previous, state = previous_run(cfg, run_dir, requeued)
    if requeued and previous is not None:
        log.info("%s: the launcher started this job again; it continues its run", run_dir)
    if previous is not None and ended(cfg, run_dir, previous):
        log.info("%s already ended with status %s; nothing to resume", run_dir,
                 previous["status"])
        return None
    device, problem, obs, net, losses, unknowns, weighting, phases = _start(cfg, ranks, state)
    data_sha256 = same_data(obs.file, state)
    truth = {u.name: obs.truth.get(u.name, u.truth) for u in problem.unknowns}
    drawn = f", {len(obs.x)} of its {obs.n_available} points drawn at random (data.n_obs; " \
        "null: all)" if len(obs.x) < obs.n_available else ""
    noise = noise_phrase(cfg.data.noise, obs.file_noise)
    log.info("%s: %d observations of %s from %s%s (%s), %d residual points%s, unknowns %s",
             problem.name, len(obs.x), ",".join(obs.fields), obs.file, drawn, noise,
             losses.n_residual_points, f", shared by {ranks.world} ranks (data-parallel)"
             if ranks.parallel else "", ", ".join(
                 [f"{u.name} (guess {u.guess:g}, truth {truth[u.name]})" for u in problem.unknowns]
                 + [f"field {f.name}({','.join(f.inputs)}) (guess {f.guess:g})"
                    for f in problem.fields]))
    engines = losses.engines(net)
    for term, (engine, why) in engines.items():
        log.info("loss term %s (%s): %s engine; %s", term, losses.kinds[term], engine, why)
    # before the run folder's logs: a tracker that cannot start leaves no folder behind
    tracker.start(run_dir=run_dir, run_name=_run_name(run_dir), config=plain_config(cfg),
                  step=state["step"] if state else None)
    run = _Run(cfg=cfg, run_dir=run_dir, problem=problem, obs=obs, data_sha256=data_sha256,
               losses=losses, engines=engines, truth=truth, weighting=weighting, phases=phases,
               device=device, state=state, tracker=tracker, ranks=ranks.world)
    trainer = run.trainer = _trainer(cfg, net=net, unknowns=unknowns, losses=losses,
                                     weighting=weighting, phases=phases, hooks=run.hooks(),
                                     ranks=ranks, state=state)
    if state:
        log.info("resuming %s from step %d (phase %s)", run_dir, state["step"],
                 phases[min(state["phase_index"], len(phases) - 1)].name)
    run.summary("running")
    try:
        outcome = _train(trainer, run)
    finally:
        ranks.finish()
    losses.unshard()  # the diagnostics run here alone, on all the points
    # "completed" only once the plots and diagnostics are written: a kill before that leaves
    # a run that resume finishes
    done = outcome.status == "completed"
    fields = _fields(cfg, run_dir, problem, obs, net, losses, unknowns)
    report = run.summary("running" if done else outcome.status, **fields)
    _plots(cfg, run_dir, truth)
    identifiability = {}
    if done:
        diagnostics = call(cfg.diagnostics)(
            problem=problem, obs=obs, noise=cfg.data.noise,
            estimates={k: r["estimate"] for k, r in report.items()}, run_dir=run_dir,
            logs={n: read_csv(run_dir / n) for n in ("params.csv", "losses.csv",
                                                      "grad_norms.csv")},
            refit=Refit(net, unknowns, losses, weighting.lambdas))
        if diagnostics:
            identifiability = {"identifiability": verdicts(diagnostics)}
        report = run.summary(outcome.status, **identifiability, **fields)
    for name, r in report.items():
        err = f", truth {r['truth']:.6g}, error {100 * r['rel_error']:.3f} %" \
            if r["rel_error"] is not None else ""
        log.info("%s = %.6g%s", name, r["estimate"], err)
    page = _report(run)
    log.info("%s in %.1f s: %s", outcome.status, trainer.elapsed(),
             f"open {page}" if page else run_dir)
    if outcome.status == "interrupted":
        raise KeyboardInterrupt
    return objective(report, trainer.last_row, fields.get("fields"))


def _fields(cfg, run_dir, problem, obs, net, losses, unknowns) -> dict:
    """summary.json's `fields` block, with fields/ written (nothing without unknown fields)."""
    if not problem.fields:
        return {}
    trust = field_sensitivity(problem, losses, net, unknowns.physical())
    for entry in trust.values():
        log.info("%s", entry["verdict"])
    return {"fields": write_fields(run_dir, problem, unknowns.fields, obs.file, trust,
                                   cfg.plots)}


def _plots(cfg, run_dir, truth):
    if cfg.plots:
        plot_run(run_dir, truth)


def _report(run):
    """report.html with `plots=true`, from what the folder holds now; returns its path, or
    None when no report is written (plots=false, or it could not be written: the run's own
    outcome stands, and the log says why)."""
    if not run.cfg.plots:
        return None
    try:
        return write_report(run.run_dir, run.points, run.problem.inputs)
    except Exception as err:
        log.warning("report.html not written: %s: %s", type(err).__name__, err)
        return None
