"""Hydra config groups of pinn-fit, installed as the package `pinn_cli.conf`."""
