"""The `logger` group: each run tracked in MLflow or TensorBoard, read back with their own
readers; the default run imports neither library, and a missing one gives one message."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import QUICK, run_cli, run_dirs, summary

# A finished run in seconds, with several logged rows.
SHORT = [q for q in QUICK if not q.startswith("schedule.")] + [
    "schedule.pretrain_steps=20", "schedule.identify_steps=40", "schedule.lbfgs_steps=20",
    "log_every=20", "checkpoint_every=20", "diagnostics=off"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for the tests below (creating one takes seconds): its URI; beside it
    empty.db, a copy of the store as created."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    _client(f"sqlite:///{path}")
    shutil.copy(path, path.with_name("empty.db"))
    return f"sqlite:///{path}"


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _runs(client, experiment="pinn-fit"):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def test_mlflow_run_holds_config_metrics_artifacts_and_status(tmp_path, store):
    r = run_cli(SHORT + ["logger=mlflow", f"logger.tracking_uri={store}",
                         "logger.experiment=single"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (run_dir,) = run_dirs(tmp_path / "outputs")
    client = _client(store)
    (run,) = _runs(client, "single")
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    assert run.data.tags["pinn_fit.status"] == "completed"
    assert run.data.params["pde.name"] == "heat1d"
    assert run.data.params["schedule.identify_steps"] == "40"
    assert run.data.params["weighting._target_"] == "pinn_cli.training.weighting.Fixed"
    k = client.get_metric_history(run.info.run_id, "unknown/k")
    assert len({m.step for m in k}) > 1 and k[0].value == 0.5  # from the guess on
    assert {"loss/total", "loss/data", "loss/heat", "lambda/data"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.json", "params.csv", ".hydra"} <= artifacts and "run.lock" not in artifacts


def test_a_resume_is_tracked_only_where_its_own_command_line_says(tmp_path, store):
    r = run_cli(SHORT + ["logger=mlflow", f"logger.tracking_uri={store}",
                         "logger.experiment=resumed", "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    client, run_dir = _client(store), tmp_path / "run"
    (run,) = _runs(client, "resumed")
    assert json.loads((run_dir / "tracking.json").read_text())["mlflow_run_id"] == \
        run.info.run_id

    def resume(*logger):
        (run_dir / "summary.json").write_text(json.dumps(summary(run_dir) | {"status": "running"}))
        r = run_cli(["resume=run", *logger], tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout + r.stderr

    resume()  # the folder's store is not replayed: a folder could name someone else's server
    (same,) = _runs(client, "resumed")
    assert same.info.end_time == run.info.end_time
    resume("logger=mlflow", f"logger.tracking_uri={store}", "logger.experiment=resumed")
    (again,) = _runs(client, "resumed")  # the same MLflow run, ended again
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert again.info.end_time > run.info.end_time
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    assert "in another store" in resume("logger=mlflow", f"logger.tracking_uri={mine}",
                                        "logger.experiment=resumed")
    (new,) = _runs(_client(mine), "resumed")  # a new run in the store named now
    assert new.info.run_id != run.info.run_id and new.info.status == "FINISHED"
    assert _runs(client, "resumed")[0].info.end_time == again.info.end_time
    r = run_cli(["resume=run", "seed=3"], tmp_path)
    assert r.returncode != 0 and "only the logger" in r.stderr


def test_a_sweep_is_one_experiment_with_a_run_per_job_in_the_working_folder(tmp_path, store):
    empty = Path(store[len("sqlite:///"):]).with_name("empty.db")
    shutil.copy(empty, tmp_path / "mlflow.db")  # created already: the sweep's jobs open it
    r = run_cli(["-m", *SHORT, "logger=mlflow", "seed=0,1", "hydra.sweep.dir=multirun/sw"],
                tmp_path, env={"MLFLOW_TRACKING_URI": ""})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "mlruns").is_dir()  # MLflow's own default store, here
    runs = _runs(_client(f"sqlite:///{tmp_path / 'mlflow.db'}"))
    assert sorted(run.info.run_name for run in runs) == ["sw/0", "sw/1"]
    assert sorted(run.data.params["seed"] for run in runs) == ["0", "1"]
    assert {run.info.status for run in runs} == {"FINISHED"}


def test_tensorboard_events_in_the_run_folder(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    r = run_cli(SHORT + ["logger=tensorboard"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (run_dir,) = run_dirs(tmp_path / "outputs")
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/total", "loss/data", "loss/heat", "unknown/k", "lambda/data"} <= tags
    k = events.Scalars("unknown/k")
    assert [e.step for e in k] == [0, 20, 40, 60, 80] and k[0].value == 0.5


def test_the_default_run_imports_no_tracking_library(tmp_path):
    r = run_cli(SHORT, tmp_path,
                env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    assert "pinn_cli" in imported and not imported & {"mlflow", "tensorboard", "sqlalchemy"}


@pytest.mark.parametrize("option,module", [("mlflow", "mlflow"),
                                           ("tensorboard", "tensorboard")])
def test_a_missing_library_names_the_extra_and_leaves_no_run_folder(tmp_path, option, module):
    stub = tmp_path / "stub" / module  # a package that fails to import, as when not installed
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('not installed')\n")
    r = run_cli([f"logger={option}"], tmp_path, env={"PYTHONPATH": str(tmp_path / "stub")})
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and f'pip install "pinn-fit[{option}]"' in out, out
    assert "Traceback" not in out
    assert run_dirs(tmp_path / "outputs") == []



def test_a_store_that_cannot_be_opened_stops_the_run_before_training(tmp_path):
    r = run_cli(SHORT + ["logger=mlflow", "logger.tracking_uri=ftp://nowhere/store"], tmp_path)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "logger=mlflow could not start" in out, out
    assert "Traceback" not in out and run_dirs(tmp_path / "outputs") == []

def _row(step, k):
    from pinn_cli.training.row import Row

    return Row(step=step, phase="identify", elapsed=0.0, unknowns={"k": k}, losses={"data": 1.0},
               total=1.0, grad_max={}, grad_mean={}, lambdas={"data": 1.0}, dL_dk={})


def test_tensorboard_keeps_each_step_once_after_a_retry_and_a_resume(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from pinn_cli.io.tracking import TensorBoard

    tracker = TensorBoard()
    tracker.start(run_dir=tmp_path, run_name="run", config={})
    for step in range(5):
        tracker.row(_row(step, 0.0))
    tracker.rewind(2)  # a retry went back to the checkpoint at step 2
    for step in (3, 4):
        tracker.row(_row(step, 1.0))
    tracker.end("interrupted")
    tracker = TensorBoard()  # a resume from the checkpoint at step 3
    tracker.start(run_dir=tmp_path, run_name="run", config={}, step=3)
    tracker.row(_row(4, 2.0))
    tracker.end("completed")
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("unknown/k")] == \
        [(0, 0.0), (1, 0.0), (2, 0.0), (3, 1.0), (4, 2.0)]


def test_a_tracking_failure_during_the_run_is_one_warning_and_the_run_goes_on(tmp_path, caplog):
    from pinn_cli.io.tracking import Off

    class Broken(Off):
        def _row(self, row):
            raise ConnectionError("the server went away")

    tracker = Broken()
    tracker.start(run_dir=tmp_path, run_name="run", config={})
    tracker.row(_row(0, 0.5))
    tracker.row(_row(1, 0.5))
    tracker.end("completed")
    warned = [r.getMessage() for r in caplog.records if "stopped tracking" in r.getMessage()]
    assert len(warned) == 1 and "the server went away" in warned[0]


def test_a_run_that_stops_on_an_error_ends_its_tracking_as_failed(tmp_path):
    from pinn_cli.io.tracking import Off

    class Recording(Off):
        def _end(self, status):
            self.ended = status

    tracker = Recording()
    tracker.start(run_dir=tmp_path, run_name="run", config={})
    (tmp_path / "summary.json").write_text('{"status": "running"}')
    with pytest.raises(RuntimeError), tracker:
        raise RuntimeError("the run stopped")
    assert tracker.ended == "failed"
