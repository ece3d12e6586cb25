"""`pinn-inspect`, the sweep summary and the launchers: tables against the run folders."""
import csv
import json
import statistics
from pathlib import Path

import pytest
import yaml

from pinn_cli.io.runs import find_runs, pivot, table

from conftest import run_cli, run_inspect, summary

TINY = ["schedule.pretrain_steps=30", "schedule.identify_steps=60", "schedule.lbfgs_steps=20",
        "arch.depth=2", "arch.width=10", "collocation.n_points=200", "plots=false"]


def _fake_run(folder: Path, config: dict, status="completed", k=None):
    """A run folder as pinn-fit writes it, with chosen settings and result."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    if status is None:
        return
    (folder / "summary.json").write_text(json.dumps({
        "status": status, "wall_seconds": 1.0,
        "unknowns": {"k": {"estimate": k, "truth": 0.1,
                           "rel_error": None if k is None else abs(k - 0.1) / 0.1}},
        "final_losses": {"data": 1e-4}}))


@pytest.fixture
def grid_of_runs(tmp_path):
    """n_obs 100/200 x noise 0/0.01 x seeds 0,1,2, plus a failed and an unfinished run."""
    estimates = {}
    i = 0
    for n_obs in (100, 200):
        for noise in (0.0, 0.01):
            for seed in range(3):
                k = 0.1 * (1 + 0.01 * n_obs / 100 + noise + 0.001 * seed)
                estimates.setdefault((n_obs, noise), []).append(k)
                _fake_run(tmp_path / "sweep" / str(i), {"seed": seed, "data": {
                    "n_obs": n_obs, "noise": noise, "seed": seed}}, k=k)
                i += 1
    _fake_run(tmp_path / "sweep" / str(i), {"seed": 0, "data": {"n_obs": 100, "noise": 0.5,
                                                                "seed": 0}}, "diverged")
    _fake_run(tmp_path / "sweep" / str(i + 1), {"seed": 1, "data": {"n_obs": 200, "noise": 0.5,
                                                                    "seed": 1}}, None)
    return tmp_path / "sweep", estimates


def test_seeds_collapse_into_mean_and_std_and_failures_stay(grid_of_runs):
    folder, estimates = grid_of_runs
    rows = table(find_runs(folder))
    done = [r for r in rows if r["status"] == "completed"]
    assert len(done) == 4 and all(r["seeds"] == 3 for r in done)
    for r in done:
        ks = estimates[(r["data.n_obs"], r["data.noise"])]
        assert r["k"] == pytest.approx(statistics.fmean(ks))
        assert r["k_std"] == pytest.approx(statistics.stdev(ks))
        assert "seed" not in r and "data.seed" not in r
    assert sorted(r["status"] for r in rows if r["status"] != "completed") == \
        ["diverged", "no summary"]


def test_pivot_is_the_error_table(grid_of_runs):
    folder, estimates = grid_of_runs
    p = pivot(table(find_runs(folder)), "data.n_obs", "data.noise", "k")
    assert sorted(p) == [100, 200] and sorted(p[100]) == [0.0, 0.01]  # noise 0.5 never completed
    errors = [abs(k - 0.1) / 0.1 for k in estimates[(200, 0.01)]]
    mean, std, n = p[200][0.01]
    assert mean == pytest.approx(statistics.fmean(errors)) and n == 3
    assert std == pytest.approx(statistics.stdev(errors))
    r = run_inspect([str(folder), "--pivot", "data.n_obs,data.noise"], folder)
    assert r.returncode == 0, r.stderr
    assert "k: relative error, mean ± std over seeds" in r.stdout
    assert f"{100 * mean:.3g} ± {100 * std:.3g} % (3)" in r.stdout


def test_pivot_on_one_key_is_the_error_against_it(grid_of_runs):
    folder, estimates = grid_of_runs
    r = run_inspect([str(folder), "--filter", "data.n_obs=200", "--pivot", "data.noise"], folder)
    assert r.returncode == 0, r.stderr
    assert "relative error, mean ± std over" in r.stdout and "k rel. error" in r.stdout
    for noise in (0.0, 0.01):
        errors = [abs(k - 0.1) / 0.1 for k in estimates[(200, noise)]]
        mean, std = statistics.fmean(errors), statistics.stdev(errors)
        line = next(x for x in r.stdout.splitlines() if f" {noise} " in x)
        assert f"{100 * mean:.3g} ± {100 * std:.3g} % (3)" in line, r.stdout
    assert " 0.5 " not in r.stdout  # noise 0.5 never completed


def test_mixed_runs_keep_the_unknowns_on_a_120_column_screen(tmp_path):
    import io

    from rich.console import Console

    from pinn_cli.cli.inspection import render

    for j in range(3):
        _fake_run(tmp_path / "runs" / str(j), {"seed": 0, **{
            f"g{g}": {"s": j * g + 0.5} for g in range(40)}}, k=0.1 + 0.001 * j)
    out = io.StringIO()
    render(table(find_runs(tmp_path / "runs")), Console(file=out, width=120))
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 120
    header = " ".join(lines[:3])
    assert all(t in header for t in ("k (mean ± std)", "k rel. error", "settings"))
    text = out.getvalue()
    assert "g39.s=39.5" in text and "g39.s=78.5" in text
    assert "g0.s" not in text  # the same in every run: no column, no line
    assert " 1 % " in text and " 2 % " in text  # k's errors of runs 1 and 2 are on screen


def test_cli_table_sort_filter_and_export(grid_of_runs, tmp_path):
    folder, _ = grid_of_runs
    r = run_inspect([str(folder), "--sort", "k_rel_error", "--filter", "status=completed",
                  "--csv", "out.csv", "--json", "out.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "14 runs" in r.stdout and "4 rows" in r.stdout
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    errors = [float(x["k_rel_error"]) for x in rows]
    assert errors == sorted(errors) and len(rows) == 4
    assert json.loads((tmp_path / "out.json").read_text())[0]["k_rel_error"] == errors[0]
    r = run_inspect([str(folder)], tmp_path)
    assert "diverged" in r.stdout and "no summary" in r.stdout  # shown, never dropped
    r = run_inspect([str(folder), "--filter", "data.n_obs=100"], tmp_path)
    assert "data.noise" in r.stdout and "data.n_obs" not in r.stdout  # constant once filtered


@pytest.mark.parametrize("args,message", [
    (["nowhere"], "nowhere does not exist"),
    (["FOLDER", "--sort", "bogus"], "--sort 'bogus' is not a column"),
    (["FOLDER", "--pivot", "data.n_obs"], "--pivot data.n_obs: data.noise vary too"),
    (["FOLDER", "--pivot", "data.n_obs,data.noise,seed"], "--pivot takes one column, KEY"),
    (["FOLDER", "--pivot", "data.n_obs,arch.width"], "do not vary between these runs"),
])
def test_cli_errors_name_the_fix(grid_of_runs, tmp_path, args, message):
    folder, _ = grid_of_runs
    r = run_inspect([a.replace("FOLDER", str(folder)) for a in args], tmp_path)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_joblib_sweep_writes_summary_matching_its_runs_and_plots(tmp_path):
    r = run_cli(["-m", "hydra/launcher=joblib", *TINY, "data.n_obs=100,200", "seed=0,1",
                 "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    sweep = tmp_path / "sweep"
    rows = list(csv.DictReader(open(sweep / "summary.csv")))
    assert len(rows) == 2 and {x["data.n_obs"] for x in rows} == {"100", "200"}
    for row in rows:
        runs = row["folder"].split()
        assert len(runs) == int(row["seeds"]) == 2
        runs = [tmp_path / f for f in runs]  # as the sweep named them, relative to its cwd
        ks = [summary(f)["unknowns"]["k"]["estimate"] for f in runs]
        assert float(row["k"]) == pytest.approx(statistics.fmean(ks))
        assert all(yaml.safe_load(open(f / ".hydra" / "config.yaml"))["data"]["n_obs"]
                   == int(row["data.n_obs"]) for f in runs)
    r = run_inspect([str(sweep), "--plot"], tmp_path)
    assert r.returncode == 0, r.stderr
    pngs = [sweep / f"runs_{n}.png" for n in ("params", "losses", "lambdas")]
    pngs += [sweep / str(i) / "grad_hist.png" for i in range(4)]
    import matplotlib.image

    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(png).shape[0] > 100


def test_submitit_local_launcher_runs_jobs(tmp_path):
    r = run_cli(["-m", "hydra/launcher=submitit_local", *TINY, "seed=0,1",
                 "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert [summary(tmp_path / "sweep" / str(i))["status"] for i in range(2)] == \
        ["completed"] * 2


def test_optuna_sweeper_minimises_the_parameter_error(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    r = run_cli(["-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=3",
                 "hydra.sweeper.direction=minimize", "weighting=annealing",
                 "weighting.alpha=interval(0.1,1.0)", *TINY, "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    best = yaml.safe_load(open(tmp_path / "sweep" / "optimization_results.yaml"))["best_value"]
    errors = [summary(tmp_path / "sweep" / str(i))["unknowns"]["k"]["rel_error"]
              for i in range(3)]
    assert best == pytest.approx(min(errors))


def test_identifiability_verdicts_are_counted_per_row(tmp_path):
    for i, word in enumerate([
            "identifiable: the data identify k (± 0.1 %); PINN agrees with the classical fit "
            "(0.4 bounds)",
            "WEAKLY identifiable: the data barely constrain it",
            "identifiable: the data identify k (± 0.1 %); PINN is 6.2 bounds (0.5 %) from the "
            "classical fit: do not trust it yet",
            "the reference model does not fit these data (misfit 12× the noise)"]):
        _fake_run(tmp_path / "s" / str(i), {"seed": i}, k=0.1)
        s = json.loads((tmp_path / "s" / str(i) / "summary.json").read_text())
        s["identifiability"] = {"verdicts": {"k": f"k = 0.1 (PINN), classical 0.1 ± 1e-4, {word}"}}
        (tmp_path / "s" / str(i) / "summary.json").write_text(json.dumps(s))
    (row,) = table(find_runs(tmp_path / "s"))
    assert row["k_identifiable"] == "2/4" and row["seeds"] == 4


def test_settings_that_tell_rows_apart_are_never_cut_short(tmp_path):
    """A table wider than the console (a weighting sweep on a two-unknown problem) used to show
    `pinn_cli.w…` in every row."""
    import io

    from rich.console import Console

    from pinn_cli.cli.inspection import render

    for i, (target, k) in enumerate([("pinn_cli.training.weighting.Annealing", 0.101),
                                     ("pinn_cli.training.weighting.GradNorm", 0.102)]):
        _fake_run(tmp_path / "sweep" / str(i), {"seed": 0, "weighting": {"_target_": target}},
                  k=k)
    out = io.StringIO()
    render(table(find_runs(tmp_path / "sweep")), Console(file=out, width=60))
    text = out.getvalue()
    assert "Annealing" in text and "GradNorm" in text, text
    assert "pinn_cli.w" not in text


def test_a_sweep_with_a_failed_run_finishes_the_others_writes_summary_and_exits_1(tmp_path):
    r = run_cli(["-m", *TINY, "data.n_obs=100,0", "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # data.n_obs=0 is refused before training: the job's summary.json says why
    assert "1 run(s) of the sweep did not complete (failed 1)" in r.stderr
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "summary.csv")))
    assert sorted(row["status"] for row in rows) == ["completed", "failed"]
    failed = next(row for row in rows if row["status"] == "failed")
    assert "data.n_obs" in failed["reason"] and failed["data.n_obs"] == "0"


def test_an_unexpected_error_in_one_job_still_ends_in_a_summary(tmp_path):
    # a weighting class that returns a plain dict: an error no check foresees
    r = run_cli(["-m", *TINY, "weighting._target_=builtins.dict,"
                 "pinn_cli.training.weighting.Fixed", "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "pinn-fit stopped on an unexpected error (AttributeError" in " ".join(r.stdout.split())
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "summary.csv")))
    assert sorted(row["status"] for row in rows) == ["completed", "failed"]
    single = run_cli([*TINY, "weighting._target_=builtins.dict"], tmp_path)
    out = " ".join((single.stdout + single.stderr).split())
    assert single.returncode == 1 and "Traceback" not in out and "HYDRA_FULL_ERROR=1" in out
    (folder,) = [p.parent for p in (tmp_path / "outputs").rglob(".hydra")]
    assert summary(folder)["status"] == "failed" and "AttributeError" in summary(folder)["error"]


def test_reading_a_folder_never_resolves_its_resolvers(tmp_path, monkeypatch):
    """`${oc.env:...}` in someone else's config stays text; plain references still resolve."""
    monkeypatch.setenv("PINN_TEST_SECRET", "s3cr3t-value")
    hydra = tmp_path / "run" / ".hydra"
    hydra.mkdir(parents=True)
    (hydra / "config.yaml").write_text(
        "seed: 3\nnote: ${oc.env:PINN_TEST_SECRET}\nlabel: x${oc.env:PINN_TEST_SECRET}y\n"
        "copy: ${seed}\n")
    (run,) = find_runs(tmp_path)
    assert run.config["note"] == "${oc.env:PINN_TEST_SECRET}"
    assert run.config["label"] == "x${oc.env:PINN_TEST_SECRET}y"
    assert run.config["copy"] == 3
    assert "s3cr3t-value" not in json.dumps(run.config)


def test_runs_with_warnings_are_counted_per_row_and_their_warnings_shown(tmp_path):
    for i, warnings in enumerate([[], ["k moved 1.5 % over the last 200 steps"], None]):
        _fake_run(tmp_path / "s" / str(i), {"seed": i}, k=0.1)
        s = json.loads((tmp_path / "s" / str(i) / "summary.json").read_text())
        if warnings is not None:  # None: a run without diagnostics
            s["identifiability"] = {"verdicts": {}, "warnings": warnings}
        (tmp_path / "s" / str(i) / "summary.json").write_text(json.dumps(s))
    (row,) = table(find_runs(tmp_path / "s"))
    assert row["warned"] == "1/2" and row["seeds"] == 3
    r = run_inspect([str(tmp_path / "s")], tmp_path)
    assert r.returncode == 0 and "warned" in r.stdout and "1/2" in r.stdout, r.stdout
    # each warning in full under the table, with its run's folder
    assert f"{tmp_path / 's' / '1'}: warning: k moved 1.5 % over the last 200 steps" in \
        r.stdout.replace("\n", " ")
    assert r.stdout.count("warning:") == 1
