"""pinn-fit: recover unknown PDE coefficients from sparse, noisy data with inverse
physics-informed neural networks.

    import pinn_cli as pf
    result = pf.fit("heat1d")          # also pf.inspect(folder), pf.generate(pde, out)

(pinn_cli.api; imported on first use, so the command line starts without torch.)"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pinn-fit")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"


API = ("fit", "generate", "inspect", "Result")


def __getattr__(name):
    if name in API:
        from pinn_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'pinn_cli' has no attribute {name!r}")
