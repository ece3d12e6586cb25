"""Data files shipped with pinn-fit, installed as the package `pinn_cli.datasets`."""
