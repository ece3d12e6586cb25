"""A problem's reference solution on the `pde.reference.grid` (what `pinn-data` writes, and the
IP-Basis validation queries' data): from its `pde.reference.solver`, or where it names none from
the generic solver built from its equations (solvers/from_equations.py), at its refined resolution
so that the data are finer than the classical fit's own model."""
import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.observations import Observations
from pinn_cli.targets import imported


def solve(problem, truth) -> dict:
    """The reference fields on the reference grid: (axes by input, fields by output)."""
    ref = problem.reference
    axes = {}
    for name in problem.inputs:
        spec = ref["grid"].get(name)
        if spec is None:
            raise PinnFitError(f"pde.reference.grid has no entry for input '{name}'; add "
                               f"pde.reference.grid.{name}=N")
        lo, hi, n = (*problem.domain[name], spec) if isinstance(spec, int) else spec
        if int(n) < 2:
            raise PinnFitError(f"pde.reference.grid.{name}: need at least 2 points, got {n}")
        axes[name] = np.linspace(lo, hi, int(n))
    shape = tuple(len(a) for a in axes.values())
    if not ref.get("solver"):
        return axes, _from_equations(problem, axes, truth, shape)
    try:
        out = imported(ref["solver"], "pde.reference.solver")(**axes, **truth, **ref.get("options", {}))
    except ValueError as err:  # the solvers' own argument checks
        raise PinnFitError(f"pde.reference: the solver rejected the truth {truth}: {err}") from None
    fields = out if isinstance(out, dict) else {problem.outputs[0]: out}
    for name, value in fields.items():
        if np.shape(value) != shape or not np.all(np.isfinite(value)):
            raise PinnFitError(f"the solver {ref['solver']} returned field '{name}' of shape "
                               f"{np.shape(value)} (expected {shape}, finite); check its options")
    return axes, fields


def _from_equations(problem, axes, truth, shape) -> dict:
    """The generic solver's fields on the grid. It is built on observations without values
    (NaN): a part it would take from observations (an undeclared initial state or boundary)
    comes out NaN and is refused with what to declare."""
    from pinn_cli.solvers.from_equations import initial_values, reference_model

    lead = "pde.reference names no solver, and the generic solver built from the equations"
    if "t" in problem.domain:
        lo = problem.domain["t"][0]
        missing = [f for f in problem.outputs if f not in initial_values(problem, "t", lo)]
        if missing:
            raise PinnFitError(f"{lead} cannot make these data: no condition at t = {lo:g} "
                               f"fixes {', '.join(missing)}; declare the initial state "
                               f"(pde.conditions.initial: {{at: {{t: {lo:g}}}, equation: "
                               f"{missing[0]} - ...}}) or name a solver of your own "
                               "(docs/reference-solver.md)")
    nodes = np.meshgrid(*axes.values(), indexing="ij")
    x = np.stack([a.ravel() for a in nodes], axis=1)
    outputs = list(problem.outputs)
    obs = Observations(x=x, y=np.full((len(x), len(outputs)), np.nan), fields=outputs,
                       file="", n_available=len(x))
    try:
        model = reference_model(problem, obs).refined()
        values = model({**truth, **{u.name: u.guess for u in getattr(model, "nuisance", [])}})
    except ValueError as err:
        raise PinnFitError(f"{lead} cannot make these data: {err}; name a solver of your own "
                           "(docs/reference-solver.md)") from None
    if not np.all(np.isfinite(values)):
        raise PinnFitError(
            f"{lead} ({model.description}) gave values that are not finite: the initial state "
            "or a boundary taken from observations (which data to be made do not have), or a "
            "solution that blows up at the truth. Declare the initial state of every field "
            f"(pde.conditions, at: {{t: {problem.domain.get('t', [0])[0]:g}}}) and a condition "
            "on every side that is not periodic")
    return {f: v.reshape(shape) for f, v in zip(outputs, np.split(values, len(outputs)))}
