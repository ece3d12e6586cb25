"""`pinn-inspect SWEEP --report`: SWEEP/report.html with the table, the errors against the
swept settings, links to the jobs' reports and the jobs that did not complete."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import QUICK, run_cli, run_dirs

HOSTILE = "<script>alert(1)</script>"


def _inspect(args, cwd):
    return subprocess.run([str(Path(sys.executable).parent / "pinn-inspect"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _job(folder: Path, overrides: dict, status="completed", k=None, error=None):
    """A sweep job's folder as pinn-fit writes it, with chosen overrides and result."""
    (folder / ".hydra").mkdir(parents=True)
    config = {"seed": 0, "data": {"noise": 0.0}}
    for key, value in overrides.items():
        node = config
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump([f"{k}={v}" for k, v in overrides.items()]))
    (folder / "summary.json").write_text(json.dumps({
        "status": status, "wall_seconds": 1.0, "error": error,
        "unknowns": {"k": {"estimate": k, "truth": 0.1,
                           "rel_error": None if k is None else abs(k - 0.1) / 0.1}}}))


def test_a_sweep_report_holds_the_table_a_plot_and_links_to_the_jobs(tmp_path):
    r = run_cli(["-m", *QUICK[:-1], "plots=true", "diagnostics=off", "data.noise=0,0.01",
                 "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(run_dirs(tmp_path / "sweep")) == 2
    r = _inspect(["sweep", "--pivot", "data.noise", "--report"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "wrote sweep/report.html"
    page = (tmp_path / "sweep" / "report.html").read_text()
    table = page.split("<pre>", 1)[1].split("</pre>", 1)[0]
    assert "data.noise" in table and "k rel. error" in table and "0.01" in table
    assert "(1)" in table  # seeds per cell, as printed
    assert page.count('<img alt="relative error against data.noise"') == 1
    for job in ("0", "1"):
        assert f'<a href="{job}/report.html">{job}</a>' in page
        assert (tmp_path / "sweep" / job / "report.html").is_file()
    assert "None: every job completed." in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_failed_jobs_are_listed_with_their_reason_and_text_is_escaped(tmp_path):
    sweep = tmp_path / "sweep"
    for i, (noise, seed) in enumerate([(n, s) for n in (0.001, 0.01, 0.1) for s in (0, 1)]):
        _job(sweep / str(i), {"data.noise": noise, "seed": seed}, k=0.1 + noise * (1 + seed))
    _job(sweep / "6", {"data.noise": HOSTILE, "seed": 0}, status="diverged",
         error=f"the loss is not finite {HOSTILE}")
    (sweep / "multirun.yaml").write_text("{}")
    r = _inspect(["sweep", "--report"], tmp_path)
    assert r.returncode == 0, r.stderr
    page = (sweep / "report.html").read_text()
    assert "<script" not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    failed = page.split("<h2>Jobs that did not complete</h2>", 1)[1]
    assert "<td>6</td><td>diverged</td><td>the loss is not finite &lt;script&gt;" in failed
    assert page.count("<img") == 1  # one plot: data.noise; seeds collapse into a band
    assert "0 (no report.html)" in page  # jobs without a report are named, not linked
    assert "Swept: data.noise, seed." in page


def test_seeds_alone_are_plotted_against_the_seed(tmp_path):
    from pinn_cli.io.runs import find_runs
    from pinn_cli.io.sweep_report import swept, write_sweep_report

    for i in range(3):
        _job(tmp_path / "sweep" / str(i), {"seed": i}, k=0.1 * (1 + 10 ** -i))
    runs = find_runs(tmp_path / "sweep")
    assert {k: sorted(v.values()) for k, v in swept(runs).items()} == {"seed": [0, 1, 2]}
    page = write_sweep_report(tmp_path / "sweep", runs, "TABLE").read_text()
    assert '<img alt="relative error against seed"' in page and "<pre>TABLE</pre>" in page


@pytest.mark.parametrize("make, words", [
    (lambda root: _job(root / "run", {"seed": 0}, k=0.1), "is a run folder"),
    (lambda root: [_job(root / d / "0", {"seed": 0}, k=0.1) for d in ("a", "b")],
     "holds runs deeper down"),
    (lambda root: (root / "run").mkdir(), "no run folders"),
])
def test_report_refuses_what_is_not_a_sweep_folder(tmp_path, make, words):
    make(tmp_path)
    target = "run" if (tmp_path / "run").exists() else "."
    r = _inspect([target, "--report"], tmp_path)
    assert r.returncode == 1
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("report.html"))
