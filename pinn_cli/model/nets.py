"""Networks (the `arch` config group). Inputs are mapped to [-1, 1] from the problem's domain and
outputs are rescaled by the observed mean and std of each field, so the trainable part works on
O(1) numbers whatever the physical units."""
import math

import torch
from torch import nn

from pinn_cli.model.derivatives import Jet
from pinn_cli.errors import PinnFitError

ACTIVATIONS = {"tanh": torch.tanh, "sin": torch.sin, "gelu": nn.functional.gelu,
               "softplus": nn.functional.softplus}

# Forward-mode Taylor propagation through each activation (see
# pinn_cli.model.derivatives.Jet.act): from z the step returns s = σ(z) and the maps
# d_i z -> d_i s = σ' d_i z and (d_ij z, d_i z d_j z) -> d_ij s = σ' d_ij z + σ'' d_i z d_j z.
def _tanh_step(z):  # σ' = 1 − s², σ'' = −2 s σ': d_ij s = σ' (d_ij z − 2 s d_i z d_j z)
    s = torch.tanh(z)
    s1 = 1 - s * s
    return s, lambda a: s1 * a, lambda b, p: s1 * torch.addcmul(b, s, p, value=-2)

def _step(derivatives):
    """The Taylor step of an activation given as derivatives(z) = (σ, σ', σ'')."""
    def step(z):
        s, s1, s2 = derivatives(z)
        return s, lambda a: s1 * a, lambda b, p: torch.addcmul(s1 * b, s2, p)
    return step

def _sin(z):
    s = torch.sin(z)
    return s, torch.cos(z), -s

def _gelu(z):  # z Φ(z): σ' = Φ + z φ, σ'' = (2 − z²) φ
    phi = torch.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return nn.functional.gelu(z), torch.special.ndtr(z) + z * phi, (2 - z * z) * phi

def _softplus(z):
    sig = torch.sigmoid(z)
    return nn.functional.softplus(z), sig, sig * (1 - sig)

TAYLOR_STEPS = {"tanh": _tanh_step, "sin": _step(_sin), "gelu": _step(_gelu),
                "softplus": _step(_softplus)}

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
        self.act, self.act_step = ACTIVATIONS[activation], TAYLOR_STEPS[activation]
        lo = torch.tensor([d[0] for d in domain], dtype=torch.get_default_dtype())
        hi = torch.tensor([d[1] for d in domain], dtype=torch.get_default_dtype())
        self.register_buffer("in_center", (hi + lo) / 2)
        self.register_buffer("in_halfwidth", (hi - lo) / 2)
        self.register_buffer("out_shift", torch.as_tensor(out_shift, dtype=lo.dtype))
        self.register_buffer("out_scale", torch.as_tensor(out_scale, dtype=lo.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.in_center) / self.in_halfwidth
        return self.out_shift + self.out_scale * self.body(z)

    def taylor(self, x: torch.Tensor, first, second):
        """Forward-mode Taylor propagation of forward(): value (N, n_out), derivatives (F, N, n_out)
        along the input indices `first` and (S, N, n_out) along the index pairs `second`."""
        return self.taylor_jet(Jet.seed(x, torch.ones_like(self.in_center), first, second))

    def taylor_jet(self, jet: Jet):
        """`taylor` from the input's Jet (value and input derivatives), e.g. an embedding's."""
        scale = lambda ds: [d / self.in_halfwidth for d in ds]
        h = jet.new((jet.v - self.in_center) / self.in_halfwidth, scale(jet.d1), scale(jet.d2))
        v, d1, d2 = self.body_taylor(h).stacked()
        return self.out_shift + self.out_scale * v, d1 * self.out_scale, d2 * self.out_scale

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

    def body_taylor(self, h: Jet) -> Jet:
        """body() by forward-mode Taylor propagation."""
        for layer in self.hidden:
            h = h.linear(layer).act(self.act_step)
        return h.linear(self.head)

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

    def body_taylor(self, h: Jet) -> Jet:
        """body() by forward-mode Taylor propagation; the gate by the product rule."""
        u, v = (h.linear(enc).act(self.act_step) for enc in (self.enc_u, self.enc_v))
        v_u = v - u
        h = h.linear(self.first).act(self.act_step)
        for layer in self.hidden:
            h = u + h.linear(layer).act(self.act_step) * v_u  # = (1 − Z) ⊙ U + Z ⊙ V
        return h.linear(self.head)


class FourierMLP(_Scaled):
    """MLP on random Fourier features of the scaled input z ∈ [-1, 1]^d (Tancik et al. 2020,
    "Fourier features let networks learn high frequency functions in low dimensional domains";
    for PINNs Wang, Wang & Perdikaris 2021, "On the eigenvector bias of Fourier feature networks"):

        γ(z) = [cos(2π B z), sin(2π B z)],   B ∈ R^{m×d}, B_kl ~ N(0, σ²),

    then `depth` hidden layers of `width` units on the 2m features. B (m = `n_features`,
    σ = `sigma`) is drawn once at construction from torch's global RNG, so from the run seed, and
    is a buffer: saved with the network, never trained."""

    def __init__(self, domain, out_shift, out_scale, width=50, depth=4, activation="tanh",
                 sigma=1.0, n_features=64):
        super().__init__(domain, out_shift, out_scale, activation)
        if width < 1 or depth < 1:
            raise PinnFitError(f"arch: width and depth must be >= 1, got {width} and {depth}")
        if not sigma > 0 or n_features < 1:
            raise PinnFitError(f"arch: sigma must be > 0 and n_features >= 1, got {sigma} and "
                               f"{n_features}")
        self.register_buffer("B", float(sigma) * torch.randn(int(n_features), len(domain)))
        sizes = [2 * int(n_features)] + [width] * depth
        self.hidden = nn.ModuleList(_linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = _linear(width, len(out_shift))

    def embed(self, z):
        a = z @ (2 * math.pi * self.B).T
        return torch.cat([torch.cos(a), torch.sin(a)], -1)

    def body(self, z):
        z = self.embed(z)
        for layer in self.hidden:
            z = self.act(layer(z))
        return self.head(z)

    def body_taylor(self, h: Jet) -> Jet:
        """body() by forward-mode Taylor propagation. The embedding is exact: a = 2π B z is linear
        (d a = 2π B d z), then with p = d_i a d_j a, d_i cos a = −sin a d_i a,
        d_ij cos a = −cos a p − sin a d_ij a, d_i sin a = cos a d_i a, d_ij sin a = −sin a p +
        cos a d_ij a."""
        w = (2 * math.pi * self.B).T
        a = h.map(lambda d: d @ w)
        s, c = torch.sin(a.v), torch.cos(a.v)
        h = h.new(torch.cat([c, s], -1), [torch.cat([-s * a1, c * a1], -1) for a1 in a.d1],
                  [torch.cat([-(c * p) - s * a2, c * a2 - s * p], -1)
                   for a2, p in zip(a.d2, h.products(a.d1, a.d1))])
        for layer in self.hidden:
            h = h.linear(layer).act(self.act_step)
        return h.linear(self.head)

class PeriodicEmbedded(nn.Module):
    """The network seen through a periodic input embedding (`pde.periodic` with `periodic_by:
    embedding`; Dong & Ni 2021, "A method for representing periodic functions and enforcing
    exactly periodic boundary conditions with deep neural networks", JCP 435): an input x with
    domain [lo, hi] enters the wrapped net as the pair

        cos θ, sin θ,   θ = 2π (x − lo) / (hi − lo),

    the other inputs unchanged, so every field and all its x-derivatives take the same values at
    x = lo and x = hi. The wrapped net is built on `features(domain, periodic)`."""

    def __init__(self, net: nn.Module, domain, periodic):
        super().__init__()
        self.net, self.periodic, self.n_in = net, sorted(periodic), len(domain)
        dtype = torch.get_default_dtype()
        self.register_buffer("lo", torch.tensor([domain[i][0] for i in self.periodic], dtype=dtype))
        self.register_buffer("omega", torch.tensor(
            [2 * math.pi / (domain[i][1] - domain[i][0]) for i in self.periodic], dtype=dtype))

    @staticmethod
    def features(domain, periodic):
        """The wrapped net's input domain: each periodic input becomes cos θ, sin θ in [-1, 1]."""
        return [d for i, lohi in enumerate(domain)
                for d in ([(-1.0, 1.0)] * 2 if i in periodic else [lohi])]

    def _features(self, x, first=(), second=()):
        """The feature columns (N,) and, per input index in `first` and index pair in `second`,
        their derivatives: d_x cos θ = −ω sin θ, d_x sin θ = ω cos θ, d_xx cos θ = −ω² cos θ,
        d_xx sin θ = −ω² sin θ (ω = dθ/dx); a plain input's derivative is 1 along itself."""
        zero = torch.zeros_like(x[:, 0])
        v, d1, d2 = [], [[] for _ in first], [[] for _ in second]
        for i in range(self.n_in):
            if i not in self.periodic:
                v.append(x[:, i])
                for f, a in enumerate(first):
                    d1[f].append(torch.ones_like(zero) if a == i else zero)
                for row in d2:
                    row.append(zero)
                continue
            k = self.periodic.index(i)
            w = self.omega[k]
            c, s = torch.cos(w * (x[:, i] - self.lo[k])), torch.sin(w * (x[:, i] - self.lo[k]))
            v += [c, s]
            for f, a in enumerate(first):
                d1[f] += [-w * s, w * c] if a == i else [zero, zero]
            for q, (a, b) in enumerate(second):
                d2[q] += [-w * w * c, -w * w * s] if a == b == i else [zero, zero]
        return v, d1, d2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.stack(self._features(x)[0], -1))


class PeriodicEmbeddedTaylor(PeriodicEmbedded):
    """PeriodicEmbedded around a net with a `taylor_jet` method: the features' exact derivatives
    seed the net's Taylor propagation (the chain rule through the embedding)."""

    def taylor(self, x: torch.Tensor, first, second):
        v, d1, d2 = self._features(x, first, second)
        cols = lambda r: torch.stack(r, -1)
        return self.net.taylor_jet(Jet.input(cols(v), [cols(r) for r in d1],
                                             [cols(r) for r in d2], list(first), list(second)))


def periodic_embedded(make_net, domain, periodic) -> nn.Module:
    """`make_net(domain)` built on the features of a periodic embedding of the inputs
    `periodic` (indices) and wrapped in it, or `make_net(domain)` itself if there are none."""
    if not periodic:
        return make_net(domain)
    net = make_net(PeriodicEmbedded.features(domain, periodic))
    return (PeriodicEmbeddedTaylor if hasattr(net, "taylor_jet") else PeriodicEmbedded)(
        net, domain, periodic)


class HardConstrained(nn.Module):
    """The network seen through the problem's output transforms (`pde.hard`,
    pinn_cli.problem.hard.Hard): a field u with a transform f is f(inputs, N), N the wrapped
    network's output for u; the other fields pass unchanged. forward() returns the transformed
    fields, so the data, residual and condition terms all see them. `taylor` (class
    HardConstrainedTaylor, for nets that have one) composes the net's Taylor jet with f by the
    chain rule, the partials of f from sympy:
        u_a  = f_a + f_N N_a
        u_ab = f_ab + f_aN N_b + f_bN N_a + f_NN N_a N_b + f_N N_ab."""

    def __init__(self, net: nn.Module, problem):
        super().__init__()
        self.net = net
        self.inputs, self.outputs = list(problem.inputs), list(problem.outputs)
        self.hard = dict(problem.hard)

    def _scope(self, x, n):
        return {name: x[:, i] for i, name in enumerate(self.inputs)} | {"N": n}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return torch.stack([self.hard[f](self._scope(x, y[:, j])) if f in self.hard else y[:, j]
                            for j, f in enumerate(self.outputs)], 1)


class HardConstrainedTaylor(HardConstrained):
    """HardConstrained around a net with a `taylor` method: the Taylor engine applies."""

    def taylor(self, x: torch.Tensor, first, second):
        v, d1, d2 = self.net.taylor(x, first, second)
        cols_v, cols_d1, cols_d2 = [], [], []
        names = [self.inputs[i] for i in first]
        for j, f in enumerate(self.outputs):
            if f not in self.hard:
                cols_v.append(v[:, j])
                cols_d1.append(d1[..., j])
                cols_d2.append(d2[..., j])
                continue
            h, n1, n2 = self.hard[f], d1[..., j], d2[..., j]
            s = self._scope(x, v[:, j])
            f_n = h.partial(("N",))(s)
            cols_v.append(h(s))
            cols_d1.append(torch.stack([h.partial((a,))(s) + f_n * n1[k]
                                        for k, a in enumerate(names)]) if names else n1)
            rows = []
            for k, (a, b) in enumerate(second):
                ka, kb = first.index(a), first.index(b)
                na, nb = self.inputs[a], self.inputs[b]
                rows.append(h.partial((na, nb))(s) + h.partial((na, "N"))(s) * n1[kb]
                            + h.partial((nb, "N"))(s) * n1[ka]
                            + h.partial(("N", "N"))(s) * n1[ka] * n1[kb] + f_n * n2[k])
            cols_d2.append(torch.stack(rows) if rows else n2)
        return (torch.stack(cols_v, -1), torch.stack(cols_d1, -1), torch.stack(cols_d2, -1))


def hard_constrained(net: nn.Module, problem) -> nn.Module:
    """`net` wrapped in the problem's output transforms, or `net` itself if it has none."""
    if not problem.hard:
        return net
    return (HardConstrainedTaylor if hasattr(net, "taylor") else HardConstrained)(net, problem)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)

