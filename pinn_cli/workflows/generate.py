"""`pinn-data`: a synthetic HDF5 file for a problem, from the solver its `pde` option names (or,
where it names none, the generic solver built from its equations).

The reference solution is computed on a uniform grid over the problem's domain
(``pde.reference.grid``) with the chosen true unknowns (``pde.reference.truth``), then observed
- everywhere (``sampling=grid``: the grid layout, one field array with an ``axes`` attribute),
- at ``n_points`` random grid nodes (``sampling=scattered``), or
- by ``n_sensors`` fixed sensors at random positions over every time (``sampling=sensors``),
the last two as scattered columns. Gaussian noise of ``noise`` × std(field) is added with its own
seed. Datasets are named as the problem's `data` option maps them, so
``pinn-fit pde=NAME data.file=OUT`` reads the file as it is. The truth (one attribute per unknown,
which pinn-fit reports against), the layout, the equations and the composed config go into the
file's attributes.
"""
import logging
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.reference import solve
from pinn_cli.targets import call

log = logging.getLogger("pinn-data")


def observe(axes, fields, sampling, n_points, n_sensors, rng):
    """The grid, or the chosen nodes as columns: (coords, values, layout)."""
    if sampling == "grid":
        return axes, fields, "grid"
    shape = tuple(len(a) for a in axes.values())
    total = int(np.prod(shape))
    if sampling == "scattered":
        if not 0 < n_points <= total:
            raise PinnFitError(f"n_points={n_points}: choose 1..{total} (the reference grid "
                               "has that many nodes; refine pde.reference.grid for more)")
        flat = np.sort(rng.choice(total, size=n_points, replace=False))
    else:
        space = [i for i, name in enumerate(axes) if name != "t"]
        if len(space) == len(axes) or not space:
            raise PinnFitError("sampling=sensors needs a time input 't' and at least one other "
                               "input; use sampling=scattered or grid")
        n_positions = int(np.prod([shape[i] for i in space]))
        if not 0 < n_sensors <= n_positions:
            raise PinnFitError(f"n_sensors={n_sensors}: choose 1..{n_positions} (grid positions "
                               "over the inputs other than t)")
        where = np.unravel_index(rng.choice(n_positions, size=n_sensors, replace=False),
                                 [shape[i] for i in space])
        index = [None] * len(shape)
        for i, w in zip(space, where):
            index[i] = w[:, None]
        index[list(axes).index("t")] = np.arange(shape[list(axes).index("t")])[None, :]
        flat = np.ravel_multi_index(np.broadcast_arrays(*index), shape).reshape(-1)
    nodes = np.unravel_index(flat, shape)
    coords = {name: a[k] for (name, a), k in zip(axes.items(), nodes)}
    return coords, {f: v.reshape(-1)[flat] for f, v in fields.items()}, "scattered"


def write(path: Path, coords, values, layout, attrs) -> None:
    """Write the file atomically (a temporary file in the same folder, then a rename)."""
    fd, tmp = tempfile.mkstemp(suffix=".h5.tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        with h5py.File(tmp, "w") as f:
            for name, a in (coords | values).items():
                f[name] = np.asarray(a, dtype=np.float64)
            if layout == "grid":
                for name in values:
                    f[name].attrs["axes"] = np.array(list(coords), dtype="S")
            f.attrs.update(attrs)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _field_truths(problem) -> dict:
    """Each unknown field's truth as a numpy function of its inputs, for the solver."""
    if problem.fields and not problem.reference.get("solver"):
        raise PinnFitError(f"pde={problem.name} has unknown fields "
                           f"{problem.field_names}, which the generic solver does not take: "
                           "name a solver of your own under pde.reference.solver "
                           "(docs/reference-solver.md)")
    missing = [f.name for f in problem.fields if f.truth is None]
    if missing:
        raise PinnFitError(f"pinn-data needs the truth of the unknown field '{missing[0]}': "
                           f"give pde.unknowns.{missing[0]}.truth, an expression in its inputs")
    return {f.name: f.truth_function() for f in problem.fields}


def generate(cfg: DictConfig) -> Path:
    problem = call(cfg.pde)
    if problem.reference is None:
        raise PinnFitError(f"pde={problem.name} has no pde.reference: add one with the true "
                           "unknowns and a grid (reference: {truth: {...}, grid: {...}}; a "
                           "solver is optional, docs/reference-solver.md)")
    truth = {k: float(v) for k, v in (problem.reference.get("truth") or {}).items()}
    names = [u.name for u in problem.unknowns]
    if sorted(truth) != sorted(names):
        raise PinnFitError(f"pde.reference.truth gives {sorted(truth)}; give a value for each "
                           f"unknown {names}")
    if not 0 <= cfg.noise < np.inf:
        raise PinnFitError(f"noise={cfg.noise} must be a finite number >= 0 (a fraction of "
                           "std(field))")
    out = Path(cfg.out)
    if out.exists() and not cfg.overwrite:
        raise PinnFitError(f"{out} exists; pinn-data does not overwrite files: choose another "
                           "out=FILE.h5 or pass overwrite=true")
    if not out.parent.is_dir():
        raise PinnFitError(f"out={cfg.out}: folder '{out.parent}' does not exist; create it first")
    axes, fields = solve(problem, truth | _field_truths(problem))
    rng = np.random.default_rng(cfg.seed)
    sampling = cfg.sampling.value
    coords, values, layout = observe(axes, fields, sampling, cfg.n_points, cfg.n_sensors, rng)
    if cfg.noise > 0:
        values = {f: v + cfg.noise * v.std() * rng.standard_normal(v.shape)
                  for f, v in values.items()}
    coords = {cfg.data.coords.get(i, i): a for i, a in coords.items()}
    values = {cfg.data.fields.get(f, f): v for f, v in values.items()}
    overrides = " ".join(HydraConfig.get().overrides.task)
    write(out, coords, values, layout, truth | {f.name: str(f.truth) for f in problem.fields} | {
        "pde": problem.name, "layout": layout, "sampling": sampling, "noise": cfg.noise,
        "seed": cfg.seed, "solver": problem.reference.get("solver") or "generic (from the equations)",
        "equations": "; ".join(eq.text for eq in problem.residuals),
        "generator": f"pinn-data {overrides}".strip(),
        "config": OmegaConf.to_yaml(
            OmegaConf.masked_copy(cfg, [k for k in cfg if k != "schedule"]), resolve=True)})
    n = len(next(iter(values.values()))) if layout == "scattered" else \
        int(np.prod([len(a) for a in axes.values()]))
    log.info("wrote %s: %s, %d points of %s, truth %s, noise %g", out, layout, n,
             ",".join(values), truth, cfg.noise)
    fit = f"pinn-fit pde={problem.name} data.file={out}"
    log.info("fit it: %s", fit + (" data.n_obs=null" if n < (cfg.data.n_obs or 0) else ""))
    return out
