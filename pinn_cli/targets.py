"""Config values that name Python code: `_target_` keys and dotted paths such as
pde.reference.solver. One resolver for all of them, with one message naming the key."""
import pkgutil

from omegaconf import DictConfig, OmegaConf

from pinn_cli.errors import PinnFitError


def imported(path: str, key: str):
    """The class or function that the config value `path` (package.module.Name) names; one
    message naming the config key `key` when it cannot be imported or is not callable."""
    try:  # pkgutil, not hydra.utils.get_method, which logs an error line of its own first
        target = pkgutil.resolve_name(path)
        if callable(target):
            return target
        raise ValueError(f"{type(target).__name__} is not callable")
    except (ImportError, AttributeError, ValueError) as err:
        cause = str(err).strip().splitlines()
        raise PinnFitError(
            f"{key}={path} cannot be imported ({cause[-1] if cause else type(err).__name__}); "
            "check the spelling (drop the override to use the option file's value), or name a "
            "class or function that Python can import (package.module.Name)") from None


def target_of(node: DictConfig):
    """The class or function a config node's `_target_` names."""
    return imported(node._target_, node._get_full_key("_target_"))


def call(node: DictConfig, **kwargs):
    """Call a config node's `_target_` with its other keys (plain containers) and `kwargs`."""
    args = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    args.pop("_target_")
    return target_of(node)(**args, **kwargs)
