"""Run folders from someone else: nothing read from a folder, a checkpoint or an override runs
code, and a resume continues only what the checkpoint holds. Each payload would create a marker
file; the tests assert that it never exists, and that the refusal is one message with exit 2."""

import pytest
import torch
import yaml

from conftest import run_cli, summary
from support import TINY_RUN, completed_run, refused as _refused, stopped_copy as _stopped_copy


class _Payload:
    """Unpickling this creates `path`: what a planted checkpoint could do."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return completed_run(tmp_path_factory, TINY_RUN, "run")


def test_a_pickled_payload_in_the_checkpoint_is_never_loaded(finished, tmp_path):
    run = _stopped_copy(finished, tmp_path)
    marker = tmp_path / "marker"
    state = {"step": 5, "payload": _Payload(marker)}
    torch.save(state, run / "checkpoint.pt")
    before = (run / "params.csv").read_bytes()
    _refused(run_cli([f"resume={run}"], tmp_path), "holds objects other than tensors")
    assert not marker.exists()
    assert (run / "params.csv").read_bytes() == before  # nothing overwritten


def test_an_equation_planted_in_the_overrides_is_refused(finished, tmp_path):
    run = _stopped_copy(finished, tmp_path)
    marker = tmp_path / "marker"
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    overrides.append(f"pde.residuals.heat='__import__(\"os\").system(\"touch {marker}\") + u_t'")
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    _refused(run_cli([f"resume={run}"], tmp_path), "pde.residuals.heat")
    assert not marker.exists()


def test_edited_overrides_do_not_mix_into_a_resumed_run(finished, tmp_path):
    run = _stopped_copy(finished, tmp_path)
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides + ["seed=5"]))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    _refused(run_cli([f"resume={run}"], tmp_path), "was written with another config")
    _refused(run_cli([f"resume={run}"], tmp_path), "seed: 0 in the checkpoint, 5 now")
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    log = before.pop("pinn-fit.log")
    assert after.pop("pinn-fit.log").startswith(log)  # the refusal is appended to the log
    assert after == before


def test_a_checkpoint_from_elsewhere_is_refused(finished, tmp_path):
    run = _stopped_copy(finished, tmp_path)
    torch.save({"step": 3, "weights": torch.zeros(2)}, run / "checkpoint.pt")
    _refused(run_cli([f"resume={run}"], tmp_path), "it is not a checkpoint pinn-fit wrote")


def test_a_checkpoint_holds_only_tensors_and_plain_containers(finished):
    state = torch.load(finished / "checkpoint.pt", weights_only=True)
    assert state["last_row"]["unknowns"]["k"] == summary(finished)["unknowns"]["k"]["estimate"]
    assert state["config"]["derivatives"] == "auto"  # enums as their names
