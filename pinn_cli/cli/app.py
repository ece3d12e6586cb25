"""Entry points: Hydra composes each command's config, a workflow runs it, errors become one
clear message. Torch is imported only inside the task, so `--help` answers fast.

    pinn-fit     workflows.fit.fit              conf/config.yaml
    pinn-data    workflows.generate.generate    conf/generate.yaml
    pinn-basis   workflows.basis_train.train_offline    conf/pinn_basis.yaml
    pinn-query   workflows.basis_query.query    conf/pinn_query.yaml
"""
import errno
import json
import logging
import os
import pkgutil
import shutil
import sys

from pathlib import Path

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from pinn_cli.schema import register
from pinn_cli.errors import PinnFitError
from pinn_cli.io.lock import discard_unstarted
from pinn_cli.io.sweep_folder import remember_sweep_folder
from pinn_cli.cli import keys
from pinn_cli.cli import own_conf
from pinn_cli.cli.ranks import rank_argv
from pinn_cli.cli.resume import resume_argv

log = logging.getLogger("pinn-fit")
register()
own_conf.register()


def _report(err: BaseException, code: int, bad_input=False) -> None:
    """Print one message (or the traceback with HYDRA_FULL_ERROR=1), record the failure in the
    run folder, and exit, except inside a sweep, where the other jobs go on. On `bad_input`, a
    new run's folder that holds nothing but its config and log (it stopped before training) is
    removed instead; a sweep's jobs keep theirs, so the sweep's table lists them as failed."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise err
    log.error("%s", err)
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra = HydraConfig.get()
    folder, sweep = Path(hydra.runtime.output_dir), hydra.mode == RunMode.MULTIRUN
    resumed = any(o.startswith("resume=") for o in hydra.overrides.task)  # its folder held files
    own = hydra.output_subdir is not None  # pinn-data writes no run folder
    if not (bad_input and own and not sweep and not resumed and discard_unstarted(folder)):
        _record_failure(folder, err)
    if not sweep:
        sys.exit(code)


def _record_failure(folder: Path, err: BaseException) -> None:
    """A run folder whose run failed before it wrote summary.json gets one saying why, so
    pinn-inspect and a sweep's summary.csv list it as failed with the reason."""
    path = folder / "summary.json"
    if path.exists() or not (folder / ".hydra").is_dir():
        return
    from pinn_cli.io.record import atomic_write

    try:
        atomic_write(path, lambda p: p.write_text(
            json.dumps({"status": "failed", "error": str(err)}, indent=2) + "\n"))
    except OSError:  # the folder itself cannot be written: the log line is all there is
        pass


MIN_FREE = 2 ** 20  # bytes free on the output disk below which a run does not start


def _occupied(folder, names) -> str:
    """Why an output folder that already holds files (`names`) is refused, naming what they are."""
    held = ".hydra" in names or "multirun.yaml" in names
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    what = "a run of pinn-fit" if held else f"files that are not pinn-fit's ({shown})"
    return (f"the output folder {folder} already holds {what}; pinn-fit writes only into a new "
            "or empty folder and never overwrites one. Choose another hydra.run.dir (sweeps: "
            "hydra.sweep.dir)" + (f", or continue that run with resume={folder}" if held else ""))


def check_output_folder(folder, resume) -> None:
    """Before the run (or sweep) folder is created: that it can be, with disk space to start,
    and that it is new or empty (or the folder `resume` continues), so nothing in it is
    overwritten; else PinnFitError with the reason and the fix."""
    try:
        names = sorted(p.name for p in Path(folder).iterdir()) if Path(folder).is_dir() else []
        if resume is None and names:
            raise PinnFitError(_occupied(folder, names))
        Path(folder).mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < MIN_FREE:
            raise OSError(errno.ENOSPC, f"only {free // 1024} KiB free, fewer than the "
                                        f"{MIN_FREE // 2 ** 20} MiB a run needs to start")
        probe = Path(folder) / ".pinn-fit-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise PinnFitError(f"cannot write the output folder {folder} ({err.strerror or err}); "
                           "free disk space, run from a writable folder or pass "
                           "hydra.run.dir=FOLDER (sweeps: hydra.sweep.dir=FOLDER)") from None


class WritableOutput(Callback):
    """Hydra callback: check_output_folder before Hydra creates the run (or sweep) folder, so a
    read-only, missing or occupied one gives one message instead of Hydra's stack trace."""

    def _check(self, folder, resume):
        try:
            check_output_folder(folder, resume)
        except PinnFitError as err:
            print(f"Error: {err}", file=sys.stderr)
            sys.exit(err.exit_code)

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        self._check(config.hydra.run.dir, config.get("resume"))

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        remember_sweep_folder(config.hydra.sweep.dir)
        self._check(config.hydra.sweep.dir, config.get("resume"))


def _run(task, cfg: DictConfig):
    try:
        keys.check_added(cfg)
        own_conf.check_options()
        return task(cfg)
    except PinnFitError as err:
        _report(err, err.exit_code, bad_input=True)
    except OSError as err:  # writing the run folder: disk full, read-only, quota
        _report(PinnFitError(
            f"cannot write {err.filename or 'the output'}: {err.strerror or err}; free disk space "
            "or write elsewhere (hydra.run.dir=FOLDER, or run from a writable folder). What was "
            "written before stays"), 2)
    except KeyboardInterrupt:
        log.error("interrupted")
        sys.exit(130)
    except Exception as err:  # not foreseen: one message, the traceback on request
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _report(PinnFitError(
            f"pinn-fit stopped on an unexpected error ({type(err).__name__}: {err}). Unless the "
            "message points to your input or machine, this is a bug: rerun with "
            "HYDRA_FULL_ERROR=1 for the traceback, and report it"), 1)


def _version(command: str) -> None:
    """`COMMAND --version`: the package's own version (Hydra's flag would print Hydra's); and
    one message, not Hydra's traceback, for `-m` with `--cfg`."""
    args = sys.argv[1:]
    if "--version" in args:
        from pinn_cli import __version__

        print(f"{command} {__version__}")
        sys.exit(0)
    if {"-m", "--multirun"} & set(args) and {"-c", "--cfg"} & set(args):
        print("Error: --cfg prints the config of one run; drop -m (the first value of each "
              "swept key shows one job's config)", file=sys.stderr)
        sys.exit(2)


def _sweep_outcome() -> None:
    """Exit 1, after the sweep's summary.csv is written, when some of its runs did not complete."""
    from pinn_cli.io.sweep_folder import UNFINISHED

    runs = UNFINISHED.get("runs")
    if runs:
        counts = {}
        for status in runs.values():
            counts[status] = counts.get(status, 0) + 1
        print(f"Error: {len(runs)} run(s) of the sweep did not complete ("
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"): see "
              f"{Path(UNFINISHED['folder']) / 'summary.csv'} and each run's log", file=sys.stderr)
        sys.exit(1)


def _command(name: str, config_name: str, workflow: str, prepare=None):
    """The console script `name`: Hydra composes conf/<config_name>.yaml, then `workflow`
    (package.module:function, imported inside the task: torch loads only then) runs it;
    `prepare(argv)` may rewrite the command line first."""
    @hydra.main(version_base="1.3", config_path="pkg://pinn_cli.conf", config_name=config_name)
    def task(cfg: DictConfig):
        return _run(pkgutil.resolve_name(workflow), cfg)

    def entry():
        _version(name)
        if prepare is not None:
            try:
                sys.argv = prepare(sys.argv)
            except PinnFitError as err:
                print(f"Error: {err}", file=sys.stderr)
                sys.exit(err.exit_code)
        keys.install()
        try:
            task()
        except BrokenPipeError:  # output piped into a reader that stopped (`| head`)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        _sweep_outcome()

    entry.__doc__ = f"`{name}`: {workflow}"
    return entry


def _fit_argv(argv):
    """`resume=FOLDER` as that run's command line, then this rank's (cli.ranks)."""
    return rank_argv(resume_argv(argv))


main = _command("pinn-fit", "config", "pinn_cli.workflows.fit:fit", prepare=_fit_argv)
generate = _command("pinn-data", "generate", "pinn_cli.workflows.generate:generate")
basis = _command("pinn-basis", "pinn_basis", "pinn_cli.workflows.basis_train:train_offline")
query = _command("pinn-query", "pinn_query", "pinn_cli.workflows.basis_query:query")
