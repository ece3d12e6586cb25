"""`pinn-basis`: config → problem + ranges → pinn_cli.basis.offline.train_basis → a run
folder basis/DATE/TIME with basis.pt, history.csv (validation curve) and summary.json."""
import csv
import logging
import shlex
from dataclasses import asdict
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pinn_cli.basis.offline import train_basis
from pinn_cli.basis.ranges import ranges_for
from pinn_cli.diagnostics.classical import finite
from pinn_cli.errors import PinnFitError
from pinn_cli.problem.problem import Problem
from pinn_cli.training.precision import building_in, dtype_of, use_threads
from pinn_cli.workflows.basis_common import (conditions_of, no_conditions, run_info,
                                             scalar_problem, write_json)

log = logging.getLogger("pinn-basis")


def _example_ranges(problem: Problem) -> str:
    """An override giving each unknown a range of a factor 2 either side of its reference truth
    (or guess), e.g. 'basis.ranges={k: {lo: 0.05, hi: 0.2}}'."""
    truth = (problem.reference or {}).get("truth") or {}
    parts = []
    for u in problem.unknowns:
        v = float(truth.get(u.name, u.guess))
        lo, hi = sorted((v / 2, 2 * v)) if v else (-1.0, 1.0)
        parts.append(f"{u.name}: {{lo: {lo:g}, hi: {hi:g}}}")
    return f"'basis.ranges={{{', '.join(parts)}}}'"


def _shell(arg: str) -> str:
    """`arg` quoted for a POSIX shell, in double quotes where it holds single quotes (Hydra's
    own quotes, as in equation: 'x - 1') and nothing a shell expands inside double quotes."""
    if "'" in arg and not any(c in arg for c in '"$`\\!'):
        return f'"{arg}"'
    return shlex.quote(arg)


def train_offline(cfg: DictConfig) -> Path:
    """`pinn-basis`: train a basis for cfg.pde over cfg.basis.ranges and write its run folder."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    if (run_dir / "basis.pt").exists() or (run_dir / "summary.json").exists():
        raise PinnFitError(f"{run_dir} already holds a run; pinn-basis never overwrites one: "
                           "start a new run (another hydra.run.dir)")
    use_threads(cfg.threads)
    with building_in(dtype_of(cfg.basis.precision)):
        problem = scalar_problem(cfg, "pinn-basis")
        ranges = _ranges(cfg.basis, problem)
        basis, summary = _train(cfg.basis, problem, ranges, run_dir)
    return _write(cfg.basis, problem, basis, summary, run_dir)


def _ranges(b, problem: Problem) -> dict:
    """basis.ranges checked against the problem (which must declare its conditions)."""
    if b.ranges is None:
        raise PinnFitError(f"basis.ranges is not set: give the offline range of each unknown "
                           f"{[u.name for u in problem.unknowns]} of {problem.name}, e.g. "
                           f"{_example_ranges(problem)} (add sampling: log for a range over "
                           "orders of magnitude); queries are accurate inside it")
    ranges = ranges_for(problem, OmegaConf.to_container(b.ranges, resolve=True))
    if not problem.conditions:
        raise no_conditions(problem, "pinn-basis")
    if problem.reference is None and b.validation.n_queries:
        log.warning("pde.reference is not set: no held-out validation queries, the last state is "
                    "kept (basis.validation needs the problem's reference solver)")
    return ranges


def _train(b, problem: Problem, ranges: dict, run_dir: Path):
    """basis.offline.train_basis with the `basis` settings `b`; summary.json says running, then
    why it stopped if it did: (basis, the summary so far)."""
    v = b.validation
    log.info("%s: basis of %d functions per field, %d readouts over %s; %d Adam + %d L-BFGS "
             "steps, %s", problem.name, b.n_basis, b.n_readouts,
             ", ".join(f"{k} in [{r.lo:g}, {r.hi:g}] ({r.sampling})" for k, r in ranges.items()),
             b.steps, b.lbfgs_steps, b.precision)
    summary = {"status": "running", "pde": problem.name, "conditions": conditions_of(problem),
               "ranges": {k: asdict(r) for k, r in ranges.items()}, **run_info(run_dir)}
    write_json(run_dir / "summary.json", summary)
    try:
        basis = train_basis(
            problem, {k: asdict(r) for k, r in ranges.items()}, n_basis=b.n_basis,
            n_readouts=b.n_readouts, steps=b.steps, lr=b.lr, lbfgs_steps=b.lbfgs_steps,
            seed=b.seed, width=b.width, depth=b.depth, activation=b.activation,
            n_points=b.n_points, n_condition_points=b.n_condition_points,
            weights=OmegaConf.to_container(b.weights), n_validation=v.n_queries,
            validate_every=v.every, patience=v.patience, n_obs=v.n_obs,
            query_options=OmegaConf.to_container(v.query, resolve=True), margin=b.margin)
    except BaseException as err:
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        write_json(run_dir / "summary.json", summary | {"status": status,
                                                         "error": f"{type(err).__name__}: {err}"})
        raise
    return basis, summary


def _write(b, problem: Problem, basis, summary: dict, run_dir: Path) -> Path:
    """basis.pt, history.csv and the completed summary.json, with the pinn-query command."""
    basis.history["conditions"] = conditions_of(problem)  # compared with each query's problem
    basis.save(run_dir / "basis.pt")
    h = basis.history
    with open(run_dir / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss", "validation_error"])
        for p in h["curve"]:
            w.writerow([p["step"], repr(p["loss"]), repr(p["validation_error"])])
    pde_args = [a for a in HydraConfig.get().overrides.task if a.lstrip("+~").startswith("pde")]
    query_with = " ".join(["pinn-query", *map(_shell, pde_args or [f"pde={problem.name}"]),
                           _shell(f"basis.path={run_dir}")])
    write_json(run_dir / "summary.json", summary | {
        "status": "completed", "offline_seconds": round(h["seconds"], 3), "steps": h["steps"],
        "best_step": h["best_step"], "early_stopped": h["early_stopped"],
        # the mean over the held-out queries of each one's largest relative error
        "validation_error": finite(h["validation_error"]),
        "n_validation_queries": b.validation.n_queries if problem.reference is not None else 0,
        "n_basis": b.n_basis, "n_readouts": b.n_readouts, "margin": b.margin,
        "precision": b.precision, "basis": "basis.pt", "history": "history.csv",
        "query_with": query_with})
    log.info("basis trained in %.1f s (%d steps, kept step %d, validation error %.3g): %s",
             h["seconds"], h["steps"], h["best_step"], h["validation_error"], run_dir)
    log.info("answer queries with: %s", query_with)
    return run_dir / "basis.pt"
