"""Precision and torch set-up of a run: the `precision` setting (float32 | float64) as a dtype
passed to what a run builds, and the optimiser import that an L-BFGS run can skip. torch's
process-wide default dtype is never left changed: `building_in` sets it only while the parts of
a run are made (layers, buffers and points are created in it) and restores it after."""
from contextlib import contextmanager

import torch

from pinn_cli.errors import PinnFitError

DTYPES = {"float32": torch.float32, "float64": torch.float64}  # the `precision` settings


def precision_name(t: torch.Tensor) -> str:
    """The precision a tensor is held in, as the setting names it (float32, float64, ...)."""
    return str(t.dtype).removeprefix("torch.")


def dtype_of(precision: str) -> torch.dtype:
    """The dtype of a `precision` setting (float32 | float64)."""
    if precision not in DTYPES:
        raise PinnFitError(f"precision={precision!r}: choose float32 or float64")
    return DTYPES[precision]


def use_threads(threads: int | None) -> None:
    """torch's intra-op threads, if given (None keeps torch's default)."""
    if threads:
        torch.set_num_threads(int(threads))


@contextmanager
def building_in(dtype: torch.dtype):
    """torch's default dtype is `dtype` inside the block (what nn.Linear, buffers and drawn
    points are made in), and what it was before after it."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


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
