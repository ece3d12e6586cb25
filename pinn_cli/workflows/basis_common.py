"""What `pinn-basis` and `pinn-query` share: the problem with its conditions (a basis needs
the initial/boundary conditions its data follow), and the run folder's JSON."""
import json
import platform
from pathlib import Path
from typing import Dict

import torch
from omegaconf import DictConfig

from pinn_cli.diagnostics.classical import finite
from pinn_cli.errors import PinnFitError
from pinn_cli.io.record import atomic_write
from pinn_cli.problem.problem import Problem
from pinn_cli.solvers.heat import DEFAULT_MODES
from pinn_cli.targets import call


def _suggested_conditions(problem: Problem) -> Dict[str, dict]:
    """The conditions to add, as an example: the initial conditions the shipped reference solvers
    use where the problem names one of them, else a template on the first face of t (or of the
    first input)."""
    ref = problem.reference or {}
    solver, options = str(ref.get("solver") or ""), dict(ref.get("options") or {})
    if solver.endswith("oscillator_underdamped"):
        x0, v0 = options.get("x0", 1.0), options.get("v0", 0.0)
        return {"x0": {"at": {"t": 0.0}, "equation": f"x - {x0:g}" if x0 else "x"},
                "v0": {"at": {"t": 0.0}, "equation": f"x_t - {v0:g}" if v0 else "x_t"}}
    if solver.endswith("heat1d_series"):
        terms = [f"{'' if b == 1 else f'{b:g}*'}sin({'' if n == 1 else f'{n}*'}pi*x)"
                 for n, b in dict(options.get("modes", DEFAULT_MODES)).items()]
        return {"initial": {"at": {"t": 0.0}, "equation": " - ".join(["u", *terms])}}
    face = "t" if "t" in problem.domain else problem.inputs[0]
    return {"initial": {"at": {face: problem.domain[face][0]},
                        "equation": f"{problem.outputs[0]} - <its value there>"}}


def _condition(name: str, c: dict, quote: str) -> str:
    """One condition in YAML flow style, e.g. x0: {at: {t: 0.0}, equation: 'x - 1'}."""
    at = ", ".join(f"{a}: {float(v)!r}" for a, v in c["at"].items())
    return f"{name}: {{at: {{{at}}}, equation: {quote}{c['equation']}{quote}}}"


def no_conditions(problem: Problem, command: str) -> PinnFitError:
    example = _suggested_conditions(problem)
    override = "+pde.conditions={" + ", ".join(_condition(k, c, "'") for k, c in
                                                example.items()) + "}"
    yaml = "\n".join("      " + _condition(k, c, '"') for k, c in example.items())
    data = f" data={problem.name}" if command == "pinn-query" else ""
    return PinnFitError(
        f"problem {problem.name} declares no conditions (pde.conditions), and a basis needs the "
        "initial/boundary conditions its data follow: trained on the residual alone, every "
        "readout collapses to u = 0. Add them, the same for pinn-basis and for "
        f"pinn-query, on the command line:\n  {command} pde={problem.name} \"{override}\" "
        f"...\nor in a pde option of your own, e.g. DIR/pde/my_{problem.name}.yaml:\n"
        f"    defaults: [{problem.name}, _self_]\n    conditions:\n{yaml}\n"
        f"  used as: {command} hydra.searchpath=[file://DIR] pde=my_{problem.name}{data} ...")


def scalar_problem(cfg: DictConfig, command: str) -> Problem:
    """The problem, refused when it has unknown fields: a basis spans scalar unknowns."""
    problem = call(cfg.pde)
    if problem.fields:
        raise PinnFitError(f"{command}: problem {problem.name} has unknown fields "
                           f"{problem.field_names}; an IP-Basis is trained over ranges of scalar "
                           f"unknowns only: fit it with pinn-fit pde={problem.name}")
    return problem


def problem_with_conditions(cfg: DictConfig, command: str) -> Problem:
    problem = scalar_problem(cfg, command)
    if not problem.conditions:
        raise no_conditions(problem, command)
    return problem


def conditions_of(problem: Problem) -> Dict[str, dict]:
    return {eq.name: {"at": dict(at), "equation": eq.text} for eq, at in problem.conditions}


def run_info(run_dir: Path) -> dict:
    return {"run_dir": str(run_dir), "torch": torch.__version__, "host": platform.node()}


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(finite(data), indent=2, allow_nan=False) + "\n"
    atomic_write(path, lambda p: p.write_text(text))
