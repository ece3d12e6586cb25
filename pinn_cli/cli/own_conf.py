"""The user's own options: a folder `conf/` in the current folder joins the places every command
looks for options (after the shipped ones, before `--config-dir` and `hydra.searchpath`), so
`./conf/pde/mine.yaml` is `pde=mine` without a flag. Where several folders hold an option of the
same name, the first one in that order is read, as Hydra does; the run names the files it did not
read. A pde option without a data option of its own name gets the generic one (`data=file`: the
datasets named like the pde's inputs and outputs); a `data` option that exists nowhere is refused
with the options there are."""
import importlib.resources
import logging
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

from pinn_cli.errors import PinnFitError

log = logging.getLogger("pinn-fit")

PROVIDER = "pinn-fit ./conf"  # hydra.runtime.config_sources names the folder so
GENERIC = "file"  # the data option a pde option without one of its own name gets


def _folder(url: str):
    """The folder behind a search-path entry (file:// or pkg://), or None."""
    scheme, _, rest = url.partition("://")
    if scheme == "file":
        return Path(rest).resolve()
    if scheme == "pkg":
        try:
            return Path(str(importlib.resources.files(rest.replace("/", ".")))).resolve()
        except (ModuleNotFoundError, TypeError, ValueError):
            return None
    return None


class OwnConfFolder(SearchPathPlugin):
    """Adds `./conf` (when it is a folder and not the shipped one) right after the shipped
    options."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        own = Path.cwd() / "conf"
        if not own.is_dir():
            return
        shipped = [_folder(e.path) for e in search_path.get_path() if e.provider == "main"]
        if own.resolve() in shipped:
            return
        search_path.append(PROVIDER, f"file://{own.resolve()}", anchor=SearchPathQuery("main"))


def register() -> None:
    Plugins.instance().register(OwnConfFolder)


def _repository():
    """The options as the run found them: the run's config sources, in order."""
    from hydra._internal.config_repository import ConfigRepository
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl

    path = ConfigSearchPathImpl()
    for source in HydraConfig.get().runtime.config_sources:
        path.append(source.provider, f"{source.schema}://{source.path}")
    return ConfigRepository(path)


def check_options() -> None:
    """Inside a run: refuse a `data` option that exists nowhere, say when the generic one reads
    the data, and warn of each chosen option that a file of the same name, not read, shadows."""
    choices = HydraConfig.get().runtime.choices
    repo = _repository()
    data, pde = choices.get("data"), choices.get("pde")
    if data is not None and not repo.config_exists(f"data/{data}"):
        if data != pde:
            options = ", ".join(repo.get_group_options("data"))
            raise PinnFitError(f"data={data}: no such data option; choose one of {options} (or "
                               f"write conf/data/{data}.yaml in the current folder)")
        log.info("pde=%s has no data option of its own name: the generic one (data=%s) reads "
                 "data.file, with datasets named like the pde's inputs and outputs", pde, GENERIC)
    for group, choice in choices.items():
        if choice is None or group.startswith("hydra"):
            continue
        _shadowed(repo, f"{group}/{choice}", f"{group}={choice}")


def _shadowed(repo, name, option) -> None:
    found = [s for s in repo.get_sources() if s.scheme() != "structured" and s.is_config(name)]
    if len(found) < 2:
        return
    read = found[0].load_config(name).config
    where = "the shipped option" if found[0].provider == "main" else \
        f"{found[0].path}/{name}.yaml"
    group, choice = name.split("/", 1)
    for source in found[1:]:
        if source.load_config(name).config != read:
            log.warning("%s is %s; %s/%s.yaml, of the same name, is not read (the shipped "
                        "options come first): rename it, e.g. to my_%s.yaml, and pass %s=my_%s",
                        option, where, source.path, name, choice, group, choice)
