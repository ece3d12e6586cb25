"""Config values that name Python code: `_target_` keys and dotted paths such as
pde.reference.solver. One resolver for all of them, with one message naming the key."""
import contextlib
import os
import pkgutil

from omegaconf import DictConfig, OmegaConf

from pinn_cli.errors import PinnFitError

TRUST_ENV = "PINN_FIT_TRUST"  # comma-separated module prefixes a resume may run besides pinn_cli
_allowed = None  # None: any code; else the module prefixes that may be imported


@contextlib.contextmanager
def only_trusted_code():
    """While open, config values may name only pinn_cli's own code and the prefixes the user
    lists in $PINN_FIT_TRUST: for a run folder's config, whose author may not be the user."""
    global _allowed
    extra = [p.strip() for p in os.environ.get(TRUST_ENV, "").split(",") if p.strip()]
    before, _allowed = _allowed, ("pinn_cli", *extra)
    try:
        yield
    finally:
        _allowed = before


def _within(name: str) -> bool:
    return _allowed is None or any(name == p or name.startswith(p + ".") for p in _allowed)


def _check_trusted(path: str, key: str, target=None) -> None:
    """`path`, and the module that defines what it names (pinn_cli.x.os.system is os's), must
    be trusted."""
    if _within(path) and (target is None or _within(getattr(target, "__module__", None) or "")):
        return
    raise PinnFitError(
        f"{key}={path} names code outside pinn_cli in a run folder's config, and a resume runs "
        f"only pinn_cli's own code unless told otherwise. Nothing was run. If you trust that "
        f"code, resume with {TRUST_ENV}={path.rsplit('.', 1)[0]} pinn-fit resume=...")


def imported(path: str, key: str):
    """The class or function that the config value `path` (package.module.Name) names; one
    message naming the config key `key` when it cannot be imported or is not callable, or is
    not trusted (`only_trusted_code`)."""
    _check_trusted(str(path), key)
    try:  # pkgutil, not hydra.utils.get_method, which logs an error line of its own first
        target = pkgutil.resolve_name(path)
        if callable(target):
            _check_trusted(str(path), key, target)
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
