"""`pinn-inspect` on damaged run and sweep folders: never a traceback; one message naming the
file and what is wrong; a damaged run among others is shown as unreadable and the rest still
shows (exit 0); nothing readable left, or a command that cannot do what was asked, exits
non-zero."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, run_inspect

TINY = ["schedule.pretrain_steps=10", "schedule.identify_steps=20", "schedule.lbfgs_steps=10",
        "arch.depth=2", "arch.width=10", "collocation.n_points=100", "diagnostics=off",
        "plots=false"]
ROOT = os.geteuid() == 0  # chmod does not keep root from reading or writing


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """A finished two-job sweep (seed=0,1) from pinn-fit itself, copied for each case."""
    where = tmp_path_factory.mktemp("material")
    r = run_cli(["-m", *TINY, "seed=0,1", "hydra.sweep.dir=sweep"], where)
    assert r.returncode == 0, r.stderr
    assert (where / "sweep" / "1" / "gradients.h5").exists()
    return where / "sweep"


def _inspect(args, cwd):
    r = run_inspect(args, cwd)
    return r, " ".join((r.stdout + r.stderr).split())


def _inspect_process(args, cwd):
    r = subprocess.run([str(Path(sys.executable).parent / "pinn-inspect"), *map(str, args)],
                       cwd=cwd, capture_output=True, text=True, timeout=300)
    return r, " ".join((r.stdout + r.stderr).split())


def _edit_summary(change):
    def damage(run):
        s = json.loads((run / "summary.json").read_text())
        change(s)
        (run / "summary.json").write_text(json.dumps(s))
    return damage


def _write(name, content):
    def damage(run):
        path = run / name
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return damage


def _folder_instead(name):
    def damage(run):
        (run / name).unlink()
        (run / name).mkdir()
    return damage


def _symlink_loop(name):
    def damage(run):
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(Path(name).name)
    return damage


def _symlink_to(name, target):
    def damage(run):
        (run / name).unlink()
        (run / name).symlink_to(target)
    return damage


def _csv_cell(name, line, col, value):
    def damage(run):
        rows = (run / name).read_text().splitlines()
        cells = rows[line - 1].split(",")
        cells[col] = value
        rows[line - 1] = ",".join(cells)
        (run / name).write_text("\n".join(rows) + "\n")
    return damage


def _csv_lines(name, edit):
    def damage(run):
        rows = (run / name).read_text().splitlines()
        (run / name).write_text("\n".join(edit(rows)) + "\n")
    return damage


def _truncate(name, keep):
    def damage(run):
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:int(len(data) * keep)])
    return damage


def _chmod_000(name):
    def damage(run):
        (run / name).chmod(0)
    return damage


SUMMARY = "summary.json"
CONFIG = ".hydra/config.yaml"

# (id, damage to run 1 of the sweep, extra arguments, words the message must hold)
CASES = [
    ("summary-invalid-json", _write(SUMMARY, '{"status": "completed",'), [],
     ["summary.json: invalid JSON"]),
    ("summary-json-list", _write(SUMMARY, "[1, 2, 3]"), [],
     ["summary.json: the file holds an array, not an object"]),
    ("summary-json-string", _write(SUMMARY, '"completed"'), [],
     ["summary.json: the file holds a string, not an object"]),
    ("summary-unknowns-list", _edit_summary(lambda s: s.update(unknowns=[0.1])), [],
     ["summary.json: unknowns is an array, not an object"]),
    ("summary-unknown-number", _edit_summary(lambda s: s.update(unknowns={"k": 0.1})), [],
     ["summary.json: unknowns.k is a number, not an object"]),
    ("summary-estimate-text", _edit_summary(lambda s: s["unknowns"]["k"].update(
        estimate="0.1")), [], ["summary.json: unknowns.k.estimate is a string, not a number"]),
    ("summary-status-number", _edit_summary(lambda s: s.update(status=3)), [],
     ["summary.json: status is a number, not a string"]),
    ("summary-status-object", _edit_summary(lambda s: s.update(status={"a": 1})), [],
     ["summary.json: status is an object, not a string"]),
    ("summary-nan", _edit_summary(lambda s: s["unknowns"]["k"].update(estimate=float("nan"))),
     [], ["summary.json: unknowns.k.estimate is not a finite number (nan)"]),
    ("summary-inf", _write(SUMMARY, '{"status": "completed", "unknowns": {"k": '
                                    '{"estimate": 1e999}}}'), [],
     ["summary.json: unknowns.k.estimate is not a finite number (inf)"]),
    ("summary-huge-integer", _write(SUMMARY, '{"status": "completed", "wall_seconds": 1'
                                             + "0" * 400 + "}"), [],
     ["summary.json: wall_seconds is not a finite number (inf)"]),
    ("summary-deep-nesting", _write(SUMMARY, "[" * 100000 + "]" * 100000), [],
     ["summary.json: nested too deeply"]),
    ("summary-a-folder", _folder_instead(SUMMARY), [],
     ["summary.json: a folder where a file belongs"]),
    ("summary-dangling-symlink", _symlink_to(SUMMARY, "gone.json"), [],
     ["summary.json: a symbolic link to a missing file (gone.json)"]),
    ("summary-symlink-loop", _symlink_loop(SUMMARY), [],
     ["summary.json: Too many levels of symbolic links"]),
    ("config-invalid-yaml", _write(CONFIG, "seed: [1, 2\ndata: {"), [],
     [".hydra/config.yaml: invalid YAML"]),
    ("config-yaml-list", _write(CONFIG, "- seed\n- 1\n"), [],
     [".hydra/config.yaml: a YAML list, not a mapping of settings"]),
    ("config-empty", _write(CONFIG, ""), [], [".hydra/config.yaml: empty (no settings)"]),
    ("config-binary", _write(CONFIG, bytes(range(256)) * 4), [],
     [".hydra/config.yaml: not text"]),
    ("config-a-folder", _folder_instead(CONFIG), [],
     [".hydra/config.yaml: a folder where a file belongs"]),
    ("config-symlink-loop", _symlink_loop(CONFIG), [],
     [".hydra/config.yaml: Too many levels of symbolic links"]),
    ("params-empty", _write("params.csv", ""), ["--plot"],
     ["params.csv: empty: no header row", "left out of the plots"]),
    ("losses-header-only", _csv_lines("losses.csv", lambda rows: rows[:1]), ["--plot"],
     ["losses.csv: no logged rows yet", "left out of the plots"]),
    ("grad-norms-not-a-number", _csv_cell("grad_norms.csv", 3, 4, "abc"), ["--plot"],
     ["grad_norms.csv: line 3, column lambda:data: 'abc' is not a number"]),
    ("params-ragged-row", _csv_lines("params.csv", lambda rows: rows[:2] + [rows[2] + ",7"]
                                     + rows[3:]), ["--plot"],
     ["params.csv: line 3 has 9 cells, the header 8"]),
    ("losses-short-row", _csv_lines("losses.csv", lambda rows: rows[:-1] + ["40,lbfgs"]),
     ["--plot"], ["losses.csv: line", "has 2 cells, the header 8"]),
    ("losses-no-step-column", _csv_lines("losses.csv", lambda rows: [
        ",".join(r.split(",")[1:]) for r in rows]), ["--plot"],
     ["losses.csv: no 'step' column"]),
    ("params-binary", _write("params.csv", b"\x00\xff" * 300), ["--plot"],
     ["params.csv:", "left out of the plots"]),
    ("gradients-not-hdf5", _write("gradients.h5", "not an HDF5 file\n"), ["--plot"],
     ["gradients.h5:", "file signature not found", "grad_hist.png not drawn"]),
    ("gradients-truncated", _truncate("gradients.h5", 0.5), ["--plot"],
     ["gradients.h5:", "grad_hist.png not drawn"]),
    ("gradients-a-folder", _folder_instead("gradients.h5"), ["--plot"],
     ["gradients.h5: a folder where a file belongs", "grad_hist.png not drawn"]),
]
if not ROOT:
    CASES += [
        ("summary-no-permission", _chmod_000(SUMMARY), [],
         ["summary.json: Permission denied"]),
        ("config-no-permission", _chmod_000(CONFIG), [],
         [".hydra/config.yaml: Permission denied"]),
        ("losses-no-permission", _chmod_000("losses.csv"), ["--plot"],
         ["losses.csv: Permission denied", "left out of the plots"]),
    ]


@pytest.fixture
def sweep(material, tmp_path):
    shutil.copytree(material, tmp_path / "sweep", symlinks=True)
    yield tmp_path / "sweep"
    for p in (tmp_path / "sweep").rglob("*"):  # let pytest remove what a case locked
        if not p.is_symlink():
            p.chmod(0o755)


@pytest.mark.parametrize("damage,args,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_run_among_others_is_named_and_the_rest_shows(sweep, damage, args, words):
    damage(sweep / "1")
    r, out = _inspect([sweep, *args], sweep.parent)
    assert "Traceback" not in out
    assert r.returncode == 0, out
    for w in words:
        assert w in out, out
    assert out.count(words[0]) == 1, out  # one message, not one per use
    assert "completed" in r.stdout and "2 runs" in out
    if "--plot" in args:
        assert (sweep / "runs_params.png").stat().st_size > 1000
        assert (sweep / "0" / "grad_hist.png").exists()
    elif "unreadable" not in out:
        pytest.fail(out)


@pytest.mark.parametrize("damage,args,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_lone_damaged_run_exits_non_zero(sweep, damage, args, words):
    run = sweep / "0"
    damage(run)
    r, out = _inspect([run, *args], sweep.parent)
    assert "Traceback" not in out
    for w in words:
        assert w in out, out
    if "grad_hist.png not drawn" in words:  # the logs still plot: only that figure is missing
        assert r.returncode == 0 and (run / "runs_params.png").exists(), out
    else:
        assert r.returncode != 0, out


def test_every_run_damaged_exits_non_zero(sweep):
    for i in "01":
        _write(SUMMARY, "[]")(sweep / i)
    r, out = _inspect_process([sweep], sweep.parent)  # the command itself, in its own process
    assert r.returncode != 0 and "Traceback" not in out
    assert "no run under" in out and out.count("the file holds an array") == 2


def test_a_symlink_loop_in_the_sweep_folder_is_named_and_skipped(sweep):
    (sweep / "loop").symlink_to("loop")
    (sweep / "1" / "up").symlink_to("..")  # a cycle of folders: never followed
    r, out = _inspect([sweep, "--plot"], sweep.parent)
    assert r.returncode == 0 and "Traceback" not in out, out
    assert "loop: a symbolic link that loops; skipped" in out and "2 runs" in out


@pytest.mark.parametrize("where,words", [
    ("nowhere", "nowhere does not exist"),
    ("a-file", "a-file is a file, not a folder"),
    ("empty", "no run folders (with .hydra/config.yaml) under"),
    ("loop", "loop does not exist"),
])
def test_a_path_that_is_no_folder_of_runs(tmp_path, where, words):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "loop").symlink_to("loop")
    r, out = _inspect([tmp_path / where], tmp_path)
    assert r.returncode != 0 and "Traceback" not in out and words in out, out


def test_an_export_that_cannot_be_written_names_the_file(sweep):
    r, out = _inspect([sweep, "--csv", sweep / "no" / "such" / "dir.csv"], sweep.parent)
    assert r.returncode != 0 and "Traceback" not in out
    assert "cannot write" in out and "dir.csv" in out and "choose another file" in out


def _plots(sweep):
    return sorted(p.name for p in sweep.rglob("*.png") if p.name.startswith(("runs_", "grad_h")))


@pytest.mark.skipif(ROOT, reason="root writes into a chmod 555 folder")
def test_plots_into_a_read_only_sweep_folder(sweep, tmp_path):
    for p in [sweep, *sweep.iterdir()]:
        if p.is_dir():
            p.chmod(0o555)
    r, out = _inspect([sweep, "--plot", "--csv", tmp_path / "table.csv"], tmp_path)
    assert r.returncode != 0 and "Traceback" not in out, out
    assert out.count("cannot write the plots into") == 1
    assert "copy the folder" in out and "completed" in r.stdout
    assert (tmp_path / "table.csv").read_text().startswith("status")  # nothing else lost
    assert not _plots(sweep)


def test_plots_into_a_read_only_sweep_folder_in_process(sweep, tmp_path, monkeypatch, capsys):
    """The same as above where chmod cannot stop the writer (root): the folder refuses new
    files at the operating-system call that creates them."""
    from pinn_cli.cli import inspection
    from pinn_cli.io import run_plots

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(run_plots.tempfile, "TemporaryFile", refuse)
    with pytest.raises(SystemExit) as stop:
        inspection.main([str(sweep), "--plot", "--csv", str(tmp_path / "table.csv")])
    captured = capsys.readouterr()
    message = " ".join(str(stop.value.code).split())
    assert stop.value.code != 0 and "Traceback" not in captured.out + captured.err + message
    assert message.startswith(f"pinn-inspect: cannot write the plots into {sweep} "
                              "(Permission denied)")
    assert "copy the folder" in message and "completed" in captured.out
    assert (tmp_path / "table.csv").read_text().startswith("status")
    assert not _plots(sweep)


def test_huge_but_finite_numbers_are_shown(sweep):
    for i in "01":
        _edit_summary(lambda s: s["unknowns"]["k"].update(estimate=1.7e308, rel_error=1.7e307))(
            sweep / i)
    r, out = _inspect([sweep], sweep.parent)
    assert r.returncode == 0 and "Traceback" not in out, out
    assert "1.7e+308" in out and "completed" in out


def test_reading_runs_no_code_and_no_resolver(sweep, monkeypatch):
    """A config that names code and environment variables is read as text only."""
    monkeypatch.setenv("PINN_TEST_SECRET", "s3cr3t-value")
    marker = sweep.parent / "ran"
    cfg = sweep / "1" / ".hydra" / "config.yaml"
    cfg.write_text(cfg.read_text() + f"note: ${{oc.env:PINN_TEST_SECRET}}\nhook:\n  _target_: "
                   f"pathlib.Path.touch\n  self: {marker}\n")
    r, out = _inspect([sweep, "--csv", "-"], sweep.parent)
    assert r.returncode == 0 and "Traceback" not in out, out
    assert "${oc.env:PINN_TEST_SECRET}" in r.stdout and "s3cr3t-value" not in out
    assert not marker.exists()


def test_text_that_looks_like_markup_is_shown_as_written(sweep):
    _edit_summary(lambda s: s.update(status="[/oops] [bold]"))(sweep / "1")
    cfg = sweep / "1" / ".hydra" / "config.yaml"
    cfg.write_text(cfg.read_text() + "label: '[/x]'\n")
    r, out = _inspect([sweep], sweep.parent)
    assert "Traceback" not in out and r.returncode == 0, out
    assert "[/oops] [bold]" in out and "[/x]" in out
