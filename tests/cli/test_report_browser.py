"""report.html in a real browser: headless Chromium opens a run's and a sweep's page, which
must load with no console message, show every section, decode every picture and fit a
1000-pixel-wide window. Skipped where no Chromium is installed."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import QUICK, run_cli, run_dirs

RUN_SECTIONS = ["Problem", "Data", "Unknowns", "Losses", "Loss weights", "Identifiability",
                "Files"]
SWEEP_SECTIONS = ["Table", "Errors against the swept settings", "Jobs",
                  "Jobs that did not complete"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# The page under test in a frame; once it has loaded, what the browser made of it is written
# into #result, which --dump-dom prints. --allow-file-access-from-files lets the frame be read.
PROBE = """<!DOCTYPE html><html><body>
<iframe id="page" src="{src}" style="width:1000px;height:800px"></iframe><pre id="result"></pre>
<script>
document.getElementById("page").onload = function () {{
  var d = this.contentDocument, images = Array.from(d.images), root = d.documentElement;
  var texts = function (tag) {{
    return Array.from(d.querySelectorAll(tag)).map(function (h) {{ return h.textContent; }});
  }};
  document.getElementById("result").textContent = JSON.stringify({{
    title: d.title, h2: texts("h2"), h3: texts("h3"), links: texts("a"),
    images: images.length,
    broken: images.filter(function (i) {{ return !i.complete || !i.naturalWidth; }}).length,
    overflow: root.scrollWidth - root.clientWidth}});
}};
</script></body></html>"""


def _browser():
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip("no Chromium or Chrome binary on PATH (install e.g. apt-get install "
                    "chromium) to open report.html in a browser")
    return found


def open_page(page: Path, tmp_path: Path):
    """What headless Chromium shows of `page`: (the probe's findings, the console messages)."""
    probe = tmp_path / f"probe-{page.parent.name}.html"
    probe.write_text(PROBE.format(src=page.resolve().as_uri()))
    r = subprocess.run(
        [_browser(), "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
         "--v=0", "--allow-file-access-from-files", "--virtual-time-budget=10000",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', r.stdout, re.S)
    assert found and found.group(1), f"the page did not load:\n{r.stdout[-2000:]}\n{r.stderr}"
    import html

    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line or
               "Uncaught" in line]
    return json.loads(html.unescape(found.group(1))), console


def test_a_run_report_loads_cleanly_in_a_browser(tmp_path):
    _browser()
    r = run_cli([*QUICK[:-1], "plots=true", "hydra.run.dir=run"], tmp_path)
    assert r.returncode == 0, r.stderr
    seen, console = open_page(tmp_path / "run" / "report.html", tmp_path)
    assert console == []
    assert seen["title"] == "pinn-fit run run: completed"
    assert seen["h2"] == RUN_SECTIONS and seen["h3"] == ["Warnings"]
    assert seen["images"] >= 3 and seen["broken"] == 0
    assert seen["overflow"] <= 0


def test_a_sweep_report_loads_cleanly_in_a_browser(tmp_path):
    _browser()
    r = run_cli(["-m", *QUICK[:-1], "plots=true", "diagnostics=off", "seed=0,1",
                 "hydra.sweep.dir=sweep"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(run_dirs(tmp_path / "sweep")) == 2
    r = subprocess.run([str(Path(sys.executable).parent / "pinn-inspect"), "sweep", "--report"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    seen, console = open_page(tmp_path / "sweep" / "report.html", tmp_path)
    assert console == []
    assert seen["h2"] == SWEEP_SECTIONS
    assert seen["links"] == ["0", "1"]
    assert seen["images"] >= 1 and seen["broken"] == 0
    assert seen["overflow"] <= 0
