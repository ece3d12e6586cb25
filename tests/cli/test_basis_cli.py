"""IP-Basis from the command line: `pinn-basis` (offline) and `pinn-query` (online, one query
per data file). The library is tested in test_basis.py.

The shipped oscillator option declares no initial condition (its reference solver starts at
x(0) = 1, x'(0) = 0) and a basis needs it, so every command here adds it by the override that
the error message and docs/basis.md give (CONDITIONS); one test uses a pde option of the user's own
through hydra.searchpath instead."""
import csv

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException

from pinn_cli.schema import register

from conftest import run_cli, run_data, run_dirs, summary

register()

ENV = {"OMP_NUM_THREADS": "1"}
CONDITIONS = ("+pde.conditions={x0: {at: {t: 0.0}, equation: 'x - 1'}, "
              "v0: {at: {t: 0.0}, equation: 'x_t'}}")
OSC = ["pde=oscillator", CONDITIONS]
# test_basis.py's oscillator basis (measured there: 0.01-0.2 % errors inside the range); here
# about 8 s of training on one thread, 11 s with the process start.
BASIS = ["basis.ranges={c: {lo: 0.2, hi: 0.8}, k: {lo: 2.0, hi: 6.0}}", "basis.n_basis=16",
         "basis.n_readouts=16", "basis.steps=2000", "basis.lr=3e-3", "basis.activation=sin",
         "basis.n_points=256", "basis.n_condition_points=1", "basis.validation.n_obs=50"]
TRUTHS = [(0.3, 5.0), (0.65, 5.0)]  # inside the range, none of them a training readout's


def run_basis(args, cwd, **kwargs):
    """Run `pinn-basis ARGS` in `cwd`."""
    return run_cli(args, cwd, command="pinn-basis", env=ENV, **kwargs)


def run_query(args, cwd):
    """Run `pinn-query ARGS` in `cwd`."""
    return run_cli(args, cwd, command="pinn-query", env=ENV)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _out(r):
    return " ".join((r.stdout + r.stderr).split())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with one oscillator basis (basis/DATE/TIME), query files q/c0.3.h5 and
    q/c0.65.h5 at TRUTHS written by one pinn-data sweep, and far/k8.h5 at k = 8, beyond the
    basis's k <= 6. About 20 s."""
    root = tmp_path_factory.mktemp("basis_cli")
    r = run_basis(OSC + BASIS, root)
    assert r.returncode == 0, r.stderr
    (root / "q").mkdir()
    (root / "far").mkdir()
    r = run_data(["-m", "pde=oscillator", "pde.reference.truth.c=0.3,0.65",
                  "pde.reference.truth.k=5.0", "out=q/c${pde.reference.truth.c}.h5"], root,
                 env=ENV)
    assert r.returncode == 0, r.stderr
    r = run_data(["pde=oscillator", "pde.reference.truth.c=0.4", "pde.reference.truth.k=8.0",
                  "out=far/k8.h5"], root, env=ENV)
    assert r.returncode == 0, r.stderr
    [folder] = run_dirs(root / "basis")
    return root, folder


def test_pinn_basis_writes_its_run_folder(work):
    from pinn_cli.basis.network import Basis

    root, folder = work
    assert folder.relative_to(root).parts[0] == "basis"  # basis/DATE/TIME
    for name in ("basis.pt", "history.csv", "summary.json", ".hydra/config.yaml",
                 "pinn-basis.log"):
        assert (folder / name).is_file(), name
    basis = Basis.load(folder / "basis.pt")
    assert basis.problem_name == "oscillator" and basis.n_basis == 16
    assert {k: (r.lo, r.hi) for k, r in basis.ranges.items()} == {"c": (0.2, 0.8),
                                                                   "k": (2.0, 6.0)}
    s = summary(folder)
    assert s["status"] == "completed" and s["offline_seconds"] > 0
    assert s["conditions"]["x0"] == {"at": {"t": 0.0}, "equation": "x - 1"}
    # Section 2.4: held-out queries on the reference solution (measured 0.1 %)
    assert s["n_validation_queries"] == 3 and s["validation_error"] < 0.02
    assert s["margin"] == 0.0  # the default: the readouts are drawn over the range itself
    history = _rows(folder / "history.csv")
    assert [int(h["step"]) for h in history] == [500, 1000, 1500, 2000]
    assert min(float(h["validation_error"]) for h in history) == pytest.approx(
        s["validation_error"])
    # the command to answer queries, with the pde options it was trained with
    assert s["query_with"].startswith("pinn-query pde=oscillator ")
    assert "+pde.conditions=" in s["query_with"] and f"basis.path={folder}" in s["query_with"]


def test_online_queries_recover_each_truth_one_row_per_file(work):
    """Two files from a glob and one more from a comma-separated list; measured errors 0.01-0.9 %
    inside the range (tolerance 2 %), about 0.05 s per query after a 1 s setup."""
    root, folder = work
    r = run_query(OSC + [f"basis.path={folder}",
                       "data.file='q/*.h5,far/k8.h5'"], root)
    assert r.returncode == 0, r.stderr
    [run] = run_dirs(root / "queries")
    rows = _rows(run / "queries.csv")
    assert [row["file"] for row in rows] == ["q/c0.3.h5", "q/c0.65.h5", "far/k8.h5"]
    for row, (c, k) in zip(rows, TRUTHS):
        assert (float(row["c_truth"]), float(row["k_truth"])) == (c, k)
        assert float(row["c"]) == pytest.approx(c, rel=0.02)
        assert float(row["k"]) == pytest.approx(k, rel=0.02)
        assert row["method"] == "varpro" and row["warnings"] == "" and row["error"] == ""
        assert row["c_outside_range"] == row["k_outside_range"] == "False"
        assert 0 < float(row["seconds"]) < 10
    far = rows[2]  # beyond the range: flagged, the error reported
    assert far["k_outside_range"] == "True" or far["k_at_range_edge"] == "True"
    assert "k = " in far["warnings"] and far["k_rel_error"] != ""
    s = summary(run)
    q = s["queries"]
    assert (q["count"], q["failed"], q["flagged"]) == (3, 0, 1)
    assert q["max_rel_error"] == pytest.approx(max(float(x["max_rel_error"]) for x in rows))
    assert s["status"] == "completed" and s["command"] == "pinn-query"
    assert any(w.startswith("k8.h5: k = ") for w in s["warnings"])
    assert set(s["unknowns"]) == {"c", "k"}
    params = _rows(run / "params.csv")
    assert len(params) == 3 and float(params[0]["c"]) == pytest.approx(float(rows[0]["c"]))
    assert (run / ".hydra" / "config.yaml").is_file()


def test_every_sample_of_a_pdebench_file_is_a_query(work):
    """basis.samples=all: each seed group of a PDEBench-style grouped file is one query (one row
    of queries.csv with its sample number); START:STOP picks some; a one-sample layout says why
    it does not apply."""
    import h5py
    import numpy as np

    from pinn_cli.solvers import oscillator_underdamped

    root, folder = work
    t = np.linspace(0, 10, 201)
    with h5py.File(root / "groups.h5", "w") as f:
        for s, (c, k) in enumerate(TRUTHS):
            g = f.create_group(f"{s:04d}")
            g["x"], g["grid/t"] = oscillator_underdamped(t, c, k), t
            g.attrs["c"], g.attrs["k"] = c, k
    grouped = ["data=pdebench_grouped", "data.file=groups.h5", "~data.coords.x", "~data.fields.u",
               "+data.fields.x=x", "data.n_obs=null"]
    for samples, expected in (("all", [0, 1]), ("1:2", [1])):
        r = run_query(OSC + [f"basis.path={folder}", *grouped,
                           f"basis.samples={samples}", f"hydra.run.dir=samples_{samples[0]}"],
                    root)
        assert r.returncode == 0, r.stderr
        rows = _rows(root / f"samples_{samples[0]}" / "queries.csv")
        assert [(row["file"], int(row["sample"])) for row in rows] == \
            [("groups.h5", i) for i in expected]
        for row, i in zip(rows, expected):
            c, k = TRUTHS[i]
            assert (float(row["c_truth"]), float(row["k_truth"])) == (c, k)
            assert float(row["c"]) == pytest.approx(c, rel=0.02)
            assert float(row["k"]) == pytest.approx(k, rel=0.02)
    r = run_query(OSC + [f"basis.path={folder}", "basis.samples=all",
                       "hydra.run.dir=samples_grid"], root)
    assert r.returncode != 0
    assert "samples of a file apply to the pdebench layouts only" in _out(r)


def test_one_query_summary_reads_as_any_fit(work, tmp_path):
    """One file: summary.json's `unknowns` as pinn-fit writes it, plus the range flags; a pde
    option of the user's own (hydra.searchpath) holding the conditions, as the error message
    suggests."""
    root, folder = work
    (tmp_path / "pde").mkdir()
    (tmp_path / "pde" / "my_oscillator.yaml").write_text(
        "defaults: [oscillator, _self_]\nconditions:\n"
        "  x0: {at: {t: 0.0}, equation: x - 1}\n  v0: {at: {t: 0.0}, equation: x_t}\n")
    r = run_query([f"hydra.searchpath=[file://{tmp_path}]", "pde=my_oscillator",
                 "data=oscillator", "data.file=q/c0.65.h5",
                 f"basis.path={folder / 'basis.pt'}"], root)
    assert r.returncode == 0, r.stderr
    run = max(run_dirs(root / "queries"))
    s = summary(run)
    c, k = TRUTHS[1]
    for name, truth in (("c", c), ("k", k)):
        u = s["unknowns"][name]
        assert set(u) == {"estimate", "truth", "guess", "rel_error"}
        assert u["truth"] == truth and u["guess"] == 1.0 and u["rel_error"] < 0.02
        assert u["estimate"] == pytest.approx(truth, rel=0.02)
        assert s["range"][name]["outside_range"] is False
    assert set(s["final_losses"]) == {"data", "oscillator", "x0", "v0"}
    assert s["warnings"] == [] and s["basis"]["problem"] == "oscillator"
    [row] = _rows(run / "params.csv")
    assert float(row["k"]) == s["unknowns"]["k"]["estimate"]
    assert len(_rows(run / "queries.csv")) == 1


def test_a_bad_file_among_many_is_recorded_and_the_others_answered(work, tmp_path):
    root, folder = work
    (tmp_path / "junk.h5").write_text("not HDF5")
    r = run_query(OSC + [f"basis.path={folder}",
                       f"data.file='q/c0.3.h5,{tmp_path / 'junk.h5'}'",
                       f"hydra.run.dir={tmp_path / 'run'}"], root)
    out = _out(r)
    assert r.returncode == 2 and "Traceback" not in out
    assert "1 of 2 queries failed" in out and "cannot read" in out
    good, bad = _rows(tmp_path / "run" / "queries.csv")
    assert good["error"] == "" and float(good["c"]) == pytest.approx(0.3, rel=0.02)
    assert bad["c"] == "" and "cannot read" in bad["error"]
    s = summary(tmp_path / "run")
    assert s["status"] == "failed" and (s["queries"]["count"], s["queries"]["failed"]) == (1, 1)


@pytest.mark.parametrize("command,args,message", [
    ("pinn-query", OSC + [], "basis.path is not set: pass basis.path="),
    ("pinn-query", OSC + ["basis.path=nowhere"], "basis.path=nowhere does not "
     "exist"),
    ("pinn-query", ["pde=heat1d", "basis.path=BASIS"],
     "the basis was trained for problem oscillator"),
    ("pinn-query", ["pde=oscillator", "basis.path=BASIS"],
     "declares no conditions"),
    ("pinn-query", OSC + ["basis.path=BASIS", "collocation.resample_every=50"],
     "collocation.resample_every=50: pinn-query trains no network"),
    ("pinn-basis", ["pde=heat1d"], "basis.ranges is not set: give the offline range of each "
     "unknown ['k'] of heat1d, e.g. 'basis.ranges={k: {lo: 0.05, hi: 0.2}}'"),
    ("pinn-basis", ["pde=oscillator", BASIS[0]], "pinn-basis pde=oscillator \""
     + CONDITIONS + "\""),
    ("pinn-basis", OSC + ["basis.ranges={c: {lo: 0.2, hi: 0.8}}"], "give one for each unknown"),
    ("pinn-basis", OSC + BASIS + ["basis.margin=-0.1"], "margin=-0.1: give a fraction >= 0"),
])
def test_bad_settings_give_one_message(work, command, args, message):
    root, folder = work
    args = [a.replace("BASIS", str(folder)) for a in args]
    r = run_basis(args, root) if command == "pinn-basis" else run_query(args, root)
    out = _out(r)
    assert r.returncode == 2 and message in out and "Traceback" not in out, out


def test_basis_options_compose_and_reject_typos():
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        cfg = compose("pinn_query", overrides=["pde=burgers1d", "basis.path=x"])
        assert cfg.basis.path == "x" and cfg.basis.method == "auto"
        assert cfg.pde.name == "burgers1d" and cfg.data.file == "data/burgers1d.h5"
        with pytest.raises(ConfigCompositionException, match="pth"):
            compose("pinn_query", overrides=["basis.pth=x"])
        with pytest.raises(ConfigCompositionException, match="basis"):
            compose("config", overrides=["schedule=basis"])
        cfg = compose("pinn_basis", overrides=["basis.ranges={k: {lo: 0.05, hi: 0.2}}"])
        assert cfg.basis.ranges == {"k": {"lo": 0.05, "hi": 0.2}} and cfg.pde.name == "heat1d"
        assert cfg.basis.margin == 0.0
        with pytest.raises(ConfigCompositionException, match="n_basi"):
            compose("pinn_basis", overrides=["basis.n_basi=3"])
