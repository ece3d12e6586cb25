"""Regenerate the shipped data files: ``python -m pinn_cli.solvers.shipped [--out data]``."""

import argparse
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

from pinn_cli.solvers.burgers import burgers1d_cole_hopf
from pinn_cli.solvers.heat import heat1d_series

GENERATOR = "python -m pinn_cli.solvers.shipped"
HEAT_K = 0.1
HEAT_MODES = {1: 1.0, 3: 0.5}
BURGERS_NU = 0.01 / np.pi
BURGERS_LAMBDA1 = 1.0
BURGERS_NODES = 160


def write_grid(path: Path, x, t, usol, attrs: dict) -> None:
    """Write x, t, usol (len(x), len(t)) and file attributes to ``path`` atomically."""
    fd, tmp = tempfile.mkstemp(suffix=".h5.tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        with h5py.File(tmp, "w") as f:
            f["x"] = np.asarray(x, dtype=np.float64)
            f["t"] = np.asarray(t, dtype=np.float64)
            f["usol"] = np.asarray(usol, dtype=np.float64)
            f["usol"].attrs["axes"] = np.array(["x", "t"], dtype="S")
            f.attrs.update(attrs)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_heat1d(out: Path) -> Path:
    x = np.linspace(0.0, 1.0, 101)
    t = np.linspace(0.0, 0.5, 101)
    path = out / "heat1d.h5"
    write_grid(path, x, t, heat1d_series(x, t, HEAT_K, HEAT_MODES), {
        "k": HEAT_K,
        "pde": "heat1d",
        "equation": "u_t = k*u_xx",
        "generator": GENERATOR,
        "solver": "exact sine series",
    })
    return path


def write_burgers1d(out: Path) -> Path:
    x = np.linspace(-1.0, 1.0, 256)
    t = np.linspace(0.0, 0.99, 100)
    usol = burgers1d_cole_hopf(x, t, BURGERS_NU, BURGERS_LAMBDA1, n_quad=BURGERS_NODES)
    path = out / "burgers1d.h5"
    write_grid(path, x, t, usol, {
        "lambda1": BURGERS_LAMBDA1,
        "nu": BURGERS_NU,
        "pde": "burgers1d",
        "equation": "u_t + lambda1*u*u_x - nu*u_xx = 0",
        "generator": GENERATOR,
        "solver": f"Cole-Hopf with Gauss-Hermite quadrature, {BURGERS_NODES} nodes",
    })
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
    out = parser.parse_args(None if argv is None else [str(a) for a in argv]).out
    out.mkdir(parents=True, exist_ok=True)
    for path in (write_heat1d(out), write_burgers1d(out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
