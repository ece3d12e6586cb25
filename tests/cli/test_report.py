"""report.html: the page a run with plots=true leaves in its folder."""
import json
import re

import numpy as np
import pytest

import pinn_cli as pf
from pinn_cli.errors import PinnFitError
from pinn_cli.io.report import write_report
from conftest import QUICK, run_cli

SECTIONS = ("Problem", "Data", "Unknowns", "Losses", "Loss weights", "Identifiability", "Files")
HOSTILE = "<script>alert(1)</script>"


def _no_remote_resources(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page


def test_a_run_with_plots_writes_a_self_contained_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = "run"
    result = pf.fit("heat1d", [*QUICK, "plots=true"], folder=folder)
    page = (tmp_path / folder / "report.html").read_text()
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page
    assert f"{result.estimates['k']:.6g}" in page
    assert result.verdicts["k"] and " ".join(result.verdicts["k"].split()[:3]) in page
    assert page.count('src="data:image/png;base64,') >= 3  # points, trajectory, losses
    assert "The weights stayed fixed over the run." in page  # fixed weights: no flat plot
    assert "u = 0 at x = 0.0" in page and "<h3>Warnings</h3>" in page
    _no_remote_resources(page)
    assert "<script" not in page
    assert "u_t - k*u_xx = 0" in page
    last = (tmp_path / folder / "pinn-fit.log").read_text().strip().splitlines()[-1]
    assert f"open {tmp_path / folder / 'report.html'}" in last
    # a completed run without its report (a kill while it was written): a resume writes it
    (tmp_path / folder / "report.html").unlink()
    again = pf.fit(resume=folder)
    assert again.estimates == result.estimates
    assert f"{result.estimates['k']:.6g}" in (tmp_path / folder / "report.html").read_text()


def test_a_run_without_plots_writes_no_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pf.fit("heat1d", [*QUICK[:-1], "schedule.lbfgs_steps=0", "diagnostics=off", "plots=false"],
           folder="run")
    assert (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "run" / "report.html").exists()


def test_text_read_from_the_folder_is_escaped(tmp_path):
    run = tmp_path / HOSTILE.replace("/", "_")
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(json.dumps({
        "pde": {"name": HOSTILE, "inputs": {"x": [0, 1], "t": [0, 1]}, "outputs": ["u"],
                "unknowns": {"k": {"guess": 0.5}}, "residuals": {"heat": f"u_t - {HOSTILE}"},
                "conditions": {"left": {"at": {"x": 0}, "equation": HOSTILE}}},
        "data": {"file": f"{HOSTILE}.h5"}}))
    (run / "summary.json").write_text(json.dumps({
        "status": "completed", "unknowns": {"k": {"estimate": 0.1, "truth": 0.1, "guess": 0.5,
                                                  "rel_error": 0.0}},
        "lambdas": {HOSTILE: 1.0},
        "identifiability": {"verdicts": {"k": HOSTILE}, "warnings": [HOSTILE],
                            "intervals": {"k": {"interval95": [0.09, 0.11]}}}}))
    (run / "params.csv").write_text("step,phase,elapsed_s,k\n0,identify,0.1,0.5\n10,identify,0.2,0.1\n")
    (run / f"{HOSTILE[:8]}.txt").write_text("")
    page = write_report(run, np.random.default_rng(0).uniform(size=(20, 2)), ["x", "t"]).read_text()
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page
    _no_remote_resources(page)


def test_a_run_that_stops_writes_its_report_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PinnFitError):
        pf.fit("heat1d", ["schedule.pretrain_steps=20", "schedule.identify_steps=60",
                          "schedule.lbfgs_steps=0", "log_every=10", "schedule.unknowns_lr=30",
                          "plots=true"], folder="run")
    page = (tmp_path / "run" / "report.html").read_text()
    assert "diverged" in page and "<h2>Losses</h2>" in page
    assert "No identifiability diagnostics" in page


def test_the_console_names_the_report_whole_in_a_pipe(tmp_path):
    folder = tmp_path / ("a-folder-name-long-enough-that-a-wrapped-line-would-cut-it" * 2) / "run"
    r = run_cli([*QUICK[:-1], "plots=true", "diagnostics=off", f"hydra.run.dir={folder}"],
                tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("INFO     completed in ")
    assert last.endswith(f": open {folder / 'report.html'}")
    assert (folder / "report.html").is_file()
