"""pinn-fit: recover unknown PDE coefficients from sparse, noisy data with inverse
physics-informed neural networks."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pinn-fit")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
