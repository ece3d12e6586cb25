"""One message, with the nearest valid key, for a setting on the command line that the composed
config does not have (`schedule.identfy_steps=5`, or `+schedule.identfy_steps=5` where the
schema has no such field), and for a Hydra launcher or sweeper plugin that is not installed.
Hydra reports composition errors itself (`hydra._internal.utils.run_and_report`: its message,
exit code 1); `install()` puts `explained` in front of it. A `-m` sweep that stops this way
leaves no folder behind."""
import dataclasses
import difflib
import os
import re
import sys

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from pinn_cli.errors import PinnFitError
from pinn_cli.io.sweep_folder import drop_unused_sweep_folder
from pinn_cli.schema import SCHEMAS

# Hydra plugins a config may name, and the extra of pinn-fit that installs each.
PLUGINS = {"hydra/launcher/joblib": "sweep", "hydra/launcher/submitit_local": "sweep",
           "hydra/launcher/submitit_slurm": "sweep", "hydra/sweeper/optuna": "optuna"}
MISSING = re.compile(r"Could not find '(hydra/(?:launcher|sweeper)/[^']+)'")


def _option(node: DictConfig, where: str) -> str:
    """' (OPTION)': the group option `node` came from, by its `name` or its schema's name."""
    name = node.get("name") if "name" in node else None
    if not isinstance(name, str):
        kind = OmegaConf.get_type(node)
        name = next((k[:-len("_schema")] for k, v in SCHEMAS.items() if v is kind), None)
    return f" ({name})" if name and name != where.rpartition(".")[2] else ""


def unknown_key(key: str, node: DictConfig, settings) -> str:
    """Why `key` is refused: it is not among `settings`, the keys of `node`, its parent."""
    where, _, leaf = key.rpartition(".")
    settings = [str(k) for k in settings if not str(k).startswith("_")]
    near = difflib.get_close_matches(leaf, settings, n=1)
    prefix = where + "." if where else ""
    hint = f"did you mean {prefix}{near[0]}?" if near else \
        f"its settings are {', '.join(prefix + k for k in settings)}" if settings else \
        f"it is an empty mapping: add a new key with +{key}=VALUE"
    owner = f"{where}{_option(node, where)}" if where else "the top-level config"
    return f"{key} is not a setting of {owner}; {hint}"


def _explain(err: BaseException):
    """The message for a composition error this module knows, or None."""
    cause = err.__cause__
    node, key = getattr(cause, "parent_node", None), getattr(cause, "full_key", None)
    if isinstance(node, DictConfig) and key and "Could not override" in str(err):
        return unknown_key(key, node, node.keys())
    missing = MISSING.search(str(err))
    if missing:
        path = missing.group(1)
        group, _, name = path.rpartition("/")
        extra, options = PLUGINS.get(path), getattr(err, "options", None) or ()
        if extra:
            return (f"{group}={name} needs Hydra's {name} plugin, which is not installed: "
                    f"pip install -e \".[{extra}]\" in a clone of pinn-fit, or pip install "
                    f"\"pinn-fit[{extra}]\"")
        return (f"{group}={name}: no {group.rpartition('/')[2]} of that name is installed "
                f"(installed: {', '.join(options) or 'none'})")
    return None


def explained(run_and_report):
    """`run_and_report` (Hydra's) with the errors `_explain` knows printed as one line and exit
    code 2, like every other error of the user's input (HYDRA_FULL_ERROR=1: Hydra's traceback)."""
    def run(func):
        def guarded():
            try:
                return func()
            except Exception as err:
                drop_unused_sweep_folder()
                message = _explain(err)
                if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                print(f"Error: {message}", file=sys.stderr)
                sys.exit(PinnFitError.exit_code)
        return run_and_report(guarded)
    return run


def install() -> None:
    import hydra._internal.utils as utils

    if not getattr(utils.run_and_report, "explains", False):
        utils.run_and_report = explained(utils.run_and_report)
        utils.run_and_report.explains = True


def check_added(cfg: DictConfig) -> None:
    """PinnFitError for a `+KEY=VALUE` (or `++`) on the command line whose KEY is not a field of
    the schema that holds it. A free-form mapping such as pde.constants, and a node whose
    `_target_` names code outside pinn_cli, take any key; a config group's `+GROUP=OPTION` is
    Hydra's own."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    groups = hydra.runtime.choices
    overrides = OverridesParser.create().parse_overrides(list(hydra.overrides.task))
    retargeted = {o.key_or_group[:-len("._target_")] for o in overrides
                  if o.key_or_group.endswith("._target_")}
    for o in overrides:
        key = o.key_or_group
        if not (o.is_add() or o.is_force_add()) or o.is_hydra_override() or key in groups:
            continue
        where, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, where) if where else cfg
        kind = OmegaConf.get_type(node) if isinstance(node, DictConfig) else None
        if kind is None or not dataclasses.is_dataclass(kind) or where in retargeted or \
                not str(node.get("_target_", "pinn_cli.")).startswith("pinn_cli."):
            continue  # a free mapping, or code of the user's own, which takes its own arguments
        fields = [f.name for f in dataclasses.fields(kind)]
        if leaf not in fields:
            raise PinnFitError(unknown_key(key, node, fields))
