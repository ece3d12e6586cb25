"""A mistyped setting, a missing Hydra plugin and bad input before training: one message naming
the fix, exit code 2, no traceback, and no run folder left behind."""
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import run_cli, run_data, run_dirs
from pinn_cli.io.lock import NAME, discard_unstarted


def _refused(r, message, tmp_path):
    assert r.returncode == 2, r.stderr
    assert message in " ".join((r.stdout + r.stderr).split())
    assert "Traceback" not in r.stderr and "Could not override" not in r.stderr
    assert "To append" not in r.stderr
    assert not run_dirs(tmp_path)


@pytest.mark.parametrize("args, message", [
    (["schedule.identfy_steps=5"], "schedule.identfy_steps is not a setting of schedule "
                                   "(pretrain_identify); did you mean schedule.identify_steps?"),
    (["+schedule.identfy_steps=5"], "did you mean schedule.identify_steps?"),
    (["schedule=joint", "schedule.step=5"], "schedule.step is not a setting of schedule (joint); "
                                            "did you mean schedule.steps?"),
    (["collocation.n_point=64"], "collocation.n_point is not a setting of collocation; did you "
                                 "mean collocation.n_points?"),
    (["pde.reference.truth.kk=0.2"], "did you mean pde.reference.truth.k?"),
    (["sed=1"], "sed is not a setting of the top-level config; did you mean seed?"),
    (["pde=diffusion1d_field", "pde.unknowns.D.regularization.h1=1e-4"],
     "pde.unknowns.D.regularization.h1 is not a setting of pde.unknowns.D.regularization; it is "
     "an empty mapping: add a new key with +pde.unknowns.D.regularization.h1=VALUE"),
])
def test_mistyped_setting_names_the_nearest_one(tmp_path, args, message):
    _refused(run_cli(args, tmp_path), message, tmp_path)


def test_a_sweep_with_a_mistyped_setting_leaves_no_folder_and_keeps_what_was_there(tmp_path):
    (tmp_path / "mine").mkdir()
    r = run_cli(["-m", "schedule.identfy_steps=1,2", "hydra.sweep.dir=mine/a/b"], tmp_path)
    assert r.returncode == 2 and "did you mean schedule.identify_steps?" in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # its own folder made and removed
    assert not any((tmp_path / "mine").iterdir())  # the user's folder stays, a/b go
    _refused(run_cli(["-m", "schedule.identfy_steps=1,2"], tmp_path), "did you mean", tmp_path)
    assert not (tmp_path / "multirun").exists()


def test_mistyped_setting_with_full_error_gives_the_traceback(tmp_path):
    r = run_cli(["schedule.identfy_steps=5"], tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr and "ConfigAttributeError" in r.stderr


def test_pinn_data_mistyped_setting_names_the_nearest_one(tmp_path):
    r = run_data(["noize=0.01", "out=x.h5"], tmp_path)
    _refused(r, "noize is not a setting of the top-level config; did you mean noise?", tmp_path)
    assert not (tmp_path / "x.h5").exists()


def test_added_key_of_a_free_mapping_is_not_refused(tmp_path):
    r = run_cli(["+pde.constants.c=2.0", "--cfg", "job", "-p", "pde.constants"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "c: 2.0" in r.stdout


@pytest.mark.parametrize("command, args, message", [
    (run_cli, ["data.file=missing.h5"], "data.file: 'missing.h5' does not exist"),
    (run_cli, ["data.noise=-1"], "data.noise=-1.0 must be a finite number >= 0"),
    (run_cli, ["pde.residuals.heat=u_t-"], "pde.residuals.heat: cannot parse equation 'u_t-'"),
    (run_data, ["noise=-1", "out=x.h5"], "noise=-1.0 must be a finite number >= 0"),
])
def test_bad_input_before_training_leaves_no_run_folder(tmp_path, command, args, message):
    r = command(args, tmp_path)
    assert r.returncode == 2, r.stderr
    assert message in " ".join((r.stdout + r.stderr).split())
    assert not run_dirs(tmp_path)


def test_sweep_job_on_bad_input_keeps_its_folder_as_failed(tmp_path):
    r = run_cli(["-m", "data.noise=-1"], tmp_path)
    assert r.returncode == 1
    (run,) = run_dirs(tmp_path)
    assert json.loads((run / "summary.json").read_text())["status"] == "failed"


def _started(folder):
    (folder / ".hydra").mkdir(parents=True)
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (folder / ".hydra" / name).write_text("a: 1\n")
    (folder / "pinn-fit.log").write_text("")
    return folder


def test_discard_unstarted_removes_only_a_folder_of_config_and_log(tmp_path):
    assert discard_unstarted(_started(tmp_path / "new"))
    assert not (tmp_path / "new").exists()
    for extra in ("params.csv", "summary.json", "notes.txt"):
        folder = _started(tmp_path / extra)
        (folder / extra).write_text("")
        assert not discard_unstarted(folder)
        assert (folder / extra).exists()


def test_discard_unstarted_keeps_a_folder_another_process_holds(tmp_path):
    folder = _started(tmp_path / "held")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (folder / NAME).write_text(json.dumps({"pid": other.pid, "host": socket.gethostname()}))
        assert not discard_unstarted(folder)
    finally:
        other.kill()
        other.wait()
    assert discard_unstarted(folder)  # its holder is gone: a stale lock


def test_missing_launcher_plugin_names_the_extra(tmp_path):
    hide = ("import sys; sys.modules['hydra_plugins.hydra_joblib_launcher'] = None; "
            "sys.argv = ['pinn-fit', '-m', 'hydra/launcher=joblib']; "
            "from pinn_cli.cli.app import main; main()")
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    r = subprocess.run([sys.executable, "-c", hide], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    _refused(r, "hydra/launcher=joblib needs Hydra's joblib plugin, which is not installed: "
                'pip install -e ".[sweep]"', tmp_path)
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_launcher_lists_the_installed_ones(tmp_path):
    r = run_cli(["-m", "hydra/launcher=joblibx"], tmp_path)
    _refused(r, "hydra/launcher=joblibx: no launcher of that name is installed (installed: "
                "basic, joblib", tmp_path)
