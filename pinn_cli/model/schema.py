"""Schemas of the `arch` group (model.nets) and of the `derivatives` setting (model.derivatives)."""
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from omegaconf import MISSING


class Engine(Enum):
    """How input derivatives are computed (pinn_cli.model.derivatives)."""

    auto = "auto"  # Taylor where it applies, else autograd
    taylor = "taylor"  # forward-mode Taylor propagation
    autograd = "autograd"  # nested reverse mode, the reference


@dataclass
class MLPConf:
    _target_: str = MISSING  # named by each option file
    width: int = MISSING
    depth: int = MISSING
    activation: str = MISSING


@dataclass
class SizedConf:
    _target_: str = MISSING  # named by each option file
    width: Optional[int] = None  # None: the chosen network's own (20 MLP, 50 modified MLP)
    depth: Optional[int] = None  # None: the chosen network's own (8 MLP, 4 modified MLP)
    activation: str = MISSING


@dataclass
class FourierMLPConf(MLPConf):
    sigma: float = MISSING  # std of the frequencies B, per unit of the input scaled to [-1, 1]
    n_features: int = MISSING  # m: the embedding [cos 2πBz, sin 2πBz] has 2m entries
