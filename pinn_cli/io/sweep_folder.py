"""The folder of a `-m` sweep, as the command line sees it: summary.csv written when the sweep
ends (SweepSummary, a Hydra callback), the runs it left undone (UNFINISHED), and the folder
removed again when the sweep stops before its first job (remember_sweep_folder,
drop_unused_sweep_folder)."""
from pathlib import Path
from typing import Dict

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from pinn_cli.io.runs import find_runs, table, write_csv


# What the last `-m` sweep of this process left undone: (sweep folder, {run folder: status})
# for every run that did not complete; the command exits non-zero when it is not empty.
UNFINISHED: Dict[str, object] = {}


# The sweep folder this process is about to make and those of its parents that did not exist:
# what `drop_unused_sweep_folder` may remove when the sweep stops before its first job.
STARTED: Dict[str, object] = {}


def remember_sweep_folder(folder) -> None:
    """Before a sweep makes `folder`: notes it and its missing parents in `STARTED`."""
    folder = Path(folder).absolute()
    STARTED.clear()
    if not folder.exists():
        STARTED.update(folder=folder, new_parents=[p for p in folder.parents if not p.exists()])


def drop_unused_sweep_folder() -> None:
    """After a sweep that stopped before any job ran (a mistyped setting, an option that does not
    exist): removes the folder it made if it holds nothing but Hydra's multirun.yaml, and the
    parents made with it that are left empty. A folder that existed before is left alone."""
    folder = STARTED.pop("folder", None)
    if folder is None or not folder.is_dir():
        return
    if {p.name for p in folder.iterdir()} <= {"multirun.yaml"}:
        (folder / "multirun.yaml").unlink(missing_ok=True)
        folder.rmdir()
        for parent in STARTED.pop("new_parents", []):
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()


class SweepSummary(Callback):
    """Hydra callback: at the end of every `-m` sweep, summary.csv in the sweep folder, the
    same table as `pinn-inspect SWEEP_FOLDER --csv`, and `UNFINISHED` set to the runs that did
    not complete."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        folder = Path(config.hydra.sweep.dir)
        runs = find_runs(folder)
        if runs:
            write_csv(table(runs), folder / "summary.csv")
        UNFINISHED.clear()
        UNFINISHED.update(folder=str(folder), runs={str(r.folder): r.status for r in runs
                                                     if r.status != "completed"})
