"""Reference solvers that make synthetic data (``pinn-data``) and check recovered parameters.

Each takes the grid axes by input name, the unknowns by name and its own options as keywords,
and returns the fields on the product grid (an array for one field, a dict for several); a
`pde` option names its solver under ``reference.solver``."""

from pinn_cli.solvers.burgers import burgers1d_cole_hopf
from pinn_cli.solvers.burgers2d import burgers2d_front
from pinn_cli.solvers.heat import heat1d_series

__all__ = ["burgers1d_cole_hopf", "burgers2d_front", "heat1d_series"]
