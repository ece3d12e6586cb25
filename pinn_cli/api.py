"""The Python API: the commands' runs from a notebook or a script.

    import pinn_cli as pf
    result = pf.fit("heat1d", overrides=["schedule.lbfgs_steps=500"])
    result.estimates["k"], result.verdicts["k"], result.folder
    pf.inspect(result.folder)                      # the same, read back from a run folder
    pf.generate("heat1d", out="heat.h5", overrides=["noise=0.01"])

Each call composes the same config as the command line (the package's conf/, the current
folder's conf/ and `config_dir`), runs in the calling process and writes the same run folder.
Hydra's global state, the logging handlers, torch's thread count and the signal handlers are
restored afterwards, so calls can follow one another in one kernel. Bad input raises
PinnFitError with the command line's message; Ctrl-C ends the run with its checkpoint and
summary written, then raises KeyboardInterrupt.
"""
import contextlib
import hashlib
import logging
import signal
from pathlib import Path
from typing import Iterable, Mapping, Optional

import numpy as np
from omegaconf import OmegaConf

from pinn_cli.errors import PinnFitError
from pinn_cli.result import Result, read_result

__all__ = ["fit", "generate", "inspect", "Result"]

CONF = "pinn_cli.conf"


def fit(pde: Optional[str] = None, overrides: Iterable[str] = (), *,
        data: Optional[Mapping[str, np.ndarray]] = None, truth: Optional[Mapping[str, float]] = None,
        folder: Optional[str] = None, config_dir: Optional[str] = None,
        resume: Optional[str] = None) -> Result:
    """One `pinn-fit` run: `pde` (an option name, as pde=...), `overrides` (key=value strings,
    as on the command line), `folder` (the run folder; default outputs/DATE/TIME), `config_dir`
    (a folder of your own options, as --config-dir). `data`: observations in memory, one 1-D
    array per input and per observed field of the problem, all of one length (scattered
    points), with `truth` the unknowns' true values if known; they are written once to
    data/memory-HASH.h5 under the current folder (the name is their checksum), which the run
    reads and records like any data file, all of them unless overrides set data.n_obs.
    `resume`: continue that run folder with its own config (only logger overrides may be
    given: where the resume is tracked). Returns the run's Result."""
    if resume is not None:
        if pde or data is not None or folder or config_dir:
            raise PinnFitError("resume continues a run with its own config and folder; pass "
                               f"only resume={str(resume)!r}, or start a new run")
        overrides, dirs = _resumed(resume, _overrides(None, overrides, None))
    else:
        overrides, dirs = _overrides(pde, overrides, folder), [config_dir] if config_dir else []
    if data is not None:
        with _composed("config", overrides, dirs) as cfg:
            overrides += _memory_file(data, truth or {}, cfg, overrides)
    return read_result(_run("config", overrides, dirs, "pinn_cli.workflows.fit:fit"))


def generate(pde: str, out: str, overrides: Iterable[str] = (), *,
             config_dir: Optional[str] = None) -> Path:
    """One `pinn-data` run: simulate `pde` with its reference solver (or the generic one) and
    write `out`; returns its path."""
    _run("generate", [f"pde={pde}", f"out={out}", *_overrides(None, overrides, None)],
         [config_dir] if config_dir else [], "pinn_cli.workflows.generate:generate")
    return Path(out)


def inspect(folder) -> Result:
    """The Result of a finished (or stopped) run folder, read without running anything."""
    return read_result(Path(folder))


def _overrides(pde, overrides, folder):
    if isinstance(overrides, str):
        raise PinnFitError(f"overrides={overrides!r}: pass a list of key=value strings, e.g. "
                           f"overrides=[{overrides!r}]")
    out = list(overrides)
    if pde is not None:
        out.insert(0, f"pde={pde}")
    if folder is not None:
        out.append(f"hydra.run.dir={folder}")
    return out


def _resumed(folder, logger):
    """The overrides and config folders that continue the run in `folder` (cli.resume), tracked
    as the `logger` overrides say."""
    from pinn_cli.cli.resume import resume_argv

    argv = resume_argv(["pinn-fit", *logger, f"resume={folder}"])[1:]
    flags = ("--config-dir", "-cd")
    dirs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in flags]
    return [a for i, a in enumerate(argv) if a not in flags and
            (i == 0 or argv[i - 1] not in flags)], dirs


@contextlib.contextmanager
def _composed(config_name, overrides, dirs, hydra_config=False):
    """The composed config, with Hydra initialised on the package's config module (and the
    folders `dirs` first on its search path) until the block ends, then cleared."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from pinn_cli.schema import register

    register()
    GlobalHydra.instance().clear()
    extra = [f"hydra.searchpath=[{','.join(f'file://{Path(d).resolve()}' for d in dirs)}]"] \
        if dirs else []
    with initialize_config_module(config_module=CONF, version_base="1.3", job_name="pinn-fit"):
        try:
            cfg = compose(config_name, overrides=[*overrides, *extra],
                          return_hydra_config=hydra_config)
        except (HydraException, OmegaConfBaseException) as err:
            raise PinnFitError(" ".join(str(err).split())) from None
        yield cfg


class _NoCallbacks:
    """run_job's callbacks: the output folder is checked before (check_output_folder)."""

    def on_job_start(self, **kwargs):
        pass

    def on_job_end(self, **kwargs):
        pass


def _run(config_name, overrides, dirs, workflow) -> Path:
    """Compose `config_name` with `overrides`, run `workflow` (module:function) as Hydra's run
    mode would, and return the run folder (checked first as the command's own callbacks
    would); the process's global state is left as it was."""
    import pkgutil

    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict, read_write

    from pinn_cli.cli.app import _record_failure, check_output_folder

    with _composed(config_name, overrides, dirs, hydra_config=True) as cfg, _restored():
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
        folder = Path(OmegaConf.select(cfg, "hydra.run.dir")).resolve()
        if "writable_output" in (cfg.hydra.callbacks or {}):
            check_output_folder(folder, cfg.get("resume"))
        ret = run_job(task_function=pkgutil.resolve_name(workflow), config=cfg,
                      job_dir_key="hydra.run.dir", job_subdir_key=None,
                      hydra_context=HydraContext(
                          config_loader=GlobalHydra.instance().config_loader(),
                          callbacks=_NoCallbacks()))
        try:
            ret.return_value
        except Exception as err:
            _record_failure(folder, err)
            raise
    return folder


@contextlib.contextmanager
def _restored():
    """Put back what a run changes in the process: the root logger's handlers and level,
    torch's thread count and the SIGINT/SIGTERM handlers (left ignored after a stop on a
    signal, which the command line exits on)."""
    import torch

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    threads = torch.get_num_threads()
    signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
                h.close()
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
        torch.set_num_threads(threads)
        for s, h in signals.items():
            with contextlib.suppress(ValueError, TypeError):  # not the main thread
                signal.signal(s, h)


def _memory_file(data, truth, cfg, overrides) -> list:
    """Write in-memory observations to data/memory-HASH.h5 (once: the name is their checksum)
    and return the overrides that read them (all of them unless `overrides` set data.n_obs)."""
    import h5py

    pde = cfg.pde
    inputs, outputs = list(pde.inputs), list(pde.outputs)
    names = list(data)
    unknown = [n for n in names if n not in inputs + outputs]
    missing = [i for i in inputs if i not in names]
    observed = [o for o in outputs if o in names]
    if unknown or missing or not observed:
        raise PinnFitError(
            f"data: {pde.name} has inputs {inputs} and outputs {outputs}; the arrays given are "
            f"{names}" + (f" ({unknown} name none of them)" if unknown else "")
            + (f" (no {missing})" if missing else "")
            + ("" if observed else " (no observed output)")
            + ": pass one 1-D array per input and per observed output, e.g. data=dict("
            + ", ".join(f"{n}={n}" for n in inputs + outputs[:1]) + ")")
    arrays = {}
    for n in names:
        a = np.asarray(data[n])
        if a.dtype.kind not in "iuf" or a.ndim != 1 or len(a) == 0:
            raise PinnFitError(f"data[{n!r}] is {a.dtype} of shape {a.shape}: each must be a "
                               "non-empty 1-D array of real numbers (scattered points)")
        arrays[n] = a.astype(np.float64)
    if len({len(a) for a in arrays.values()}) > 1:
        raise PinnFitError("data: the arrays have lengths "
                           + ", ".join(f"{n} {len(a)}" for n, a in arrays.items())
                           + "; each point needs one value of each")
    digest = hashlib.sha256()
    for n in sorted(arrays):
        digest.update(n.encode() + arrays[n].tobytes())
    for k in sorted(truth):
        digest.update(f"{k}={float(truth[k])!r}".encode())
    path = Path("data") / f"memory-{digest.hexdigest()[:16]}.h5"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        with h5py.File(part, "w") as f:
            for n, a in arrays.items():
                f[n] = a
            f.attrs["layout"] = "scattered"
            for k, v in truth.items():
                f.attrs[k] = float(v)
        part.replace(path)
    logging.getLogger("pinn-fit").info("observations from memory: %s", path)
    every = [] if any(o.lstrip("+~").startswith("data.n_obs=") for o in overrides) else \
        ["data.n_obs=null"]
    return [f"data.file={path.resolve()}", "data.layout=scattered", *every,
            *(f"~data.coords.{i}" for i in cfg.data.coords if i not in inputs),
            *(f"++data.coords.{i}={i}" for i in inputs),
            *(f"~data.fields.{o}" for o in cfg.data.fields if o not in observed),
            *(f"++data.fields.{o}={o}" for o in observed)]
