"""The variable-diffusivity solver against the exact series and under refinement."""
import numpy as np
import pytest

from pinn_cli.solvers import diffusion1d_field, heat1d_series, poisson2d_field

X, T = np.linspace(0, 1, 51), np.linspace(0, 0.5, 26)


def test_constant_diffusivity_matches_the_sine_series():
    u = diffusion1d_field(X, T, lambda x: 0.1 + 0 * x, modes=[[1, 1.0], [3, 0.5]])
    np.testing.assert_allclose(u, heat1d_series(X, T, 0.1), atol=1e-5)


def test_varying_diffusivity_converges_under_refinement():
    D = lambda x: 0.1 * (1 + 0.5 * np.tanh((x - 0.5) / 0.1))
    coarse, fine, finer = (diffusion1d_field(X, T, D, cells=c, substeps=s)
                           for c, s in [(200, 5), (400, 10), (800, 20)])
    e1, e2 = np.abs(coarse - finer).max(), np.abs(fine - finer).max()
    assert e2 < 1e-4 and e1 / e2 > 3  # second order: about 4x per halving
    # the flux is continuous: where D is larger the profile is flatter, so it is not the
    # constant-D solution of the mean diffusivity
    assert np.abs(finer - heat1d_series(X, T, 0.1, modes=[[1, 1.0], [2, 0.5]])).max() > 1e-2


def test_bad_diffusivity_is_refused():
    with pytest.raises(ValueError, match="> 0"):
        diffusion1d_field(X, T, lambda x: x - 0.5)


def test_poisson_with_constant_coefficient_matches_the_exact_solution():
    x = np.linspace(0, 1, 26)
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = poisson2d_field(x, x, lambda x, y: 2.0 + 0 * x, "4*pi**2*sin(pi*x)*sin(pi*y)")
    np.testing.assert_allclose(u, np.sin(np.pi * X) * np.sin(np.pi * Y), atol=5e-5)


def test_poisson_with_varying_coefficient_converges_under_refinement():
    x = np.linspace(0, 1, 21)
    a = lambda x, y: 1 / (1 + x**2 + y**2 + (x - 1)**2 + (y - 1)**2)
    coarse, fine, finer = (poisson2d_field(x, x, a, "sin(pi*x)*sin(pi*y)", fine=n)
                           for n in (40, 80, 160))
    e1, e2 = np.abs(coarse - finer).max(), np.abs(fine - finer).max()
    assert e2 < 1e-3 * np.abs(finer).max() and e1 / e2 > 3
    assert poisson2d_field(x, x, a, 1.0).shape == (21, 21)
    with pytest.raises(ValueError, match="> 0"):
        poisson2d_field(x, x, lambda x, y: x - 0.5)
