"""Declarative inverse problems: the `pde` config group.

A problem declares its independent variables (inputs) with their domain, its fields (outputs),
its unknown coefficients, and equations as strings such as ``u_t + lambda1*u*u_x - nu*u_xx``.
Sympy parses each string; a symbol ``<field>_<inputs>`` is a partial derivative (``u_xt`` is
∂²u/∂x∂t), so the derivatives each residual needs are inferred from the equations. A residual
may instead be a Python callable, ``{_target_: pkg.module.fn, needs: [u_t, u_xx]}``, called as
``fn(values, params)`` with dicts of tensors.

``periodic: [x]`` makes the solution periodic in the input x. With ``periodic_by: loss`` a loss
term ``periodic_x`` asks every field, and its x-derivatives up to one order below the highest
x-derivative the residuals take, to agree on the faces x = lo and x = hi (see `Periodic`); with
``periodic_by: embedding`` the network sees x only through cos and sin of 2π (x − lo)/(hi − lo),
so the fields are exactly periodic and no loss term is made (see
pinn_cli.model.nets.PeriodicEmbedded). ``periodic_by: auto`` (the default) takes the embedding
for a problem periodic in two or more inputs (a periodic box: on the 2-D flows the loss terms
left ν 35 % off where the embedding reached 2 %) and the loss term for one periodic input
(convection at β = 30: the embedding failed in 3 of 3 seeds, the loss term succeeded);
docs/remedies.md, Periodic input embedding.

``hard: {u: "x*(1 - x)*N"}`` imposes conditions exactly by an output transform: the field u is
the expression, with ``N`` the network's own output for u (see pinn_cli.problem.hard.Hard, and
pinn_cli.model.nets.HardConstrained, which wraps the network so that every loss term sees the
transformed field).
"""
import difflib
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import sympy
import torch
from omegaconf import OmegaConf

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.expressions import as_tensor_like, compile_torch, default_symbol, parse
from pinn_cli.problem.fields import FieldUnknown
from pinn_cli.problem.hard import exact_conditions, parse_hard
from pinn_cli.problem.unknowns import Unknown
from pinn_cli.targets import imported

PERIODIC_BY = ("auto", "loss", "embedding")  # how pde.periodic is enforced

# A derivative: (field, sorted tuple of input indices), e.g. ("u", (0, 0)) is u_xx for inputs (x, t).
Derivative = Tuple[str, Tuple[int, ...]]


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


class Problem:
    """An inverse problem: domain, fields, unknowns, residual equations and conditions."""

    def __init__(self, name, inputs, outputs, unknowns, residuals, constants=None,
                 conditions=None, reference=None, periodic=None, hard=None, periodic_by="auto",
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
        specs = {k: {a: b for a, b in _plain(v).items() if b is not None and b != {}}
                 for k, v in unknowns.items()}
        self.unknowns = [_scalar(k, v) for k, v in specs.items() if "field" not in v]
        # unknown fields (pinn_cli.problem.fields): outputs of networks of their own
        self.fields = [_field(k, v) for k, v in specs.items() if "field" in v]
        for f in self.fields:
            f.check(self.inputs, self.outputs)
        if not self.unknowns and not self.fields:
            raise PinnFitError("pde.unknowns is empty: an inverse problem needs at least one "
                               "unknown coefficient or field")
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
                               f"{list(PERIODIC_BY)}: loss (a periodic_<input> loss term), "
                               "embedding (exact, by a cos/sin input embedding) or auto "
                               "(embedding for two or more periodic inputs, else loss)")
        if periodic_by == "embedding" and not self.periodic:
            raise PinnFitError("pde.periodic_by=embedding but pde.periodic lists no input: name "
                               "the periodic inputs, e.g. pde.periodic=[x], or leave "
                               "periodic_by at auto")
        if periodic_by == "auto":
            periodic_by = "embedding" if len(self.periodic) >= 2 else "loss"
        self.periodic_by = periodic_by
        self.hard = {k: parse_hard(k, v, self.inputs, self.outputs, self.constants,
                                   [u.name for u in self.unknowns])
                     for k, v in (_plain(hard) or {}).items()}

    @property
    def field_names(self) -> List[str]:
        """The unknown fields' names (pde.unknowns entries with `field`)."""
        return [f.name for f in self.fields]

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

    def exact_conditions(self) -> List[str]:
        """The conditions that the hard transforms satisfy identically (problem.hard)."""
        return exact_conditions(self) if self.hard else []

    # --- parsing -------------------------------------------------------------------------
    def derivative_symbol(self, name: str) -> Derivative | None:
        """'u_xt' -> ('u', (i_x, i_t)); None if the name is not a derivative of a field."""
        field, sep, suffix = name.partition("_")
        if not sep or field not in self.outputs + self.field_names or not suffix:
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
        declared = self.inputs + self.outputs + self.field_names + params + list(self.constants)
        # Derivative symbols are created on demand: any name <field>_<inputs>.
        if "=" in spec.replace("==", ""):
            lhs, _, rhs = spec.partition("=")
            raise PinnFitError(f"{where}: {spec!r} is an equation with '='; write the residual "
                               f"that should vanish instead: '{lhs.strip()} - ({rhs.strip()})'")
        expr = parse(spec, default_symbol(declared), where, "'u_t - k*u_xx'", noun="equation ")
        needs, symbols = [], []
        for sym in sorted(expr.free_symbols, key=lambda s: s.name):
            symbols.append(sym)
            if sym.name in declared:
                if sym.name in self.outputs + self.field_names:
                    needs.append((sym.name, ()))
                continue
            d = self.derivative_symbol(sym.name)
            if d is None:
                raise PinnFitError(
                    f"{where}: symbol '{sym.name}' in {spec!r} is not declared. Declared: inputs "
                    f"{self.inputs}, fields {self.outputs + self.field_names}, unknowns {params}, constants "
                    f"{list(self.constants)}; derivatives are written <field>_<inputs> like "
                    f"{self.outputs[0]}_{self.inputs[0]}. Fix the equation or declare the symbol.")
            needs.append(d)
        if not any(s.name not in params and s.name not in self.constants for s in symbols):
            raise PinnFitError(f"{where}: {spec!r} involves no field or input")
        args = [s.name for s in symbols]
        compiled = compile_torch(expr, args)
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
            r = as_tensor_like(r, next(iter(values.values())))
            out[eq.name] = r
        return out


def _scalar(name, spec) -> Unknown:
    """A scalar unknown; keys only a field takes are refused, naming the key."""
    only = sorted(set(spec) & {"width", "depth", "regularization"})
    if only:
        raise PinnFitError(f"pde.unknowns.{name}.{only[0]}: only an unknown field takes "
                           f"{only[0]}; declare the inputs it varies over with field: [x, ...], "
                           "or drop the key")
    return Unknown(name=name, **spec)


def _field(name, spec) -> FieldUnknown:
    """An unknown field; keys only a scalar takes are refused, naming the key."""
    spec = dict(spec)
    inputs = spec.pop("field")
    other = sorted(set(spec) - {"guess", "transform", "scale", "truth", "width", "depth",
                                "regularization"})
    if other:
        raise PinnFitError(f"pde.unknowns.{name}.{other[0]}: an unknown field does not take "
                           f"{other[0]}; it takes guess, transform (log or identity), scale, "
                           "truth (an expression in its inputs), width, depth and "
                           "regularization")
    if "guess" not in spec:
        raise PinnFitError(f"pde.unknowns.{name}.guess is missing: give the field's guess, "
                           "a constant it starts from")
    return FieldUnknown(name=name, inputs=inputs, **spec)


def _plain(node):
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True) if OmegaConf.is_config(node) else node
