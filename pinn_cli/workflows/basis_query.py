"""`pinn-query`: config → problem + a frozen basis (basis.path) + residual/condition points,
then for each data file (data.file: one path, a glob, or a comma-separated list) the data →
basis.query.fit_query → one row of queries.csv; the run folder (queries/DATE/TIME) also holds
summary.json, params.csv and losses.csv as a pinn-fit run does."""
import csv
import glob
import logging
import math
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import List, Tuple

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pinn_cli.basis.network import Basis
from pinn_cli.basis.query import fit_query
from pinn_cli.diagnostics.classical import finite
from pinn_cli.errors import PinnFitError
from pinn_cli.io.collocation import draw_points
from pinn_cli.io.pdebench import count_samples
from pinn_cli.io.record import RunRecorder
from pinn_cli.problem.problem import Problem
from pinn_cli.targets import call
from pinn_cli.training.lbfgs import make_lbfgs
from pinn_cli.training.precision import building_in, dtype_of, use_threads
from pinn_cli.training.row import Row
from pinn_cli.workflows.basis_common import (conditions_of, problem_with_conditions, run_info,
                                             write_json)
from pinn_cli.workflows.report import unknowns_report

log = logging.getLogger("pinn-query")


def _basis_file(path: str) -> Path:
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "basis.pt"
        if not p.is_file():
            raise PinnFitError(f"basis.path={path}: the folder holds no basis.pt; pass a folder "
                               "that pinn-basis wrote (basis/DATE/TIME) or its basis.pt")
    elif not p.is_file():
        raise PinnFitError(f"basis.path={path} does not exist (looked in {Path.cwd()}); pass a "
                           "folder that pinn-basis wrote (basis/DATE/TIME) or its basis.pt")
    return p


def query_files(spec: str) -> List[str]:
    """data.file as files: one path, a glob (`queries/*.h5`, sorted), or several of either
    separated by commas. A path without a wildcard is kept as given (the data reader reports a
    missing one, and finds the data shipped with pinn-fit)."""
    files = []
    for part in (p.strip() for p in str(spec).split(",")):
        if not part:
            continue
        if any(c in part for c in "*?["):
            hits = sorted(glob.glob(os.path.expanduser(part), recursive=True))
            if not hits:
                raise PinnFitError(f"data.file={spec}: no file matches '{part}' (in "
                                   f"{Path.cwd()})")
            files += hits
        else:
            files.append(part)
    if not files:
        raise PinnFitError("data.file is empty: pass data.file=FILE.h5, a glob such as "
                           "'data.file=queries/*.h5', or a list \"data.file='a.h5,b.h5'\"")
    return files


class _Queries:
    """queries.csv: one row per query, written as each query ends."""

    def __init__(self, path: Path, unknowns: List[str]):
        self.unknowns = unknowns
        self.head = ["file", "sample", *(f"{k}{s}" for k in unknowns for s in (
            "", "_truth", "_rel_error", "_position", "_outside_range", "_at_range_edge")),
            "max_rel_error", "method", "loss", "steps", "seconds", "fit_seconds", "warnings",
            "error"]
        self.file = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.file, self.head)
        self.writer.writeheader()

    def row(self, values: dict) -> None:
        self.writer.writerow({k: "" if v is None else v for k, v in values.items()})
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _load(cfg: DictConfig):
    """The problem and the basis at cfg.basis.path, checked against each other: (problem,
    basis, warnings)."""
    if OmegaConf.is_missing(cfg.basis, "path"):
        raise PinnFitError("basis.path is not set: pass basis.path=basis/DATE/TIME (a folder "
                           "pinn-basis wrote) or its basis.pt")
    problem = problem_with_conditions(cfg, "pinn-query")
    basis = Basis.load(_basis_file(cfg.basis.path))
    basis.check(problem)
    warnings = []
    trained_with = basis.history.get("conditions")
    if trained_with is not None and trained_with != conditions_of(problem):
        warnings.append(f"the basis was trained with conditions {trained_with}, this fit uses "
                        f"{conditions_of(problem)}: pass the pde options given to pinn-basis")
        log.warning("%s", warnings[-1])
    return problem, basis, warnings


def queries(files: List[str], data: dict, samples) -> List[Tuple[str, int]]:
    """(file, sample) of each query: data.sample of every file, or with `samples` (`all` or
    `START:STOP`) those samples of every PDEBench file."""
    if samples is None:
        return [(f, data.get("sample", 0)) for f in files]
    text = str(samples).strip()
    out = []
    for f in files:
        n = count_samples(f, data.get("layout"), data.get("fields", {}))
        if text == "all":
            chosen = range(n)
        else:
            lo, sep, hi = text.partition(":")
            try:
                chosen = range(int(lo or 0), int(hi) if hi else n) if sep else [int(lo)]
            except ValueError:
                raise PinnFitError(f"basis.samples={samples!r}: give all, START:STOP or one "
                                   "sample number") from None
            if not chosen or min(chosen) < 0 or max(chosen) >= n:
                raise PinnFitError(f"basis.samples={samples!r}, but '{f}' holds {n} samples; "
                                   f"choose within 0:{n}")
        out += [(f, i) for i in chosen]
    return out


def _answer(data: dict, file: str, sample: int, problem: Problem, basis: Basis, colloc, cond,
            include_observations: bool, options: dict) -> dict:
    """One query: sample `sample` of the file read as pinn-fit reads data.file, then
    fit_query."""
    start = time.perf_counter()
    obs = call(OmegaConf.create(data | {"file": file, "sample": sample}), inputs=problem.inputs,
               outputs=problem.outputs, unknowns=[u.name for u in problem.unknowns],
               domain=problem.domain)
    if include_observations:
        colloc = torch.cat([colloc, torch.as_tensor(obs.x, dtype=colloc.dtype)])
    r = fit_query(basis, problem, obs.x, obs.y, obs.fields, colloc, cond, **options)
    truth = {u.name: obs.truth.get(u.name, u.truth) for u in problem.unknowns}
    report = unknowns_report(problem, truth, r["estimates"])
    rel = [v["rel_error"] for v in report.values()]
    return {"file": obs.file, "sample": sample, "report": report, "result": r,
            "seconds": time.perf_counter() - start,
            "max_rel_error": max(rel) if None not in rel else None}


def _csv_row(a: dict) -> dict:
    r = a["result"]
    row = {"file": a["file"], "sample": a["sample"], "max_rel_error": a["max_rel_error"],
           "method": r["method"],
           "loss": repr(r["loss"]), "steps": sum(r["steps"].values()),
           "seconds": f"{a['seconds']:.4f}", "fit_seconds": f"{r['wall_seconds']:.4f}",
           "warnings": " | ".join(r["warnings"])}
    for k, v in a["report"].items():
        flags = r["range"][k]
        row |= {k: repr(v["estimate"]), f"{k}_truth": v["truth"],
                f"{k}_rel_error": v["rel_error"], f"{k}_position": flags["position"],
                f"{k}_outside_range": flags["outside_range"],
                f"{k}_at_range_edge": flags["at_range_edge"]}
    return row


def _log_query(n: int, total: int, a: dict) -> None:
    log.info("query %d/%d %s: %s in %.3f s%s", n, total, a["label"],
             ", ".join(f"{k} = {v['estimate']:.6g}" + (
                 f" (truth {v['truth']:.6g}, error {100 * v['rel_error']:.3f} %)"
                 if v["rel_error"] is not None else "") for k, v in a["report"].items()),
             a["seconds"], "".join(f"\n  warning: {w}" for w in a["result"]["warnings"]))


def query(cfg: DictConfig):
    """`pinn-query`: answer each data file's inverse query with the frozen basis at
    cfg.basis.path; returns the largest relative error (what a sweeper minimises)."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    if (run_dir / "summary.json").exists():
        raise PinnFitError(f"{run_dir} already holds a run; pinn-query never overwrites one: "
                           "start a new run (another hydra.run.dir)")
    use_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    with building_in(dtype_of(cfg.precision)):
        return _answer_queries(cfg, run_dir)


def _answer_queries(cfg: DictConfig, run_dir: Path):
    """The queries of `query`, one row of queries.csv each, then summary.json."""
    start = time.perf_counter()
    problem, basis, warnings = _load(cfg)
    colloc, cond = draw_points(problem, cfg.collocation, cfg.seed, trains_network=False)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    q = cfg.basis
    todo = queries(query_files(cfg.data.file), data, q.get("samples"))
    by_sample = q.get("samples") is not None
    weights = OmegaConf.to_container(q.weights)
    options = {"method": q.method, "steps": q.steps, "lr": q.lr, "lbfgs_steps": q.lbfgs_steps,
               "weights": weights or None}
    names = [u.name for u in problem.unknowns]
    log.info("%s: %d quer%s with the basis %s (%d functions per field, ranges %s)", problem.name,
             len(todo), "y" if len(todo) == 1 else "ies", q.path, basis.n_basis,
             ", ".join(f"{k} [{r.lo:g}, {r.hi:g}]" for k, r in basis.ranges.items()))
    # torch's first optimiser imports torch._dynamo (about 1 s, once per process): counted here,
    # in the setup, rather than in the first query's time
    make_lbfgs([torch.zeros(1, requires_grad=True)], compact=False)
    setup_seconds = time.perf_counter() - start
    answer = lambda file, sample: _answer(data, file, sample, problem, basis, colloc, cond,
                                          cfg.collocation.include_observations, options)
    results, errors = _answer_all(todo, by_sample, answer, run_dir, names, weights, start)
    if not results:
        raise PinnFitError(f"every query failed ({len(errors)}); first: {errors[0]}")
    summary = _online_summary(cfg, run_dir, problem, basis, q.path, todo, results, errors,
                              warnings, setup_seconds, time.perf_counter() - start)
    write_json(run_dir / "summary.json", summary)
    s = summary["queries"]
    log.info("%d quer%s in %.2f s (median %.3f s per query), median error %s, max %s%s: %s",
             s["count"], "y" if s["count"] == 1 else "ies", summary["wall_seconds"],
             s["median_seconds"], _pct(s["median_rel_error"]), _pct(s["max_rel_error"]),
             f", {s['flagged']} flagged at or outside the basis's range" if s["flagged"] else "",
             run_dir)
    if errors:
        raise PinnFitError(f"{len(errors)} of {len(todo)} queries failed (queries.csv, column "
                           f"error; the others are recorded); first: {errors[0]}")
    worst = [r["max_rel_error"] for r in results]
    return max(worst) if None not in worst else summary["final_loss"]


def _answer_all(todo, by_sample, answer, run_dir, names, weights, start):
    """`answer(file, sample)` for each query: a row of queries.csv each (an error among many is
    recorded and the others go on), and a row of params.csv and losses.csv per answer:
    (answers, errors)."""
    table, recorder = _Queries(run_dir / "queries.csv", names), None
    results, errors = [], []
    try:
        for n, (file, sample) in enumerate(todo, 1):
            t0 = time.perf_counter()
            # a query's name: the file (its name in warnings), and the sample when there are several
            where = file + (f"[{sample}]" if by_sample else "")
            try:
                a = answer(file, sample)
            except PinnFitError as err:  # one bad file of many: recorded, the others go on
                if len(todo) == 1:
                    raise
                errors.append(f"{where}: {err}")
                log.error("query %d/%d, %s: %s", n, len(todo), where, err)
                table.row({"file": file, "sample": sample,
                           "seconds": f"{time.perf_counter() - t0:.4f}", "error": str(err)})
                continue
            a["label"] = Path(where).name
            results.append(a)
            table.row(_csv_row(a))
            r = a["result"]
            if recorder is None:
                recorder = RunRecorder(run_dir, names, list(r["losses"]))
            nan = {t: math.nan for t in r["losses"]}  # no network is trained: no gradient norms
            recorder.row(Row(sum(r["steps"].values()), "basis", time.perf_counter() - start,
                             r["estimates"], r["losses"], r["loss"], nan, nan,
                             {t: float(weights.get(t, 1.0)) for t in r["losses"]},
                             r["gradients"]))
            _log_query(n, len(todo), a)
    finally:
        table.close()
        if recorder is not None:
            recorder.close()
    return results, errors


def _pct(v):
    return "n/a" if v is None else f"{100 * v:.3f} %"


def _online_summary(cfg, run_dir, problem, basis, path, todo, results, errors, warnings,
                    setup_seconds, wall) -> dict:
    """summary.json of an online run: with one query, its `unknowns` (estimate, truth, guess,
    rel_error), losses and range flags as any fit's; with several, per unknown the median and
    largest relative error (each query's row: queries.csv); in both, the `queries` block."""
    one = results[0] if len(results) == 1 and len(todo) == 1 else None
    worst = [r["max_rel_error"] for r in results]
    flagged = sum(bool(r["result"]["warnings"]) for r in results)
    if one:
        unknowns = one["report"]
    else:
        unknowns = {}
        for u in problem.unknowns:
            rel = [r["report"][u.name]["rel_error"] for r in results]
            unknowns[u.name] = {
                "estimate": None, "truth": None, "guess": u.guess,
                "rel_error": max(rel) if None not in rel else None,
                "median_rel_error": _median(rel),
                "median_estimate": _median([r["report"][u.name]["estimate"] for r in results])}
    h = basis.history
    return {
        # failed: some queries failed (queries.csv, column error), the others are recorded
        "status": "failed" if errors else "completed", "command": "pinn-query",
        "wall_seconds": round(wall, 3),
        "unknowns": unknowns,
        "final_losses": one["result"]["losses"] if one else None,
        "final_loss": one["result"]["loss"] if one else None,
        "method": results[0]["result"]["method"],
        "steps": one["result"]["steps"] if one else None,
        "range": one["result"]["range"] if one else None,
        "warnings": warnings + [w for r in results for w in (
            r["result"]["warnings"] if one else
            [f"{r['label']}: {x}" for x in r["result"]["warnings"]])],
        "queries": {
            "count": len(results), "failed": len(errors), "file": "queries.csv",
            "median_rel_error": _median(worst),
            "max_rel_error": max(worst) if worst and None not in worst else None,
            "median_seconds": round(statistics.median(r["seconds"] for r in results), 4),
            "max_seconds": round(max(r["seconds"] for r in results), 4),
            "setup_seconds": round(setup_seconds, 3),
            "flagged": flagged},
        "basis": {"path": str(path), "problem": basis.problem_name, "n_basis": basis.n_basis,
                  "ranges": {k: asdict(r) for k, r in basis.ranges.items()},
                  "offline_seconds": finite(h.get("seconds")),
                  "validation_error": finite(h.get("validation_error"))},
        **({"error": f"{len(errors)} of {len(todo)} queries failed; first: {errors[0]}"}
           if errors else {}),
        "pde": problem.name, "data_file": cfg.data.file, **run_info(run_dir), "device": "cpu"}
