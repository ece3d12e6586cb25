"""Experiment tracking (the `logger` group): each logged row of a run sent to MLflow or
TensorBoard beside the run folder's own CSV logs.

The tracker is built from conf/logger/<option>.yaml before the run starts, so a missing library
stops it at once; then `start`, `row` at each logged row, `rewind` when a retry goes back to a
checkpoint, and `end` with the run's status (the `with` block ends it with summary.json's).
Each library is imported only by its tracker: the default run (logger=none) loads neither. A
failure of the tracking itself after the start is logged once and the run goes on untracked.

Metric names: loss/total (weighted), loss/<term> (unweighted), unknown/<name>, lambda/<term>,
and the losses' extra values (e.g. causal_min), all at step = the training step."""
import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path

from pinn_cli.errors import PinnFitError
from pinn_cli.io.lock import NAME as LOCK
from pinn_cli.io.runs import flat

log = logging.getLogger("pinn-fit")

STATE = "tracking.json"  # in the run folder: the MLflow run that a resume reopens
STATUSES = {"completed": "FINISHED", "interrupted": "KILLED"}  # others: FAILED


def _missing(option: str, library: str) -> PinnFitError:
    return PinnFitError(f"logger={option} needs {library}, which is not installed here: "
                        f'pip install "pinn-fit[{option}]", or run with logger=none')


def _name(key: str) -> str:
    """`key` with the characters MLflow refuses in a name replaced by _."""
    return re.sub(r"[^\w\-. /:]", "_", key)


def metrics(row) -> dict:
    """A training.row.Row's scalars by tracking name."""
    out = {"loss/total": row.total, **{f"loss/{t}": v for t, v in row.losses.items()},
           **{f"unknown/{k}": v for k, v in row.unknowns.items()},
           **{f"lambda/{t}": v for t, v in row.lambdas.items()}, **row.extra}
    return {_name(k): float(v) for k, v in out.items()}


def flat_params(config) -> dict:
    """A plain config as {dotted key: value as text}, as MLflow takes params."""
    return {k: "null" if v is None else str(v) for k, v in flat(config).items()}


class Off:
    """No tracking (logger=none); the base of the trackers."""

    option = "none"
    run_dir = None
    broken = False

    def start(self, *, run_dir: Path, run_name: str, config: dict, step=None) -> None:
        """Open tracking for the run in `run_dir`; `step`: the checkpoint's step on a resume.
        A tracker that cannot start raises PinnFitError (nothing was trained yet)."""
        try:
            self._start(Path(run_dir), run_name, config, step)
        except (PinnFitError, OSError):
            raise
        except Exception as err:
            raise PinnFitError(f"logger={self.option} could not start ({type(err).__name__}: "
                               f"{str(err).strip()[:600]}); check the logger settings "
                               f"(pinn-fit logger={self.option} --cfg job -p logger), or run "
                               "with logger=none") from None
        self.run_dir = Path(run_dir)

    def row(self, row) -> None:
        """Send one logged row (training.row.Row)."""
        self._safely(self._row, row)

    def rewind(self, step: int) -> None:
        """A retry went back to the checkpoint at `step`: what comes next replaces what follows."""
        self._safely(self._rewind, step)

    def end(self, status: str) -> None:
        """Close tracking with the run's status (summary.json's: completed, interrupted, ...)."""
        if self.run_dir is None:
            return
        if self.broken:  # one quiet try more: the tracked run's end and status at least
            with contextlib.suppress(Exception):
                self._end(status)
        else:
            self._safely(self._end, status)
        self.run_dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.run_dir is None:
            return
        try:
            status = json.loads((self.run_dir / "summary.json").read_text())["status"]
        except (OSError, ValueError, KeyError, TypeError):
            status = "failed"
        self.end("failed" if status == "running" else status)

    def _safely(self, fn, *args) -> None:
        if self.run_dir is None or self.broken:
            return
        try:
            fn(*args)
        except Exception as err:
            self.broken = True
            log.warning("logger=%s stopped tracking this run (%s: %s); the run goes on, and its "
                        "folder keeps every row", self.option, type(err).__name__, err)

    def _start(self, run_dir, run_name, config, step):
        pass

    def _row(self, row):
        pass

    def _rewind(self, step):
        pass

    def _end(self, status):
        pass


class MLflow(Off):
    """One MLflow run per pinn-fit run: params the composed config, metrics each logged row
    (sent in batches, at least every `every` seconds), at the end the run folder's files as
    artifacts, tag pinn_fit.status and the MLflow status FINISHED, KILLED or FAILED. The run's
    id is kept in the run folder (tracking.json): a resume that names the same store logs on into
    the same MLflow run."""

    option = "mlflow"
    every = 5.0

    def __init__(self, *, experiment: str = "pinn-fit", tracking_uri: str | None = None,
                 artifacts: bool = True):
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _missing("mlflow", "MLflow") from None
        self.client_type, self.experiment, self.artifacts = MlflowClient, experiment, artifacts
        # MLflow 3's own default store: an SQLite file here, the artifacts in ./mlruns/ (its
        # plain-folder store is deprecated). Absolute, so a resume from elsewhere finds it.
        self.uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or \
            f"sqlite:///{Path.cwd() / 'mlflow.db'}"
        self.pending, self.sent = [], time.monotonic()

    def _start(self, run_dir, run_name, config, step):
        from mlflow.entities import Param

        saved = _read_state(run_dir)
        if saved and saved["tracking_uri"] == self.uri:
            self.client = self._open(self.uri)
            if self._reopen(saved["run_id"]):
                return
        elif saved:
            log.info("this folder's MLflow run is in another store (%s); logging into a new run "
                     "in %s", saved["tracking_uri"], self.uri)
        self.client = self._open(self.uri)
        run = self.client.create_run(self._experiment_id(), run_name=run_name,
                                     tags={"pinn_fit.run_dir": str(run_dir.resolve())})
        self.run_id = run.info.run_id
        key_max, value_max = _param_limits()
        params = [Param(_name(k)[:key_max], v if len(v) <= value_max else v[:value_max - 3] + "...")
                  for k, v in flat_params(config).items()]
        try:
            for i in range(0, len(params), 100):  # MLflow takes at most 100 params a request
                self.client.log_batch(self.run_id, params=params[i:i + 100])
        except Exception:
            self.client.set_terminated(self.run_id, "FAILED")
            raise
        (run_dir / STATE).write_text(json.dumps(
            {"mlflow_run_id": self.run_id, "tracking_uri": self.uri}, indent=2) + "\n")

    def _open(self, uri):
        with _one_at_a_time(uri):
            return self.client_type(tracking_uri=uri)

    def _reopen(self, run_id) -> bool:
        try:
            self.client.get_run(run_id)
        except Exception:
            log.warning("the MLflow run %s of this folder is not in its store any more; "
                        "logging into a new one", run_id)
            return False
        self.run_id = run_id
        self.client.update_run(run_id, status="RUNNING")
        return True

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(self.experiment)
        except Exception:  # created meanwhile by another job of a parallel sweep
            found = self.client.get_experiment_by_name(self.experiment)
            if found is None:
                raise
            return found.experiment_id

    def _row(self, row):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [Metric(k, v, now, row.step) for k, v in metrics(row).items()]
        if len(self.pending) >= 1000 or time.monotonic() - self.sent >= self.every:
            self._flush()

    def _flush(self):
        for i in range(0, len(self.pending), 1000):  # MLflow takes at most 1000 metrics a request
            self.client.log_batch(self.run_id, metrics=self.pending[i:i + 1000])
        self.pending, self.sent = [], time.monotonic()

    def _end(self, status):
        try:
            self._flush()
            self.client.set_tag(self.run_id, "pinn_fit.status", status)
            if self.artifacts:
                for path in sorted(self.run_dir.rglob("*")):
                    if path.is_file() and path.name != LOCK and not path.name.endswith(".tmp"):
                        folder = path.parent.relative_to(self.run_dir).as_posix()
                        self.client.log_artifact(self.run_id, str(path),
                                                 None if folder == "." else folder)
        finally:
            self.client.set_terminated(self.run_id, STATUSES.get(status, "FAILED"))


@contextlib.contextmanager
def _one_at_a_time(uri: str):
    """Parallel jobs of a sweep open a local SQLite store one at a time: MLflow creates its
    tables on the first open, and two creations at once collide. Locks the store's folder."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        fcntl = None
    path = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
    folder = Path(path).parent if path and path != ":memory:" else None
    if fcntl is None or folder is None or not folder.is_dir():
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_state(run_dir: Path) -> dict:
    """tracking.json of a run folder as {run_id, tracking_uri}; {} when there is none."""
    try:
        saved = json.loads((run_dir / STATE).read_text())
        return {"run_id": str(saved["mlflow_run_id"]), "tracking_uri": str(saved["tracking_uri"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _param_limits():
    """The longest param key and value that the installed MLflow accepts."""
    from mlflow.utils import validation

    return (getattr(validation, "MAX_ENTITY_KEY_LENGTH", 250),
            getattr(validation, "MAX_PARAM_VAL_LENGTH", 500))


class TensorBoard(Off):
    """TensorBoard event files in RUN/<folder>/ (torch.utils.tensorboard.SummaryWriter): a
    scalar per metric at each logged row. A resume or a retry drops the events after the step
    it goes back to (SummaryWriter's purge_step), so each step is shown once."""

    option = "tensorboard"

    def __init__(self, *, folder: str = "tensorboard"):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise _missing("tensorboard", "TensorBoard") from None
        self.writer_type, self.folder, self.writer = SummaryWriter, folder, None

    def _start(self, run_dir, run_name, config, step):
        self._open(run_dir, step)

    def _open(self, run_dir, step):
        self.writer = self.writer_type(log_dir=str(run_dir / self.folder), flush_secs=10,
                                       purge_step=None if step is None else step + 1)

    def _row(self, row):
        for k, v in metrics(row).items():
            self.writer.add_scalar(k, v, row.step)

    def _rewind(self, step):
        self.writer.close()
        self._open(self.run_dir, step)

    def _end(self, status):
        self.writer.add_text("status", status)
        self.writer.close()
