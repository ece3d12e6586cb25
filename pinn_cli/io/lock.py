"""A run folder's lock: `run.lock` holds the PID and host of the pinn-fit process working in the
folder, so a second run or resume of the same folder is refused while the first is alive. A lock
left by a killed process (its PID gone) is taken over."""
import contextlib
import json
import os
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
