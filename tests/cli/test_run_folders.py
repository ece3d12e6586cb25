"""Run folders are never overwritten and a resume checks what it continues: the output folder
must be new or empty, a live run locks its folder, the data file must be the one the run began
with, the user's config folders are reused (but not ones that set Hydra's own settings), and a
run stopped while its plots or diagnostics were written is finished by resume."""
import errno
import json
import shutil
import socket
import subprocess
import sys

import h5py
import pytest
import yaml

from conftest import REPO, run_cli, summary
from support import (TINY_RUN, completed_run, mark_stopped as _stopped,
                     refused as _refused, stopped_copy)

TINY = TINY_RUN


def _files(folder):
    """Every file under `folder` but the log, to which a refusal is appended."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != "pinn-fit.log"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return completed_run(tmp_path_factory, TINY, "run")


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir"])
def test_an_output_folder_with_foreign_files_is_refused(tmp_path, key):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("three years of work")
    r = run_cli(TINY + [f"{key}={folder}"] + (["-m"] if "sweep" in key else []), tmp_path)
    _refused(r, "already holds files that are not pinn-fit's (thesis.tex)")
    assert _files(folder) == {folder.relative_to(folder) / "thesis.tex": b"three years of work"}


def test_a_run_folder_is_refused_before_anything_in_it_changes(finished, tmp_path):
    run = stopped_copy(finished, tmp_path)
    before = _files(run)
    r = run_cli(TINY + ["seed=3", f"hydra.run.dir={run}"], tmp_path)
    _refused(r, "already holds a run of pinn-fit; pinn-fit writes only into a new or empty "
                "folder and never overwrites one. Choose another hydra.run.dir (sweeps: "
                "hydra.sweep.dir), or continue that run with resume=")
    assert _files(run) == before  # .hydra/config.yaml included


def test_a_live_run_locks_its_folder(finished, tmp_path):
    run = stopped_copy(finished, tmp_path)
    other = subprocess.Popen(["sleep", "60"])
    try:
        (run / "run.lock").write_text(json.dumps({"pid": other.pid,
                                                  "host": socket.gethostname()}))
        before = _files(run)
        _refused(run_cli([f"resume={run}"], tmp_path),
                 f"is in use by another pinn-fit (PID {other.pid}")
        assert _files(run) == before
    finally:
        other.kill()
        other.wait()
    # its process gone, the lock is stale: the resume takes it over, and releases it
    r = run_cli([f"resume={run}"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert summary(run)["status"] == "completed" and not (run / "run.lock").exists()


def test_a_lock_from_another_host_is_respected(finished, tmp_path):
    run = stopped_copy(finished, tmp_path)
    (run / "run.lock").write_text(json.dumps({"pid": 1, "host": "node-17.cluster"}))
    _refused(run_cli([f"resume={run}"], tmp_path), "(PID 1 on node-17.cluster)")


def test_resume_refuses_data_other_than_the_run_began_with(tmp_path):
    shutil.copy(REPO / "data" / "heat1d.h5", tmp_path / "mine.h5")
    r = run_cli(TINY + ["data.file=mine.h5", "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    assert len(summary(run)["data_sha256"]) == 64
    _stopped(run)
    with h5py.File(tmp_path / "mine.h5", "a") as f:  # same layout, other bytes
        f.attrs["note"] = "edited"
    before = _files(run)
    _refused(run_cli([f"resume={run}"], tmp_path),
             "data.file mine.h5 is not the file this run started with")
    assert _files(run) == before


def test_resume_finishes_the_plots_and_diagnostics_of_a_stopped_run(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    for name in ("params.png", "losses.png"):
        (run / name).unlink(missing_ok=True)
    logs = {n: (run / n).read_bytes() for n in ("params.csv", "losses.csv")}
    before = summary(run)
    # completed, but plots=false in TINY: nothing missing, nothing to do
    assert run_cli([f"resume={run}"], tmp_path).returncode == 0
    assert summary(run) == before
    # a run stopped after training, before its plots and diagnostics
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    assert "plots=false" in overrides and "diagnostics=off" in overrides
    _stopped(run)
    r = run_cli([f"resume={run}"], tmp_path)
    assert r.returncode == 0, r.stderr
    after = summary(run)
    assert after["status"] == "completed"
    assert after["unknowns"] == before["unknowns"] and after["steps"] == before["steps"]
    assert {n: (run / n).read_bytes() for n in logs} == logs  # no step trained twice


@pytest.fixture
def own_pde(tmp_path):
    """A run of the user's own PDE (a copy of heat1d in ./myconf/pde), stopped."""
    conf = tmp_path / "myconf"
    (conf / "pde").mkdir(parents=True)
    shutil.copy(REPO / "conf" / "pde" / "heat1d.yaml", conf / "pde" / "my_heat.yaml")
    r = run_cli(["--config-dir", "myconf", "pde=my_heat", "data=heat1d", *TINY,
                 "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stderr
    _stopped(tmp_path / "run")
    return tmp_path / "run", conf


def test_resume_reuses_the_config_folder_of_the_users_own_pde(own_pde, tmp_path):
    run, _ = own_pde
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_cli([f"resume={run}"], elsewhere)  # another working directory
    assert r.returncode == 0, r.stderr
    assert summary(run)["status"] == "completed"


def test_a_config_folder_that_sets_hydra_is_reused_only_when_named(own_pde, tmp_path):
    run, conf = own_pde
    (conf / "experiment").mkdir()
    (conf / "experiment" / "x.yaml").write_text(
        "# @package _global_\nhydra:\n  callbacks:\n    evil:\n      _target_: os.getcwd\n")
    before = _files(run)
    _refused(run_cli([f"resume={run}"], tmp_path),
             "whose experiment/x.yaml sets Hydra's own settings")
    assert _files(run) == before
    r = run_cli([f"resume={run}", "--config-dir", str(conf)], tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("planted,message", [
    ("hydra.callbacks.evil._target_=os.getcwd", "a setting of Hydra itself"),
    ("+hydra/job_logging=none", "a setting of Hydra itself"),
    ("--config-dir=/tmp", "a command-line flag"),
])
def test_overrides_that_would_reach_hydra_are_refused(finished, tmp_path, planted, message):
    run = stopped_copy(finished, tmp_path)
    path = run / ".hydra" / "overrides.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()) + [planted]))
    before = _files(run)
    _refused(run_cli([f"resume={run}"], tmp_path), message)
    assert _files(run) == before


@pytest.mark.parametrize("target", ["os.system", "pinn_cli.targets.os.system"])
def test_a_run_folder_names_no_code_outside_pinn_cli(finished, tmp_path, target):
    run = stopped_copy(finished, tmp_path)
    (run / "checkpoint.pt").unlink()  # the config check would refuse the edit first
    marker = tmp_path / "marker"
    path = run / ".hydra" / "overrides.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()) + [
        f"arch._target_={target}", f"+arch.command='touch {marker}'"]))
    _refused(run_cli([f"resume={run}"], tmp_path), f"arch._target_={target} names code "
                                                   "outside pinn_cli in a run folder's config")
    assert not marker.exists()


def test_only_the_modules_a_user_trusts_are_imported_for_a_resume(monkeypatch):
    from pinn_cli.errors import PinnFitError
    from pinn_cli.targets import imported, only_trusted_code

    assert imported("math.sqrt", "k")(4.0) == 2.0  # a new run: the user's own config
    with only_trusted_code():
        assert imported("pinn_cli.solvers.heat1d_series", "k")
        for path in ("math.sqrt", "pinn_cli.targets.os.getcwd", "pinn_cli_evil.x"):
            with pytest.raises(PinnFitError, match=f"k={path} names code outside pinn_cli"):
                imported(path, "k")
    monkeypatch.setenv("PINN_FIT_TRUST", "math, json")
    with only_trusted_code():
        assert imported("math.sqrt", "k")(9.0) == 3.0
        with pytest.raises(PinnFitError, match="PINN_FIT_TRUST=mathx pinn-fit resume"):
            imported("mathx.sqrt", "k")


def _damage(run, name, content):
    path = run / name
    if content is None:
        path.unlink()
    elif content == "dir":
        path.unlink()
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("name,content,message", [
    (".hydra/overrides.yaml", "[a, b: {", "cannot be read (ParserError)"),
    (".hydra/overrides.yaml", "a: 1\n", "is not a list of overrides"),
    (".hydra/overrides.yaml", "- 3\n", "is not a list of overrides"),
    (".hydra/overrides.yaml", "", "is not a list of overrides"),
    (".hydra/overrides.yaml", b"\xff\xfe\x00\x01", "cannot be read (UnicodeDecodeError)"),
    (".hydra/hydra.yaml", "{{{", "cannot be read (ParserError)"),
    (".hydra/hydra.yaml", "hydra:\n  runtime:\n    config_sources: 5\n",
     "does not list config sources"),
    (".hydra/hydra.yaml", "hydra:\n  runtime:\n    config_sources: [1]\n",
     "does not list config sources"),
    ("checkpoint.pt", b"", "checkpoint.pt cannot be read"),
    ("checkpoint.pt", "dir", "checkpoint.pt cannot be read"),
    ("params.csv", "x\n", "shorter than the"),
    ("losses.csv", None, "losses.csv is missing"),
])
def test_a_damaged_folder_is_refused_with_one_message(finished, tmp_path, name, content,
                                                      message):
    run = stopped_copy(finished, tmp_path)
    _damage(run, name, content)
    before = _files(run) if content != "dir" else None
    _refused(run_cli([f"resume={run}"], tmp_path), message)
    if before is not None:
        assert _files(run) == before


@pytest.mark.parametrize("content", ["[1, 2]", "{bad", "\"text\""])
def test_a_damaged_summary_is_rewritten_from_the_checkpoint(finished, tmp_path, content):
    run = stopped_copy(finished, tmp_path)
    expected = summary(run)["unknowns"]
    (run / "summary.json").write_text(content)
    (run / "run.lock").write_text("not json")  # a damaged lock is stale
    r = run_cli([f"resume={run}"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert summary(run)["status"] == "completed" and summary(run)["unknowns"] == expected


NO_SPACE = """
import collections, shutil, sys
Usage = collections.namedtuple("Usage", "total used free")
shutil.disk_usage = lambda path: Usage(10 ** 9, 10 ** 9 - 4096, 4096)
from pinn_cli.cli.app import main
sys.argv = ["pinn-fit", *sys.argv[1:]]
main()
"""


def test_a_nearly_full_disk_is_refused_before_the_run_starts(tmp_path):
    r = subprocess.run([sys.executable, "-c", NO_SPACE, *TINY, "hydra.run.dir=run"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    _refused(r, "(only 4 KiB free, fewer than the 1 MiB a run needs to start); free disk space")
    assert not (tmp_path / "run" / ".hydra").exists()


def test_a_failed_write_leaves_no_temporary_file_and_names_the_file(tmp_path):
    from pinn_cli.io.record import atomic_write

    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"the last good checkpoint")

    def fill_the_disk(path):
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left on device") as caught:
        atomic_write(target, fill_the_disk)
    assert caught.value.filename == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    assert target.read_bytes() == b"the last good checkpoint"
