"""Every shell command in README.md and docs/ (the ```sh blocks) works as written, from a folder
holding the repository's docs/examples, the way a reader runs it after the set-up.

A data-parallel fit (`torchrun ... -m pinn_cli ARGS`) is checked as `pinn-fit ARGS`.
Commands that finish in seconds run exactly as written: pinn-data, pinn-inspect, --help,
--version, --cfg, resume, the example script, mkdir and ls. Commands that train (pinn-fit,
pinn-basis, pinn-query) have their config composed as written, in this process (what `--cfg job`
prints), every override checked by Hydra and the schemas, and their problem built (equations
parsed); a sweep (-m) is checked on the first value of each swept key. The placeholders outputs/DATE/TIME, multirun/DATE/TIME and basis/DATE/TIME stand for
folders that a short run made first. The README's two set-up commands are left to .ci/run, which
runs them."""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser

from pinn_cli.cli import own_conf
from pinn_cli.schema import register
from pinn_cli.targets import call

from conftest import QUICK, REPO, run_cli

register()
own_conf.register()  # ./conf of the folder a command runs in, as the commands find it

PAGES = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
CONFIGS = {"pinn-fit": "config", "pinn-data": "generate", "pinn-basis": "pinn_basis",
           "pinn-query": "pinn_query"}
TRAINS = ("pinn-fit", "pinn-basis", "pinn-query")
RUN_AS_WRITTEN = ("--help", "--version", "--cfg", "resume=")
BIN = Path(sys.executable).parent


def _commands():
    """(page, command) of each distinct command, in the order of the pages."""
    out = {}
    for page in PAGES:
        text = (REPO / page).read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.strip().splitlines():
                if "venv" not in line:  # the set-up commands: .ci/run runs them
                    out.setdefault(line, page)
    return [pytest.param(page, line, id=f"{page}:{line[:60]}") for line, page in out.items()]


def _overrides(args, root):
    """The command's overrides as one run's: `-m` dropped, each swept key set to its first
    value, `--config-dir DIR` as hydra.searchpath."""
    parser, out, args = OverridesParser.create(), [], list(args)
    while args:
        a = args.pop(0)
        if a in ("-m", "--multirun"):
            continue
        if a == "--config-dir":
            out.append(f"hydra.searchpath=[file://{root / args.pop(0)}]")
            continue
        if "=" in a and not a.startswith("-"):
            o = parser.parse_override(a)
            if o.is_sweep_override():
                a = f"{o.get_key_element()}={next(o.sweep_string_iterator())}"
        out.append(a)
    return out


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """docs/examples, and a short run, sweep and basis for the placeholders: (folder,
    {placeholder: path})."""
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO / "docs" / "examples", root / "docs" / "examples")
    quick = QUICK + ["diagnostics=off", "schedule.pretrain_steps=10",
                     "schedule.identify_steps=20", "schedule.lbfgs_steps=10"]
    assert run_cli(quick + ["hydra.run.dir=outputs/run"], root).returncode == 0
    r = run_cli(["-m", *quick, "data.n_obs=200,300", "data.noise=0,0.01",
                 "hydra.sweep.dir=multirun/sweep"], root)
    assert r.returncode == 0, r.stderr
    r = run_cli(["pde=heat1d", "basis.ranges={k: {lo: 0.05, hi: 0.2}}", "basis.steps=20",
                 "basis.validation.n_queries=0", "hydra.run.dir=basis/trained",
                 "+pde.conditions={initial: {at: {t: 0.0}, equation: 'u - sin(pi*x)'}}"],
                root, command="pinn-basis")
    assert r.returncode == 0, r.stderr
    return root, {"outputs/DATE/TIME": "outputs/run", "multirun/DATE/TIME": "multirun/sweep",
                  "basis/DATE/TIME": "basis/trained"}


def test_the_pages_have_commands():
    assert len(_commands()) >= 40


@pytest.mark.parametrize("page,line", _commands())
def test_command_works_as_written(workspace, page, line, monkeypatch):
    root, places = workspace
    monkeypatch.chdir(root)
    for placeholder, folder in places.items():
        line = line.replace(placeholder, folder)
    args = shlex.split(line)
    program, args = args[0], args[1:]
    if program == "torchrun":  # a data-parallel fit: what follows -m pinn_cli, as pinn-fit's
        program, args = "pinn-fit", args[args.index("pinn_cli") + 1:]
    if program in TRAINS and not any(a.startswith(RUN_AS_WRITTEN) for a in args):
        with initialize_config_module("pinn_cli.conf", version_base="1.3"):
            cfg = compose(CONFIGS[program], overrides=_overrides(args, root))
        assert call(cfg.pde).name == cfg.pde.name
        return
    if program.startswith("pinn-"):
        cmd = [str(BIN / program), *args]
    elif program == "python":
        cmd = [sys.executable, *args]
    else:
        cmd = [program, *args]
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"{page}: {line}\n{out[-3000:]}"
    assert "Traceback" not in out and "Error" not in out, f"{page}: {line}\n{out[-3000:]}"
