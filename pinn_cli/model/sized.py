"""The default network (`arch=sized`): its kind and size chosen from what it must represent.

A problem whose network sees at most two inputs, or that has one field, gets the plain MLP
20 × 8 (heat1d, burgers1d, convection, the ODEs). One with two or more fields over three or more
network inputs (a 2-D flow in x, y, t; the periodic embedding counts cos and sin of an input as
two) gets the modified MLP 50 × 4 of Wang, Teng & Perdikaris (2021). On the periodic 2-D flows
the MLP 20 × 8 left ν 2 % (Burgers) and 23 % (Navier–Stokes) off where the modified MLP reached
0.07 % and 0.14 %; on burgers1d (L-BFGS recipe) and convection the modified MLP failed where the
MLP succeeds (docs/remedies.md, The default network).
"""
import logging

from pinn_cli.model.nets import MLP, ModifiedMLP

log = logging.getLogger("pinn-fit")

SMALL = (MLP, 20, 8)  # class, width, depth
LARGE = (ModifiedMLP, 50, 4)
LARGE_FROM = (3, 2)  # network inputs, fields


def sized(domain, out_shift, out_scale, width=None, depth=None, activation="tanh"):
    """The MLP or the modified MLP by the rule above; `width` and `depth`, where given, replace
    the chosen network's own."""
    n_in, n_out = len(domain), len(out_shift)
    cls, w, d = LARGE if n_in >= LARGE_FROM[0] and n_out >= LARGE_FROM[1] else SMALL
    width, depth = width or w, depth or d
    log.info("arch=sized: %s %dx%d for %d network inputs and %d fields", cls.__name__, width,
             depth, n_in, n_out)
    return cls(domain, out_shift, out_scale, width=width, depth=depth, activation=activation)
