"""Networks (the `arch` config group). Inputs are mapped to [-1, 1] from the problem's domain and
outputs are rescaled by the observed mean and std of each field, so the trainable part works on
O(1) numbers whatever the physical units."""
import torch
from torch import nn

from pinn_cli.errors import PinnFitError

ACTIVATIONS = {"tanh": torch.tanh, "sin": torch.sin, "gelu": nn.functional.gelu,
               "softplus": nn.functional.softplus}

def _linear(n_in: int, n_out: int) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_normal_(layer.weight)  # Glorot, as in Raissi et al. and Wang et al.
    nn.init.zeros_(layer.bias)
    return layer

class _Scaled(nn.Module):
    """Affine input map domain -> [-1, 1] and output map y -> shift + scale * y."""

    def __init__(self, domain, out_shift, out_scale, activation):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise PinnFitError(f"arch.activation={activation!r} is not known; choose one of "
                               f"{sorted(ACTIVATIONS)}")
        self.act = ACTIVATIONS[activation]
        lo = torch.tensor([d[0] for d in domain], dtype=torch.get_default_dtype())
        hi = torch.tensor([d[1] for d in domain], dtype=torch.get_default_dtype())
        self.register_buffer("in_center", (hi + lo) / 2)
        self.register_buffer("in_halfwidth", (hi - lo) / 2)
        self.register_buffer("out_shift", torch.as_tensor(out_shift, dtype=lo.dtype))
        self.register_buffer("out_scale", torch.as_tensor(out_scale, dtype=lo.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.in_center) / self.in_halfwidth
        return self.out_shift + self.out_scale * self.body(z)

class MLP(_Scaled):
    """Fully connected network: `depth` hidden layers of `width` units (model M1 of Wang et al.)."""

    def __init__(self, domain, out_shift, out_scale, width=20, depth=4, activation="tanh"):
        super().__init__(domain, out_shift, out_scale, activation)
        if width < 1 or depth < 1:
            raise PinnFitError(f"arch: width and depth must be >= 1, got {width} and {depth}")
        sizes = [len(domain)] + [width] * depth
        self.hidden = nn.ModuleList(_linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = _linear(width, len(out_shift))

    def body(self, z):
        for layer in self.hidden:
            z = self.act(layer(z))
        return self.head(z)

class ModifiedMLP(_Scaled):
    """Model M3 of Wang, Teng & Perdikaris 2021 (eqs. 43-46): two encoders U = σ(XW¹+b¹),
    V = σ(XW²+b²) and gated hidden states H ← (1 − Z) ⊙ U + Z ⊙ V with Z = σ(HW + b)."""

    def __init__(self, domain, out_shift, out_scale, width=50, depth=4, activation="tanh"):
        super().__init__(domain, out_shift, out_scale, activation)
        if width < 1 or depth < 1:
            raise PinnFitError(f"arch: width and depth must be >= 1, got {width} and {depth}")
        n_in = len(domain)
        self.enc_u, self.enc_v, self.first = (_linear(n_in, width) for _ in range(3))
        self.hidden = nn.ModuleList(_linear(width, width) for _ in range(depth - 1))
        self.head = _linear(width, len(out_shift))

    def body(self, z):
        u, v = self.act(self.enc_u(z)), self.act(self.enc_v(z))
        h = self.act(self.first(z))
        for layer in self.hidden:
            g = self.act(layer(h))
            h = (1 - g) * u + g * v
        return self.head(h)

def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)

