"""A problem's reference solution: its `pde.reference.solver` on the `pde.reference.grid`
(what `pinn-data` writes, and the IP-Basis validation queries' data)."""
import numpy as np

from pinn_cli.errors import PinnFitError
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
    try:
        out = imported(ref["solver"], "pde.reference.solver")(**axes, **truth, **ref.get("options", {}))
    except ValueError as err:  # the solvers' own argument checks
        raise PinnFitError(f"pde.reference: the solver rejected the truth {truth}: {err}") from None
    fields = out if isinstance(out, dict) else {problem.outputs[0]: out}
    shape = tuple(len(a) for a in axes.values())
    for name, value in fields.items():
        if np.shape(value) != shape or not np.all(np.isfinite(value)):
            raise PinnFitError(f"the solver {ref['solver']} returned field '{name}' of shape "
                               f"{np.shape(value)} (expected {shape}, finite); check its options")
    return axes, fields
