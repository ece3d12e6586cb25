"""Declarative inverse problems: the `pde` config group.

A problem declares its independent variables (inputs) with their domain, its fields (outputs),
its unknown coefficients, and equations as strings such as ``u_t + lambda1*u*u_x - nu*u_xx``.
Sympy parses each string; a symbol ``<field>_<inputs>`` is a partial derivative (``u_xt`` is
∂²u/∂x∂t), so the derivatives each residual needs are inferred from the equations. A residual
may instead be a Python callable, ``{_target_: pkg.module.fn, needs: [u_t, u_xx]}``, called as
``fn(values, params)`` with dicts of tensors.

``periodic: [x]`` makes the solution periodic in the input x. With ``periodic_by: loss`` (the
default) a loss term ``periodic_x`` asks every field, and its x-derivatives up to one order below
the highest x-derivative the residuals take, to agree on the faces x = lo and x = hi (see
`Periodic`); with ``periodic_by: embedding`` the network sees x only through cos and sin of
2π (x − lo)/(hi − lo), so the fields are exactly periodic and no loss term is made (see
nets.PeriodicEmbedded).

``hard: {u: "x*(1 - x)*N"}`` imposes conditions exactly by an output transform: the field u is
the expression, with ``N`` the network's own output for u (see `Hard`, and nets.HardConstrained,
which wraps the network so that every loss term sees the transformed field).
"""
import difflib
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import sympy
import torch
from omegaconf import OmegaConf
from sympy.parsing.sympy_parser import parse_expr

from pinn_cli.schema import imported
from pinn_cli.errors import PinnFitError

_FUNCTIONS = {
    sympy.sin: torch.sin, sympy.cos: torch.cos, sympy.tan: torch.tan, sympy.exp: torch.exp,
    sympy.log: torch.log, sympy.tanh: torch.tanh, sympy.sinh: torch.sinh,
    sympy.cosh: torch.cosh, sympy.Abs: torch.abs, sympy.sign: torch.sign,
}
_TORCH_NAMESPACE = {f.__name__: t for f, t in _FUNCTIONS.items()} | {"sqrt": torch.sqrt}

PERIODIC_BY = ("loss", "embedding")  # how pde.periodic is enforced

# A derivative: (field, sorted tuple of input indices), e.g. ("u", (0, 0)) is u_xx for inputs (x, t).
Derivative = Tuple[str, Tuple[int, ...]]


@dataclass
class Unknown:
    """An unknown coefficient k, trained through a raw value θ (see config.Transform)."""

    name: str
    guess: float
    truth: float | None = None
    transform: str = "identity"
    scale: float = 1.0
    bounds: Tuple[float, float] | None = None

    def __post_init__(self):
        where = f"pde.unknowns.{self.name}"
        if not math.isfinite(self.guess):
            raise PinnFitError(f"{where}.guess={self.guess}: give a finite number")
        if not math.isfinite(self.scale) or self.scale == 0 or \
                (self.transform == "log" and self.scale < 0):
            raise PinnFitError(f"{where}.scale={self.scale}: give the unknown's reference "
                               "magnitude, a finite number > 0")
        if self.bounds is not None:
            b = list(self.bounds)
            if len(b) != 2 or not all(math.isfinite(v) for v in b) or not b[0] < b[1]:
                raise PinnFitError(f"{where}.bounds={b}: give [lo, hi] with lo < hi, or null")
            if self.transform == "log" and b[0] <= 0:
                raise PinnFitError(f"{where}.bounds={b}: with transform log the unknown is "
                                   "positive; give bounds with lo > 0")
            self.bounds = (float(b[0]), float(b[1]))
        if self.transform == "log" and self.guess <= 0:
            raise PinnFitError(f"unknown '{self.name}': transform log needs a positive guess, got "
                               f"{self.guess}; set pde.unknowns.{self.name}.guess to a value > 0")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo <= self.guess <= hi:
                raise PinnFitError(f"unknown '{self.name}': guess {self.guess} lies outside its "
                                   f"bounds [{lo}, {hi}]; change the guess or the bounds")

    def to_raw(self, value: float) -> float:
        if self.transform == "log":
            return math.log(value / self.scale)
        return value / self.scale if self.transform == "scaled" else value

    def to_physical(self, raw: torch.Tensor) -> torch.Tensor:
        if self.transform == "log":
            return self.scale * torch.exp(raw)
        return self.scale * raw if self.transform == "scaled" else raw


@dataclass
class Equation:
    """One residual or condition: a callable on named tensors and the derivatives it needs;
    `expr` is the parsed sympy expression of an equation string (None for a Python callable)."""

    name: str
    text: str
    fn: Callable[[Dict[str, torch.Tensor], Dict[str, torch.Tensor]], torch.Tensor]
    needs: List[Derivative]
    expr: sympy.Expr | None = None


@dataclass
class Periodic:
    """Periodicity in one input: every derivative in `needs` (each field, and its derivatives
    along the input up to `order`) takes the same value on the faces input = lo and input = hi.
    `order` is one below the highest derivative along the input that the residuals use (an
    equation of order m in x needs u, ..., ∂^{m-1}u/∂x^{m-1} matched to be well posed): 0 for
    u_t + beta*u_x (u only), 1 for u_t - k*u_xx (u and u_x)."""

    name: str  # the loss term, "periodic_<input>"
    input: str
    index: int  # the input's column
    order: int
    needs: List[Derivative]


class Hard:
    """An output transform u = f(inputs, N) of one field (DeepXDE's `apply_output_transform`):
    `N` is the network's output for the field, and f may use the inputs, the constants and the
    functions of the equations. Partial derivatives of f (for the Taylor engine's chain rule)
    are taken by sympy on demand and compiled once."""

    def __init__(self, field: str, text: str, expr, constants):
        self.field, self.text, self.expr, self.constants = field, text, expr, constants
        self._compiled: Dict[Tuple[str, ...], Callable] = {}

    def partial(self, wrt: Tuple[str, ...] = ()) -> Callable[[Dict[str, torch.Tensor]],
                                                                torch.Tensor]:
        """∂f/∂wrt (wrt: names of inputs or "N"; () is f itself) as fn(scope) -> tensor like
        scope["N"]; scope maps each input name and "N" to a tensor (n,)."""
        if wrt not in self._compiled:
            expr = sympy.diff(self.expr, *(sympy.Symbol(w) for w in wrt)) if wrt else self.expr
            args = sorted(s.name for s in expr.free_symbols)
            f = sympy.lambdify([sympy.Symbol(a) for a in args], expr,
                               modules=[_TORCH_NAMESPACE, "math"])
            consts = self.constants

            def fn(scope, _f=f, _args=args):
                full = scope | consts
                r = _f(*(full[a] for a in _args))
                ref = scope["N"]
                return r if torch.is_tensor(r) and r.shape == ref.shape else \
                    torch.as_tensor(r, dtype=ref.dtype, device=ref.device) + torch.zeros_like(ref)

            self._compiled[wrt] = fn
        return self._compiled[wrt]

    def __call__(self, scope: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.partial()(scope)


class Problem:
    """An inverse problem: domain, fields, unknowns, residual equations and conditions."""

    def __init__(self, name, inputs, outputs, unknowns, residuals, constants=None,
                 conditions=None, reference=None, periodic=None, hard=None, periodic_by="loss",
                 weights=None):
        self.name = name
        self.reference = reference  # the project's solver for this problem (pinn-data), or None
        if reference and reference.get("solver"):  # refused now, not after the training
            imported(reference["solver"], "pde.reference.solver")
        # loss-term weights measured for this problem; weighting=fixed starts from them
        self.weights = dict(_plain(weights) or {})
        self.inputs = list(inputs)
        bad = [k for k, v in inputs.items() if len(v) != 2]
        if bad:
            raise PinnFitError(f"pde.inputs.{bad[0]}: give the domain as [lo, hi]")
        self.domain = {k: (float(v[0]), float(v[1])) for k, v in inputs.items()}
        for k, (lo, hi) in self.domain.items():
            if not hi > lo:
                raise PinnFitError(f"pde.inputs.{k}: domain [{lo}, {hi}] is empty; give [lo, hi] "
                                   "with hi > lo")
        self.outputs = list(outputs)
        self.constants = dict(constants or {})
        self.unknowns = [Unknown(name=k, **_plain(v)) for k, v in unknowns.items()]
        if not self.unknowns:
            raise PinnFitError("pde.unknowns is empty: an inverse problem needs at least one "
                               "unknown coefficient")
        self.residuals = [self._equation(k, v, f"pde.residuals.{k}")
                          for k, v in _plain(residuals).items()]
        self.conditions = []
        for k, c in _plain(conditions or {}).items():
            bad = set(c["at"]) - set(self.inputs)
            if bad:
                raise PinnFitError(f"pde.conditions.{k}.at names {sorted(bad)}, which are not "
                                   f"inputs; inputs are {self.inputs}")
            self.conditions.append((self._equation(k, c["equation"], f"pde.conditions.{k}"),
                                    {a: float(v) for a, v in c["at"].items()}))
        self.periodic = self._periodic(_plain(periodic) or [])
        if periodic_by not in PERIODIC_BY:
            raise PinnFitError(f"pde.periodic_by={periodic_by!r} is not known; choose one of "
                               f"{list(PERIODIC_BY)}: loss (a periodic_<input> loss term) or "
                               "embedding (exact, by a cos/sin input embedding)")
        if periodic_by == "embedding" and not self.periodic:
            raise PinnFitError("pde.periodic_by=embedding but pde.periodic lists no input: name "
                               "the periodic inputs, e.g. pde.periodic=[x], or leave "
                               "periodic_by at loss")
        self.periodic_by = periodic_by
        self.hard = {k: self._hard(k, v) for k, v in (_plain(hard) or {}).items()}

    @property
    def periodic_losses(self) -> List[Periodic]:
        """The periodic inputs enforced by a loss term (periodic_by: loss)."""
        return self.periodic if self.periodic_by == "loss" else []

    @property
    def periodic_embedded(self) -> List[int]:
        """The indices of the periodic inputs enforced by the embedding (periodic_by: embedding)."""
        return [p.index for p in self.periodic] if self.periodic_by == "embedding" else []

    def _periodic(self, names) -> List[Periodic]:
        if isinstance(names, str):
            names = [names]
        out = []
        for k in names:
            if k not in self.inputs:
                near = difflib.get_close_matches(str(k), self.inputs, n=1) or self.inputs[:1]
                raise PinnFitError(f"pde.periodic names '{k}', which is not an input; inputs are "
                                   f"{self.inputs}: list inputs only, e.g. periodic: [{near[0]}]")
            if any(p.input == k for p in out):
                raise PinnFitError(f"pde.periodic names '{k}' twice; list each input once")
            i = self.inputs.index(k)
            order = max([idx.count(i) for eq in self.residuals for _, idx in eq.needs] + [1]) - 1
            needs = [(f, (i,) * n) for f in self.outputs for n in range(order + 1)]
            out.append(Periodic(f"periodic_{k}", k, i, order, needs))
        return out

    def _hard(self, field, text) -> Hard:
        """Parse pde.hard.<field>: an expression in the inputs, the constants and N."""
        where = f"pde.hard.{field}"
        example = f"pde.hard.{self.outputs[0]}: 'x*(1 - x)*N'"
        if field not in self.outputs:
            raise PinnFitError(f"{where}: '{field}' is not a field; fields are {self.outputs}. "
                               f"Give one transform per field, e.g. {example}")
        if "N" in self.inputs + self.outputs + list(self.constants) + \
                [u.name for u in self.unknowns]:
            raise PinnFitError(f"{where}: the problem declares a name 'N', which hard "
                               "transforms use for the network's output; rename it")
        if not isinstance(text, str) or not text.strip():
            raise PinnFitError(f"{where}: expected an expression string in the inputs and N, got "
                               f"{text!r}; e.g. {example}")
        if "=" in text.replace("==", ""):
            raise PinnFitError(f"{where}: {text!r} has an '='; give only the right-hand side, "
                               f"the field as an expression in the inputs and N, e.g. {example}")
        local = {s: sympy.Symbol(s) for s in self.inputs + list(self.constants) + ["N"]}
        try:
            expr = parse_expr(text, local_dict=local, evaluate=True)
        except Exception as err:  # sympy raises many types on bad syntax
            raise PinnFitError(
                f"{where}: cannot parse {text!r} ({type(err).__name__}: {err}); write the field "
                f"as an expression in the inputs {self.inputs} and N, the network's output, e.g. "
                f"{example}") from None
        if not isinstance(expr, sympy.Expr):
            raise PinnFitError(f"{where}: {text!r} is not an expression; e.g. {example}")
        for f in expr.atoms(sympy.Function):
            if type(f) not in _FUNCTIONS and f.func is not sympy.sqrt:
                raise PinnFitError(f"{where}: function '{f.func}' in {text!r} is not supported "
                                   f"(use {', '.join(_TORCH_NAMESPACE)})")
        allowed = set(local)
        bad = sorted(s.name for s in expr.free_symbols if s.name not in allowed)
        if bad:
            raise PinnFitError(
                f"{where}: symbol '{bad[0]}' in {text!r} cannot be used: a hard transform may use "
                f"only the inputs {self.inputs}, the constants {list(self.constants)} and N (the "
                "network's output for the field); not unknowns, fields or their derivatives")
        n = sympy.Symbol("N")
        if n not in expr.free_symbols or sympy.diff(expr, n) == 0:
            raise PinnFitError(f"{where}: {text!r} does not depend on N, the network's output, so "
                               f"the field would be fixed; e.g. {example}")
        return Hard(field, text, expr, dict(self.constants))

    def exact_conditions(self) -> List[str]:
        """The conditions that the hard transforms satisfy identically (whatever N is): those
        whose equation, with each transformed field substituted and the condition's face
        fixed, simplifies to 0. Only equations in fields and inputs (no derivatives, no
        unknowns) are checked; the others are never listed."""
        if not self.hard:
            return []
        out = []
        for eq, at in self.conditions:
            if not isinstance(eq.text, str) or any(idx for _, idx in eq.needs):
                continue
            local = {s: sympy.Symbol(s) for s in self.inputs + self.outputs + list(self.constants)}
            try:
                expr = parse_expr(eq.text, local_dict=local, evaluate=True)
            except Exception:
                continue
            if any(s.name not in local for s in expr.free_symbols):
                continue
            n = sympy.Symbol("N")
            subs = {sympy.Symbol(f): h.expr.subs(n, sympy.Symbol(f"N_{f}"))
                    for f, h in self.hard.items()}
            expr = expr.subs(subs).subs({sympy.Symbol(k): sympy.nsimplify(v, [sympy.pi])
                                         for k, v in at.items()})
            expr = expr.subs({sympy.Symbol(k): v for k, v in self.constants.items()})
            if sympy.simplify(expr) == 0 or _vanishes(expr, self.domain):
                out.append(eq.name)
        return out

    # --- parsing -------------------------------------------------------------------------
    def derivative_symbol(self, name: str) -> Derivative | None:
        """'u_xt' -> ('u', (i_x, i_t)); None if the name is not a derivative of a field."""
        field, sep, suffix = name.partition("_")
        if not sep or field not in self.outputs or not suffix:
            return None
        idx, rest = [], suffix
        while rest:
            match = next((v for v in sorted(self.inputs, key=len, reverse=True)
                          if rest.startswith(v)), None)
            if match is None:
                return None
            idx.append(self.inputs.index(match))
            rest = rest[len(match):]
        return field, tuple(sorted(idx))

    def derivative_name(self, d: Derivative) -> str:
        field, idx = d
        return field + ("_" + "".join(self.inputs[i] for i in idx) if idx else "")

    def _equation(self, name, spec, where) -> Equation:
        if isinstance(spec, dict):
            return self._python_equation(name, spec, where)
        if not isinstance(spec, str):
            raise PinnFitError(f"{where}: expected an equation string, got {spec!r}")
        params = [u.name for u in self.unknowns]
        declared = self.inputs + self.outputs + params + list(self.constants)
        local = {s: sympy.Symbol(s) for s in declared}
        # Derivative symbols are created on demand: any name <field>_<inputs>.
        if "=" in spec.replace("==", ""):
            lhs, _, rhs = spec.partition("=")
            raise PinnFitError(f"{where}: {spec!r} is an equation with '='; write the residual "
                               f"that should vanish instead: '{lhs.strip()} - ({rhs.strip()})'")
        try:
            expr = parse_expr(spec, local_dict=local, evaluate=True)
        except Exception as err:  # sympy raises many types on bad syntax
            raise PinnFitError(f"{where}: cannot parse equation {spec!r} ({type(err).__name__}: "
                               f"{err}); write it like 'u_t - k*u_xx', with every name declared") from None
        if not isinstance(expr, sympy.Expr):
            raise PinnFitError(f"{where}: {spec!r} is not an expression; write the residual "
                               "that should vanish, e.g. 'u_t - k*u_xx'")
        for f in expr.atoms(sympy.Function):
            if type(f) not in _FUNCTIONS and f.func is not sympy.sqrt:
                raise PinnFitError(f"{where}: function '{f.func}' in {spec!r} is not supported "
                                   f"(use {', '.join(_TORCH_NAMESPACE)}), or it is an undeclared "
                                   "symbol: declare it under pde.unknowns or pde.constants")
        needs, symbols = [], []
        for sym in sorted(expr.free_symbols, key=lambda s: s.name):
            symbols.append(sym)
            if sym.name in declared:
                if sym.name in self.outputs:
                    needs.append((sym.name, ()))
                continue
            d = self.derivative_symbol(sym.name)
            if d is None:
                raise PinnFitError(
                    f"{where}: symbol '{sym.name}' in {spec!r} is not declared. Declared: inputs "
                    f"{self.inputs}, fields {self.outputs}, unknowns {params}, constants "
                    f"{list(self.constants)}; derivatives are written <field>_<inputs> like "
                    f"{self.outputs[0]}_{self.inputs[0]}. Fix the equation or declare the symbol.")
            needs.append(d)
        if not any(s.name not in params and s.name not in self.constants for s in symbols):
            raise PinnFitError(f"{where}: {spec!r} involves no field or input")
        args = [s.name for s in symbols]
        compiled = sympy.lambdify([sympy.Symbol(a) for a in args], expr,
                                  modules=[_TORCH_NAMESPACE, "math"])
        consts = self.constants

        def fn(values, params, _args=args, _f=compiled):
            scope = values | params | consts
            return _f(*(scope[a] for a in _args))

        return Equation(name, spec, fn, needs, expr)

    def _python_equation(self, name, spec, where) -> Equation:
        if "_target_" not in spec:
            raise PinnFitError(f"{where}: a residual is an equation string or a mapping "
                               "{_target_: module.function, needs: [u_t, ...]}")
        fn = imported(spec["_target_"], f"{where}._target_")
        needs = []
        for n in spec.get("needs", []):
            d = (n, ()) if n in self.outputs else self.derivative_symbol(n)
            if d is None:
                raise PinnFitError(f"{where}.needs: '{n}' is not a field or a derivative "
                                   f"<field>_<inputs> of fields {self.outputs}")
            needs.append(d)
        return Equation(name, spec["_target_"], fn, needs)

    # --- evaluation ----------------------------------------------------------------------
    def needs(self, equations) -> List[Derivative]:
        """Every derivative the given equations use, fields included, without repeats."""
        return sorted({d for eq in equations for d in eq.needs} |
                      {(f, ()) for f in self.outputs}, key=lambda d: (len(d[1]), d))

    def evaluate(self, equations, values: Dict[str, torch.Tensor], params) -> Dict[str, torch.Tensor]:
        """Each equation's pointwise residual; `values` maps input, field and derivative names
        (u, u_x, ...) to tensors of shape (N,)."""
        out = {}
        for eq in equations:
            r = eq.fn(values, params)
            if not torch.is_tensor(r) or r.shape != next(iter(values.values())).shape:
                r = torch.as_tensor(r) + torch.zeros_like(next(iter(values.values())))
            out[eq.name] = r
        return out


def _vanishes(expr, domain, n=32, seed=0) -> bool:
    """Whether expr is 0 to rounding at n random points: the inputs in their domain, every
    other symbol (the network outputs N_<field>) in [-3, 3]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    f = sympy.lambdify(syms, expr, modules="numpy")
    vals = [rng.uniform(*domain.get(s.name, (-3.0, 3.0)), n) for s in syms]
    try:
        r = np.broadcast_to(np.asarray(f(*vals), dtype=float), (n,))
    except Exception:
        return False
    return bool(np.all(np.abs(r) <= 1e-12))


def _plain(node):
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True) if OmegaConf.is_config(node) else node
