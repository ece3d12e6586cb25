"""Write two HDF5 files shaped like measurements of your own, from the shipped heat1d data, for
the examples of docs/data.md (run from the repository root; writes into the current folder):

- my_grid.h5: a grid file with names of your own: `position` (101,), `time` (101,) and
  `temperature` (101, 101) on their product grid, its `axes` attribute naming its axes in order;
- my_scattered.h5: 400 scattered measurements with 1 % noise, as equal-length columns `xs`, `ts`
  and `u_measured`.

Both carry the true diffusivity as the attribute `k`, so pinn-fit reports its error; measurements
of your own would not have it.
"""
import h5py
import numpy as np

from pinn_cli.io.observations import resolve_file

with h5py.File(resolve_file("data/heat1d.h5"), "r") as f:
    x, t, u, k = f["x"][:], f["t"][:], f["usol"][:], float(f.attrs["k"])  # u[i, j] = u(x_i, t_j)

with h5py.File("my_grid.h5", "w") as f:
    f["position"] = x
    f["time"] = t
    f["temperature"] = u
    f["temperature"].attrs["axes"] = ["position", "time"]
    f.attrs["k"] = k

rng = np.random.default_rng(0)
i = rng.integers(0, len(x), 400)
j = rng.integers(0, len(t), 400)
with h5py.File("my_scattered.h5", "w") as f:
    f["xs"] = x[i]
    f["ts"] = t[j]
    f["u_measured"] = u[i, j] + 0.01 * u.std() * rng.standard_normal(400)
    f.attrs["k"] = k
print("wrote my_grid.h5 and my_scattered.h5")
