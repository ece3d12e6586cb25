"""Reference solvers that make synthetic data (``pinn-data``) and check recovered parameters.

Each takes the grid axes by input name, the unknowns by name and its own options as keywords,
and returns the fields on the product grid (an array for one field, a dict for several); a
`pde` option names its solver under ``reference.solver``."""

from pinn_cli.solvers.burgers import burgers1d_cole_hopf
from pinn_cli.solvers.burgers2d import burgers2d_front
from pinn_cli.solvers.convection import convection_exact
from pinn_cli.solvers.diffusion_field import diffusion1d_field, poisson2d_field
from pinn_cli.solvers.fisher_kpp import fisher_kpp_wave
from pinn_cli.solvers.heat import heat1d_series
from pinn_cli.solvers.lotka_volterra import lotka_volterra_rk4
from pinn_cli.solvers.oscillator import oscillator_underdamped
from pinn_cli.solvers.spectral2d import periodic_burgers2d, periodic_navier_stokes2d
from pinn_cli.solvers.taylor_green import taylor_green_vortex

__all__ = ["burgers1d_cole_hopf", "burgers2d_front", "convection_exact", "diffusion1d_field", "fisher_kpp_wave",
           "heat1d_series", "lotka_volterra_rk4", "oscillator_underdamped", "periodic_burgers2d",
           "periodic_navier_stokes2d", "poisson2d_field", "taylor_green_vortex"]
