"""Every config option composes, and typos are rejected by the schemas."""
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from pinn_cli.schema import register

from conftest import REPO, run_cli

register()
GROUPS = {g: sorted(p.stem for p in (REPO / "conf" / g).glob("*.yaml"))
          for g in ("pde", "data", "arch", "weighting", "schedule", "diagnostics",
                    "logger")}


def _compose(overrides):
    with initialize_config_module("pinn_cli.conf", version_base="1.3"):
        return compose("config", overrides=overrides)


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes(group, option):
    cfg = _compose([f"{group}={option}"])
    assert cfg[group]["_target_"].startswith("pinn_cli.")


@pytest.mark.parametrize("pde", GROUPS["pde"])
def test_each_pde_selects_its_data(pde):
    assert _compose([f"pde={pde}"]).data.file == f"data/{pde}.h5"


def test_a_pde_option_picks_its_default_schedule_and_the_user_still_wins():
    from hydra.utils import instantiate
    assert _compose([]).schedule._target_ == "pinn_cli.training.schedule.PretrainIdentify"
    burgers = instantiate(_compose(["pde=burgers1d"]).schedule)
    assert [(p.name, p.optimizer, p.steps, p.precision, p.density) for p in burgers.phases] == \
        [("lbfgs", "lbfgs", 4000, None, 1.0), ("lbfgs_float64", "lbfgs", 1000, "float64", 3.0)]
    for option, target in [("pretrain_identify", "PretrainIdentify"),
                           ("continuation", "Continuation"), ("marching", "Marching")]:
        chosen = _compose(["pde=burgers1d", f"schedule={option}"]).schedule
        assert chosen._target_ == f"pinn_cli.training.schedule.{target}"


def test_a_schedule_that_never_trains_the_unknowns_is_rejected():
    from pinn_cli.errors import PinnFitError
    from pinn_cli.training.schedule import Lbfgs, PretrainIdentify
    with pytest.raises(PinnFitError, match="no phase trains the unknowns"):
        Lbfgs(steps=0)
    with pytest.raises(PinnFitError, match="no phase trains the unknowns"):
        PretrainIdentify(500, 0, 0, 1e-3, 1e-2, 1.0)


def test_a_negative_float64_finish_names_its_key():
    from pinn_cli.errors import PinnFitError
    from pinn_cli.training.schedule import Lbfgs
    with pytest.raises(PinnFitError, match=r"schedule.finish_steps=-1: give the float64 L-BFGS "
                                           r"steps after the float32 ones, >= 0 \(0: none\)"):
        Lbfgs(steps=100, finish_steps=-1)
    with pytest.raises(PinnFitError, match=r"schedule.finish_density=0.5: give the multiple of "
                                           r"collocation.n_points"):
        Lbfgs(steps=100, finish_steps=10, finish_density=0.5)


def test_typo_in_key_is_rejected():
    with pytest.raises(ConfigCompositionException, match="alpah"):
        _compose(["weighting=annealing", "weighting.alpah=0.5"])


def test_wrong_type_is_rejected():
    with pytest.raises((ConfigCompositionException, ValidationError), match="abc"):
        _compose(["weighting=annealing", "weighting.alpha=abc"])


def test_bad_engine_is_rejected_before_running():
    with pytest.raises((ConfigCompositionException, ValidationError), match="bogus"):
        _compose(["derivatives=bogus"])


def test_bad_transform_is_rejected():
    with pytest.raises((ConfigCompositionException, ValidationError, ConfigKeyError)):
        _compose(["pde.unknowns.k.transform=logg"])


def test_help_lists_groups_without_importing_torch():
    code = ("import sys; sys.argv = ['pinn-fit', '--help']\n"
            "from pinn_cli.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TORCH_LOADED' if 'torch' in sys.modules else 'TORCH_ABSENT')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout
    assert "TORCH_ABSENT" in out
    for group, options in GROUPS.items():
        assert f"{group}: {', '.join(options)}" in out


def test_cli_typo_gives_one_line_error(tmp_path):
    r = run_cli(["weighting=anealing"], tmp_path)
    assert r.returncode != 0
    assert "Could not find 'weighting/anealing'" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_a_pde_ships_its_fixed_weights_and_the_users_win_over_them():
    from pinn_cli.targets import call

    def lambdas(overrides):
        w = call(_compose(overrides).weighting)
        w.setup({"data": "data", "burgers": "residual", "initial": "condition"})
        return w.lambdas

    assert lambdas(["pde=burgers1d"]) == {"data": 30.0, "burgers": 1.0, "initial": 1.0}
    assert lambdas(["pde=burgers1d", "+weighting.weights.data=3",
                    "+weighting.weights.initial=2"]) == {"data": 3.0, "burgers": 1.0,
                                                         "initial": 2.0}
    assert lambdas(["pde=burgers1d", "pde.weights.data=1"])["data"] == 1.0  # the plain weights
    assert _compose(["pde=heat1d"]).weighting.pde_weights == {}
    # the adaptive schemes have no such key and compose with any pde
    assert "pde_weights" not in _compose(["pde=burgers1d", "weighting=annealing"]).weighting
