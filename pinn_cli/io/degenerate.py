"""Observations that cannot identify anything, refused before training with one message each:
fewer values than unknowns (or a single point), a constant field, a field whose values lie below
what floats resolve, an input along which the points do not spread.

The thresholds are scale-free where they can be: values count as equal when their spread
(max - min) is at most SPREAD times their largest magnitude. The one absolute threshold is TINY:
a field whose largest magnitude is below it lives where 32-bit floats underflow (their smallest
normal number is 1.2e-38, and the losses square the values), so the data must be rescaled."""
import math
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from pinn_cli.errors import PinnFitError

SPREAD = 1e-12  # relative spread at or below which values count as all equal
TINY = 1e-30  # largest |value| of a field (or spread of an input) below which data is rescaled


@dataclass
class Source:
    """Where the checked points come from, for the messages: the whole file, or a draw of
    data.n_obs of its points."""
    file: str
    datasets: dict  # output name -> its data.fields entry
    n_file: int  # points in the file
    n_obs: int = None  # points drawn (data.n_obs); None: the checked points are the file's
    seed: int = 0

    def __str__(self):
        if self.n_obs is None:
            return f"'{self.file}'"
        return f"the {self.n_obs} points drawn from '{self.file}' (data.n_obs={self.n_obs}, " \
               f"data.seed={self.seed})"

    @property
    def more(self):
        """How to get more or other points."""
        if self.n_obs is None:
            return "give a file with more points"
        return f"draw more points (data.n_obs, up to {self.n_file}) or others (data.seed)"


def check_observations(x: np.ndarray, y: np.ndarray, inputs: Sequence[str], fields: List[str],
                       unknowns: Sequence[str], source: Source):
    """Refuse points x (N, inputs) with values y (N, fields) that cannot identify `unknowns`."""
    n = len(x)
    if n < 2:
        fix = f"use data.n_obs=2 or more (hundreds are usual), or data.n_obs=null for all " \
              f"{source.n_file} points" if source.n_obs is not None else \
              "give a file with more points"
        raise PinnFitError(f"data: only {n} observation in {source}: one point identifies no "
                           f"field and no unknown; {fix}")
    values = n * len(fields)
    if values < len(unknowns):
        need = math.ceil(len(unknowns) / len(fields))
        fix = f"use data.n_obs={need} or more" if source.n_obs is not None else source.more
        raise PinnFitError(f"data: {n} observations of {len(fields)} field(s) in {source} give "
                           f"{values} values for the {len(unknowns)} unknowns {list(unknowns)}: "
                           f"fewer values than unknowns cannot determine them; {fix}")
    for j, name in enumerate(inputs):
        _check_input(x[:, j], name, source)
    for j, f in enumerate(fields):
        _check_field(y[:, j], f, source)


def _spread(v):
    lo, hi = float(v.min()), float(v.max())
    return hi - lo, max(abs(lo), abs(hi))


def _decades(size) -> str:
    """The power of ten that brings `size` to order 1, as 1e+NN."""
    return f"1e{round(-math.log10(size)):+d}"


def _check_input(v, name, source):
    spread, size = _spread(v)
    if spread == 0:
        raise PinnFitError(
            f"data.coords.{name}: all {len(v)} points of {source} have {name} = {v[0]:g}: they "
            f"say nothing about how the fields vary with {name}; observe at several values of "
            f"{name} ({source.more})")
    if spread <= SPREAD * size or spread < TINY:
        raise PinnFitError(
            f"data.coords.{name}: the points of {source} span {name} by only {spread:.3g} "
            f"(around {v.mean():.6g}; the limit is {SPREAD:g} of its magnitude, and {TINY:g}), "
            f"below what floats resolve; rescale the data: measure {name} from {v.min():.6g} in "
            f"a unit {_decades(spread)} times smaller (multiply the shifted values by "
            f"{_decades(spread)}), so its range is of order 1, and set pde.inputs.{name} and the "
            "equation to match")


def _check_field(v, f, source):
    spread, size = _spread(v)
    where = f"data.fields.{f}: {source.datasets.get(f, f)!r} in {source}"
    if spread <= SPREAD * size:
        level = f"all {len(v)} values equal {v[0]:g}" if spread == 0 else \
            f"its values vary by only {spread:.3g} around {v.mean():.6g}, at most " \
            f"{SPREAD:g} of their magnitude"
        fix = f"map data.fields.{f} to a field that varies" if source.n_obs is None else \
            source.more
        raise PinnFitError(f"{where} is constant ({level}): nothing can be fitted to a constant "
                           f"field; {fix}")
    if size < TINY:
        raise PinnFitError(
            f"{where}: its largest |{f}| is {size:.3g}, below {TINY:g}, where 32-bit floats "
            f"lose precision (they underflow below 1.2e-38, and the losses square the values); "
            f"rescale the data: express {f} in a unit {_decades(size)} times smaller (multiply "
            f"the dataset by {_decades(size)}), and state the equation and the unknowns' guesses "
            "in that unit")
