"""Options of the user's own in ./conf, found by every command without a flag; a pde option without
a data option of its own name reads a file through the generic one; the start-up line says how
many of the file's points a run draws."""
import json

import h5py
import pytest

from conftest import REPO, run_cli, run_data

TINY = ["schedule.pretrain_steps=20", "schedule.identify_steps=50", "schedule.lbfgs_steps=20",
        "arch.depth=3", "arch.width=20", "collocation.n_points=300", "plots=false"]


def _mine(folder):
    """conf/pde/heat1d.yaml as ./conf/pde/mine.yaml, truth k = 0.2, no data option of its own."""
    text = (REPO / "conf" / "pde" / "heat1d.yaml").read_text()
    text = text.replace("name: heat1d", "name: mine").replace("truth: {k: 0.1}", "truth: {k: 0.2}")
    (folder / "conf" / "pde").mkdir(parents=True, exist_ok=True)
    (folder / "conf" / "pde" / "mine.yaml").write_text(text)


def test_a_problem_in_conf_of_the_current_folder_is_made_and_fitted_without_flags(tmp_path):
    _mine(tmp_path)
    r = run_data(["pde=mine", "out=mine.h5"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    with h5py.File(tmp_path / "mine.h5", "r") as f:
        assert sorted(f) == ["t", "u", "x"] and f.attrs["k"] == 0.2
    r = run_cli(["pde=mine", "data.file=mine.h5", "data.n_obs=400", *TINY, "hydra.run.dir=run"],
                tmp_path)
    log = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, log
    assert "pde=mine has no data option of its own name: the generic one (data=file) reads " \
           "data.file" in log
    assert "mine: 400 observations of u from mine.h5, 400 of its 10201 points drawn at random " \
           "(data.n_obs; null: all)" in log
    report = json.loads((tmp_path / "run" / "identifiability.json").read_text())
    assert report["classical"]["estimate"]["k"] == pytest.approx(0.2, rel=1e-3)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["unknowns"]["k"]["truth"] == 0.2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_cli([f"resume={tmp_path / 'run'}"], elsewhere)
    assert r.returncode == 0 and "already ended with status completed" in r.stdout + r.stderr, \
        r.stdout + r.stderr


def test_what_the_own_folder_cannot_be_is_said_in_one_message(tmp_path):
    _mine(tmp_path)
    r = run_cli(["pde=mine", "hydra.run.dir=run1"], tmp_path)
    message = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "Traceback" not in message and "Could not find" not in message
    assert "data.file is not set: pass data.file=PATH/TO/FILE.h5. The data option reads the " \
           "datasets named like the pde's inputs (x, t) and outputs (u)" in message
    r = run_cli(["pde=mine", "data=mine_data", "hydra.run.dir=run2"], tmp_path)
    message = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "data=mine_data: no such data option; choose one of " \
                                 "burgers1d, burgers2d," in message
    assert "(or write conf/data/mine_data.yaml in the current folder)" in message
    (tmp_path / "conf" / "pde" / "heat1d.yaml").write_text(
        (REPO / "conf" / "pde" / "heat1d.yaml").read_text().replace("guess: 0.5", "guess: 0.3"))
    r = run_cli(["data.file=missing.h5", "hydra.run.dir=run3"], tmp_path)
    message = "".join((r.stdout + r.stderr).split())  # without the line breaks of the log
    assert f"pde=heat1d is the shipped option; {tmp_path}/conf/pde/heat1d.yaml, of the same " \
           "name, is not read (the shipped options come first): rename it, e.g. to " \
           "my_heat1d.yaml, and pass pde=my_heat1d".replace(" ", "") in message


def test_the_own_folder_and_config_dir_list_their_options_in_help(tmp_path):
    _mine(tmp_path)
    (tmp_path / "more" / "pde").mkdir(parents=True)
    (tmp_path / "more" / "pde" / "other.yaml").write_text("defaults: [mine, _self_]\n"
                                                          "name: other\n")
    r = run_cli(["--config-dir", "more", "--help"], tmp_path)
    assert r.returncode == 0
    groups = r.stdout[r.stdout.index("pde:"):].split("\n")[0]
    assert "mine" in groups and "other" in groups and "heat1d" in groups
    r = run_cli(["--config-dir", "more", "pde=other", "--cfg", "job", "-p", "pde.name"], tmp_path)
    assert r.stdout.strip() == "other", r.stdout + r.stderr
