"""What a resume finds in a run folder: the run's last summary and its checkpoint, checked
against the config and the data file the resume was given, so a run continues only what it
wrote itself."""
import json
import pickle

import torch
from omegaconf import OmegaConf

from pinn_cli.errors import PinnFitError
from pinn_cli.io.checksum import sha256
from pinn_cli.io.runs import flat

FINAL = ("completed", "diverged", "failed", "stalled")  # statuses a resume leaves alone


def ended(cfg, run_dir, previous) -> bool:
    """Whether a resume has nothing left to do: the run ended, and a completed one has its
    plots, report and diagnostics (a kill while they were written, or a run from a version
    without the report, leaves them for the resume)."""
    status = previous.get("status")
    if status != "completed":
        return status in FINAL
    plotted = not cfg.plots or all((run_dir / f).exists() for f in ("params.png", "report.html"))
    diagnosed = cfg.diagnostics._target_ == OFF or "identifiability" in previous
    return plotted and diagnosed


OFF = "pinn_cli.diagnostics.identifiability.Off"


def previous_run(cfg, run_dir, requeued: bool = False):
    """For `resume`, or a job that its launcher `requeued`: (the run's last summary, its
    checkpoint) or (None, None) for a new folder; otherwise a folder that holds a run is
    refused."""
    path = run_dir / "summary.json"
    if not path.exists():
        return None, None
    if cfg.resume is None and not requeued:
        raise PinnFitError(f"{run_dir} already holds a run; pinn-fit never overwrites one. Start "
                           f"a new run, or continue this one with pinn-fit resume={run_dir}")
    try:
        previous = json.loads(path.read_text())
    except ValueError:
        previous = None
    if not isinstance(previous, dict):  # damaged: the checkpoint says where the run stands
        previous = {"status": "running"}
    ckpt = run_dir / "checkpoint.pt"
    if not ckpt.exists():
        return previous, None
    try:  # tensors and plain containers only: a checkpoint from elsewhere cannot run code
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise PinnFitError(f"{ckpt} holds objects other than tensors and plain containers, which "
                           "pinn-fit never writes and will not load (loading them could run "
                           "code); this run cannot be resumed, start a new one") from None
    except Exception as err:
        raise PinnFitError(f"{ckpt} cannot be read ({type(err).__name__}: {err}); this run cannot "
                           "be resumed, start a new one") from None
    _check_checkpoint(state, cfg, ckpt)
    return previous, state


def plain_config(cfg) -> dict:
    """The config as a checkpoint keeps it: plain containers, enums as their names."""
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def _check_checkpoint(state, cfg, ckpt) -> None:
    """A resume continues what the checkpoint holds: the keys a run writes, and the config it
    ran with (the folder's overrides, as `resume` replays them; the logger, which a resume names
    afresh, aside), else one message naming what differs."""
    missing = sorted({"step", "phase_index", "net", "unknowns", "config", "csv_offsets",
                      "last_row"} - set(state) if isinstance(state, dict) else ["all"])
    if missing:
        raise PinnFitError(f"{ckpt} lacks {missing}: it is not a checkpoint pinn-fit wrote for "
                           "this run; start a new run")
    for name, offset in dict(state["csv_offsets"]).items():  # a resume cuts each log back
        log_file = ckpt.parent / name
        size = log_file.stat().st_size if log_file.is_file() else None
        if size is None or size < offset:
            raise PinnFitError(
                f"{log_file} is {'missing' if size is None else f'{size} bytes'}, shorter than the "
                f"{offset} bytes the checkpoint logged: the log was changed since. Nothing was "
                "changed; restore the folder, or start a new run")
    now, then = flat(plain_config(cfg)), flat(state["config"])
    differ = sorted(k for k in set(now) | set(then)
                    if k != "resume" and not k.startswith("logger.")
                    and now.get(k, "<absent>") != then.get(k, "<absent>"))
    if differ:
        shown = "; ".join(f"{k}: {then.get(k, '<absent>')!r} in the checkpoint, "
                          f"{now.get(k, '<absent>')!r} now" for k in differ[:5])
        raise PinnFitError(f"{ckpt} was written with another config ({shown}"
                           f"{'; ...' if len(differ) > 5 else ''}): the folder's .hydra files "
                           "were changed since, or the checkpoint comes from another run. Nothing "
                           "was changed; restore the folder, or start a new run")


def same_data(file, state) -> str:
    """The data file's SHA-256; a resume must find the file its run started with."""
    digest = sha256(file)
    then = (state or {}).get("data_sha256")
    if then is not None and then != digest:
        raise PinnFitError(
            f"data.file {file} is not the file this run started with (its SHA-256 differs from "
            "the one in the checkpoint): the file was changed since, or the relative path points "
            "to another file from this working directory. Nothing was changed; resume from the "
            "folder the run was started in, or restore the file")
    return digest

