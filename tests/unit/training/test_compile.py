"""compile=true: the loss terms and their gradients through torch.compile (losses._compile)."""

import pytest

from conftest import run_cli
from support import compiled_follows_eager

@pytest.mark.slow  # compiling takes about a minute of CPU
def test_a_compiled_run_follows_the_eager_one(tmp_path):
    compiled_follows_eager(tmp_path)


@pytest.mark.parametrize("extra, message", [
    (["derivatives=autograd"], "compile=true needs the Taylor derivative engine, which heat1d "
                               "cannot use with derivatives=autograd; set compile=false or "
                               "derivatives=auto"),
    (["pde.residuals.heat=u_t - k*u_xxx"], "which heat1d cannot use (a derivative of order "
                                            "> 2, or a network without Taylor propagation); "
                                            "set compile=false"),
])
def test_compile_where_it_cannot_apply_is_refused(tmp_path, extra, message):
    r = run_cli(["compile=true", *extra], tmp_path)
    assert r.returncode != 0
    assert message in " ".join(r.stdout.split()) + " ".join(r.stderr.split())
    assert "Traceback" not in r.stdout + r.stderr
    assert not list(tmp_path.rglob("params.csv"))
