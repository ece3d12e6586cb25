"""A run folder's lock: `run.lock` holds the PID and host of the pinn-fit process working in the
folder, so a second run or resume of the same folder is refused while the first is alive. A lock
left by a killed process (its PID gone) is taken over."""
import contextlib
import json
import os
import shutil
import socket
from pathlib import Path

from pinn_cli.errors import PinnFitError

NAME = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _holder(path: Path) -> dict | None:
    """The live process that holds the lock at `path`, or None when it is stale or unreadable."""
    try:
        held = json.loads(path.read_text())
        pid, host = int(held["pid"]), str(held["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host == socket.gethostname() and (pid == os.getpid() or not _alive(pid)):
        return None
    return {"pid": pid, "host": host}  # alive here, or on another host (which cannot be asked)


@contextlib.contextmanager
def hold(run_dir: Path):
    """Hold `run_dir`'s lock while the block runs; one message if a live process holds it."""
    path = Path(run_dir) / NAME
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            holder = _holder(path)
            if holder is not None:
                raise PinnFitError(
                    f"{run_dir} is in use by another pinn-fit (PID {holder['pid']} on "
                    f"{holder['host']}); wait for it "
                    f"to end, or stop it first. If no pinn-fit runs there, delete {path}") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
    else:
        raise PinnFitError(f"{path} keeps reappearing: another pinn-fit is starting in "
                           f"{run_dir}; run one at a time")
    with os.fdopen(fd, "w") as f:
        f.write(mine)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if path.read_text() == mine:
                path.unlink()


HYDRA_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}


def discard_unstarted(run_dir: Path) -> bool:
    """Remove `run_dir` when it holds only what Hydra writes as a run starts (.hydra/ with the
    composed config, the log) and no live process holds its lock: a run that stopped on bad
    input before training leaves no folder behind. Anything else in it (a log of training, a
    checkpoint, a summary, a file of someone else's) keeps it. True when it was removed."""
    run_dir = Path(run_dir)
    try:
        names = {p.name for p in run_dir.iterdir()}
        hydra = {p.name for p in (run_dir / ".hydra").iterdir()}
    except OSError:
        return False
    logs = {n for n in names if n.endswith(".log") and (run_dir / n).is_file()}
    if names - logs - {".hydra", NAME} or not hydra <= HYDRA_FILES or \
            (NAME in names and _holder(run_dir / NAME) is not None):
        return False
    try:
        shutil.rmtree(run_dir)
    except OSError:
        return False
    return True
