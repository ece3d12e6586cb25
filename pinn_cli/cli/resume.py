"""`pinn-fit resume=FOLDER`: the command line that continues a run (or, with -m, a sweep), rebuilt
from the folder's own files. A folder may come from someone else, so nothing in it may choose code
to run: a replayed override that sets Hydra's own settings or a command-line flag is refused, and
the config folders the run used (`--config-dir`, `hydra.searchpath`, the `conf` folder of the
folder it was started in) are reused only when they hold no Hydra settings; what the composed
config names is checked when it is imported (targets.only_trusted_code). Where the run was
tracked (`logger`) is not replayed either, since a folder's store could be someone else's server:
a resume is tracked only where its own command line says (`resume=FOLDER logger=mlflow ...`)."""
from pathlib import Path

from omegaconf import OmegaConf

from pinn_cli.cli.own_conf import PROVIDER as OWN
from pinn_cli.errors import PinnFitError

SWEEP_SETTINGS = ("hydra/launcher=", "hydra/sweeper=", "hydra.launcher.", "hydra.sweeper.")
PRIMARY = ("config.yaml", "generate.yaml", "pinn_basis.yaml", "pinn_query.yaml")


def _config_dirs_given(args):
    """The `--config-dir D` / `--config-dir=D` / `-cd D` the user gives beside resume=, and the
    other arguments, which resume refuses."""
    dirs, others, rest = [], [], list(args)
    while rest:
        a = rest.pop(0)
        if a in ("--config-dir", "-cd") and rest:
            dirs.append(str(Path(rest.pop(0)).expanduser().resolve()))
        elif a.startswith("--config-dir="):
            dirs.append(str(Path(a.split("=", 1)[1]).expanduser().resolve()))
        else:
            others.append(a)
    return dirs, others


def _strings(node, source) -> list:
    items = OmegaConf.to_container(node) if node is not None else []
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise PinnFitError(f"{source} is not a list of overrides as pinn-fit writes it; restore "
                           "the folder or start a new run")
    return items


def _refuse(override, source, why):
    raise PinnFitError(f"{source} holds {override!r}, {why}: pinn-fit never writes that there, so "
                       "the folder was edited. Nothing was run; restore the folder, or start a "
                       "new run with the overrides you want")


def _checked(overrides, source, *, hydra=False):
    """The overrides, after refusing flags and settings that can name code to run: Hydra's own
    among task overrides, `_target_` keys among the launcher and sweeper settings."""
    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if o.startswith("-"):
            _refuse(o, source, "a command-line flag")
        if hydra and "_target_" in key:
            _refuse(o, source, "a launcher or sweeper class")
        if not hydra and key.startswith("hydra"):
            _refuse(o, source, "a setting of Hydra itself")
    return overrides


def _tracking(override: str) -> bool:
    """Whether an override chooses where a run is tracked (the `logger` group)."""
    key = override.split("=", 1)[0].lstrip("+~")
    return key == "logger" or key.startswith("logger.")


def _hydra_settings(folder: Path) -> str | None:
    """The first file in a config folder that sets Hydra's own settings (a primary config, the
    hydra/ group, a `hydra:` key, a defaults entry naming hydra), which could name code to run."""
    for path in sorted(folder.rglob("*.y*ml")):
        rel = path.relative_to(folder)
        if rel.parts[0] == "hydra" or str(rel) in PRIMARY:
            return str(rel)
        try:
            node = OmegaConf.to_container(OmegaConf.load(path))
        except Exception:  # unreadable: Hydra reports it when it composes
            continue
        if isinstance(node, dict) and ("hydra" in node or "hydra" in str(node.get("defaults"))):
            return str(rel)
    return None


def _config_dirs(hydra_node, given, folder):
    """`--config-dir` and `hydra.searchpath` arguments that reuse the run's own config folders:
    those the user names again now, and those that hold no Hydra settings."""
    sources = OmegaConf.select(hydra_node, "runtime.config_sources", default=None)
    sources = OmegaConf.to_container(sources) if OmegaConf.is_config(sources) else sources or []
    if not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
        raise PinnFitError(f"{folder}/.hydra/hydra.yaml does not list config sources as Hydra "
                           "writes them; restore the folder or start a new run")
    flags, searchpath = [], []
    for source in sources:
        provider, schema, path = (str(source.get(k, "")) for k in ("provider", "schema", "path"))
        if provider not in ("command-line", "hydra.searchpath in command-line", OWN):
            continue
        if schema == "file" and path not in given:
            local = Path(path)
            if not local.is_dir():
                raise PinnFitError(f"the run in {folder} used the config folder {path}, which is "
                                   "not there now; resume with --config-dir PATH naming where it "
                                   "is")
            planted = _hydra_settings(local)
            if planted:
                raise PinnFitError(
                    f"the run in {folder} used the config folder {path}, whose {planted} sets "
                    "Hydra's own settings, which can name code to run; resume reuses that folder "
                    f"only when you name it: pinn-fit resume={folder} --config-dir {path}")
        if provider in ("command-line", OWN):
            flags += [] if path in given else ["--config-dir", path]
        else:
            searchpath.append(f"{schema}://{path}")
    return flags, ([f"hydra.searchpath=[{','.join(searchpath)}]"] if searchpath else [])


def resume_argv(argv):
    """`pinn-fit resume=RUN_FOLDER` becomes that run's own overrides and config folders plus
    `hydra.run.dir=RUN_FOLDER`, so the same config continues in the same folder; with -m, the
    sweep folder's overrides plus `hydra.sweep.dir`, so each job lands in its own folder again."""
    given = [a for a in argv[1:] if a.startswith("resume=")]
    if not given:
        return argv
    folder = Path(given[-1].split("=", 1)[1]).expanduser()
    sweep = any(a in ("-m", "--multirun") for a in argv[1:])
    dirs, others = _config_dirs_given(
        a for a in argv[1:] if not a.startswith("resume=") and a not in ("-m", "--multirun"))
    tracking = [a for a in others if _tracking(a)]
    others = [a for a in others if not _tracking(a)]
    if others:
        raise PinnFitError(f"resume continues a run with its own config; drop {others} (or start "
                           "a new run with them); only the logger (logger=..., logger.*) may be "
                           "named again")
    source = folder / ("multirun.yaml" if sweep else ".hydra/overrides.yaml")
    if not source.is_file():
        what = "a sweep folder (multirun/<date>/<time>)" if sweep else \
            "a run folder (outputs/<date>/<time>)"
        raise PinnFitError(f"resume={folder}: no {source.name} there, so it is not {what}; "
                           "pass the folder a run wrote")
    try:
        loaded = OmegaConf.load(source)
        hydra_file = source if sweep else folder / ".hydra" / "hydra.yaml"
        hydra_node = OmegaConf.load(hydra_file).hydra if hydra_file.is_file() else None
    except Exception as err:
        raise PinnFitError(f"resume={folder}: its {source.name} or hydra.yaml cannot be read "
                           f"({type(err).__name__}); restore the folder or start a new run") from None
    task = _checked(_strings(loaded.hydra.overrides.task if sweep else loaded, source), source)
    task = [a for a in task if not a.startswith("resume=") and not _tracking(a)] + tracking
    if sweep:  # the same launcher and sweeper (and their settings) as the first time
        settings = _strings(loaded.hydra.overrides.hydra, source)
        task += _checked([a for a in settings if a.startswith(SWEEP_SETTINGS)], source, hydra=True)
    flags, searchpath = _config_dirs(hydra_node, dirs, folder) if hydra_node else ([], [])
    explicit = [x for d in dirs for x in ("--config-dir", d)]
    # a run's .hydra files stay as the run wrote them (hydra.output_subdir=null), so a refused
    # resume leaves them untouched; a sweep's jobs that never started still need theirs
    where = [f"hydra.sweep.dir={folder}"] if sweep else \
        [f"hydra.run.dir={folder}", "hydra.output_subdir=null"]
    return [argv[0], *(["-m"] if sweep else []), *explicit, *flags, *task, *searchpath, *where,
            f"resume={folder}"]
