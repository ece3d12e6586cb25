"""Equation strings are parsed, never evaluated: what a planted string could run, it does not."""
import pytest
import sympy

from pinn_cli.errors import PinnFitError
from pinn_cli.problem.expressions import default_symbol, parse
from pinn_cli.problem.problem import Problem

HEAT = dict(name="heat", inputs={"x": [0, 1], "t": [0, 1]}, outputs=["u"],
            unknowns={"k": {"guess": 0.5}})


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch {m}') + u_t - k*u_xx",
    "u_t - k*u_xx + (lambda: open('{m}', 'w'))()",
    "u_t - k*u_xx + [open('{m}', 'w') for _ in '1'][0]",
    "u_t.__class__.__init__.__globals__['os'].system('touch {m}')",
    "u_t - k*u_xx + exp(open('{m}', 'w'))",
    "sin.__call__(u) + u_t",
])
def test_a_planted_equation_string_is_refused_and_runs_nothing(tmp_path, payload):
    marker = tmp_path / "marker"
    spec = dict(HEAT, residuals={"heat": payload.format(m=marker)})
    with pytest.raises(PinnFitError, match="pde.residuals.heat"):
        Problem(**spec)
    assert not marker.exists()


def test_a_planted_hard_transform_is_refused(tmp_path):
    marker = tmp_path / "marker"
    spec = dict(HEAT, residuals={"heat": "u_t - k*u_xx"},
                hard={"u": f"__import__('os').system('touch {marker}') * N"})
    with pytest.raises(PinnFitError, match="pde.hard.u"):
        Problem(**spec)
    assert not marker.exists()


def test_parsed_expressions_equal_sympys_own_reading():
    text = "u_t + lambda1*u*u_x - nu*u_xx + 0.5*sin(pi*x)**2 - exp(-t)/3 + sqrt(abs(u))"
    names = ["u_t", "lambda1", "u", "u_x", "nu", "u_xx", "x", "t"]
    ours = parse(text, default_symbol(names), "pde.residuals.r", "'u_t'")
    theirs = sympy.sympify(text, locals={n: sympy.Symbol(n) for n in names})
    assert sympy.simplify(ours - theirs) == 0


@pytest.mark.parametrize("text,message", [
    ("u_t - k^2*u_xx", "write powers as \\*\\*"),
    ("u_t - k*u_xx if u else 0", "is not allowed"),
    ("u_t - 'k'", "the literal 'k'"),
    ("u_t - sin(u, x)", "one argument"),
])
def test_constructs_outside_the_grammar_get_one_message(text, message):
    with pytest.raises(PinnFitError, match=message):
        Problem(**dict(HEAT, residuals={"heat": text}))


def test_numeric_parts_of_an_equation_compile_to_numbers():
    """sqrt(6), sin(2) and pi inside an equation are numbers, which torch's functions refuse."""
    import math

    import torch

    from pinn_cli.problem.expressions import compile_torch

    expr = parse("(1 + exp(sqrt(r/(6*D))*(x - 3)))**(-2) + sin(2)*x + pi",
                 default_symbol(["x", "r", "D"]), "pde.conditions.initial", "'u'")
    x = torch.linspace(0, 10, 5, dtype=torch.float64)
    got = compile_torch(expr, ["x", "r", "D"])(x, torch.tensor(1.0, dtype=torch.float64),
                                                 torch.tensor(0.1, dtype=torch.float64))
    want = [(1 + math.exp(math.sqrt(1 / 0.6) * (v - 3))) ** -2 + math.sin(2) * v + math.pi
            for v in x.tolist()]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), rtol=1e-13)
