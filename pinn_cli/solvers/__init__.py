"""Reference solvers that make synthetic data and check recovered parameters."""

from pinn_cli.solvers.burgers import burgers1d_cole_hopf
from pinn_cli.solvers.heat import heat1d_series

__all__ = ["burgers1d_cole_hopf", "heat1d_series"]
