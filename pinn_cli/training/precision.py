"""Precision and torch set-up of a run: the `precision` setting (float32 | float64) and the
optimiser import that an L-BFGS run can skip."""
import torch

from pinn_cli.errors import PinnFitError

DTYPES = {"float32": torch.float32, "float64": torch.float64}  # the `precision` settings


def use_precision(precision: str, threads: int | None = None) -> None:
    """torch's default dtype for `precision` (float32 | float64) and, if given, its threads."""
    if precision not in DTYPES:
        raise PinnFitError(f"precision={precision!r}: choose float32 or float64")
    if threads:
        torch.set_num_threads(int(threads))
    torch.set_default_dtype(DTYPES[precision])


def skip_dynamo_import() -> None:
    """Spares an L-BFGS run the import of torch._dynamo (about 1 s on a 2-core CPU, where a
    Burgers 1D fit reaches 1 % in 10-20 s). torch wraps the optimisers' zero_grad,
    add_param_group, state_dict and load_state_dict in torch._disable_dynamo, which imports
    torch._dynamo on the first call to keep them out of torch.compile's tracing; pinn-fit
    compiles the loss terms at most (compile=true), never an optimiser, so each wrapped function
    is given itself as its cached disabled version. Adam's step imports torch._dynamo
    regardless; on a torch that caches elsewhere this changes nothing
    (tests/unit/training/test_train.py checks that the import is spared)."""
    for name in ("zero_grad", "add_param_group", "state_dict", "load_state_dict"):
        fn = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if fn is not None:
            setattr(fn, "__dynamo_disable", fn)
