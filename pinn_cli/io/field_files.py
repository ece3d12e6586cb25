"""The recovered unknown fields in the run folder: `fields/<name>.h5` (the field on a grid over
its inputs, with the truth where known), `fields/<name>.png`, and their summary: the relative
L2 error against the truth and where the data constrain the field (its sensitivity,
pinn_cli.diagnostics.field_trust)."""
import logging
from pathlib import Path
from typing import Dict

import h5py
import numpy as np
import torch

from pinn_cli.errors import PinnFitError
from pinn_cli.io.record import atomic_write
from pinn_cli.problem.fields import expression_function

log = logging.getLogger("pinn-fit")

GRID = {1: 201, 2: 101}  # grid points per input by the field's number of inputs (else 31)


def field_grid(problem, field):
    """(axes by input, points (M, n_inputs of the problem)): the grid over the field's inputs,
    the other inputs at their domain's centre (the field does not depend on them)."""
    n = GRID.get(len(field.inputs), 31)
    axes = {i: np.linspace(*problem.domain[i], n) for i in field.inputs}
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    x = np.tile([sum(problem.domain[i]) / 2 for i in problem.inputs], (mesh[0].size, 1))
    for name, m in zip(field.inputs, mesh):
        x[:, problem.inputs.index(name)] = m.ravel()
    return axes, x


def field_truth(field, data_file: str):
    """The field's truth as an expression: the data file's attribute of its name (pinn-data
    writes it), else the declaration's `truth`; None if neither."""
    try:
        with h5py.File(data_file, "r") as h5:
            value = h5.attrs.get(field.name)
    except OSError:
        value = None
    if isinstance(value, bytes):
        value = value.decode()
    return value if isinstance(value, str) else field.truth


@torch.no_grad()
def write_fields(run_dir: Path, problem, fields, data_file: str, trust=None,
                 plots: bool = True) -> Dict[str, dict]:
    """Write each unknown field of `problem` (values from `fields`, the FieldNets) and return
    summary.json's `fields` block; `trust`: per field, pinn_cli.diagnostics.field_trust's
    sensitivity on the same grid, written beside the values."""
    out = {}
    folder = Path(run_dir) / "fields"
    folder.mkdir(exist_ok=True)
    ref = next(fields.parameters())
    for j, f in enumerate(problem.fields):
        axes, x = field_grid(problem, f)
        shape = tuple(len(a) for a in axes.values())
        value = fields(torch.as_tensor(x, dtype=ref.dtype, device=ref.device))[:, j]
        value = value.double().cpu().numpy().reshape(shape)
        entry = {"inputs": f.inputs, "file": f"fields/{f.name}.h5",
                 "min": float(value.min()), "max": float(value.max()), "truth": None,
                 "rel_l2": None}
        datasets = dict(axes) | {"value": value}
        expr = field_truth(f, data_file)
        if expr is not None:
            try:
                truth = expression_function(expr, f.inputs, f"the truth of field '{f.name}'")(
                    *np.meshgrid(*axes.values(), indexing="ij"))
            except PinnFitError as err:
                log.warning("%s: not scored", err)
            else:
                datasets["truth"] = truth
                entry |= {"truth": expr, "rel_l2": float(np.linalg.norm(value - truth)
                                                         / max(np.linalg.norm(truth), 1e-300))}
        if trust is not None and f.name in trust:
            datasets["sensitivity"] = trust[f.name]["map"].reshape(shape)
            entry |= {k: v for k, v in trust[f.name].items() if k != "map"}
        _write(folder / f"{f.name}.h5", datasets, {"inputs": ",".join(f.inputs),
                                                   "transform": f.transform,
                                                   "truth": expr or ""})
        if plots:
            _plot(folder / f"{f.name}.png", f, axes, datasets)
        out[f.name] = entry
        err = f", relative L2 error {100 * entry['rel_l2']:.2f} % against {expr}" \
            if entry["rel_l2"] is not None else ""
        log.info("field %s(%s): %.4g to %.4g%s (%s)", f.name, ",".join(f.inputs),
                 entry["min"], entry["max"], err, entry["file"])
    return out


def _write(path: Path, datasets, attrs) -> None:
    def write(tmp):
        with h5py.File(tmp, "w") as h5:
            for k, v in datasets.items():
                h5[k] = np.asarray(v, dtype=np.float64)
            h5.attrs.update(attrs)

    atomic_write(path, write)


def _plot(path: Path, field, axes, data) -> None:
    """1-D: the field and its truth over the input, the sensitivity below; 2-D: field, truth,
    error and sensitivity as images. Nothing for three or more inputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(axes)
    if len(names) == 1:
        a = axes[names[0]]
        fig, (top, low) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
        top.plot(a, data["value"], label="recovered")
        if "truth" in data:
            top.plot(a, data["truth"], "k--", lw=1, label="truth")
        top.set_ylabel(field.name)
        top.legend(fontsize=8)
        top.set_title(f"unknown field {field.name}({names[0]})", fontsize=9)
        if "sensitivity" in data:
            low.semilogy(a, np.maximum(data["sensitivity"], 1e-300))
            low.set_ylabel("sensitivity")
            low.set_title("how strongly the equations see the field (relative)", fontsize=9)
        low.set_xlabel(names[0])
    elif len(names) == 2:
        panels = [("recovered", data["value"])] + \
            ([("truth", data["truth"]), ("error", data["value"] - data["truth"])]
             if "truth" in data else []) + \
            ([("sensitivity", data["sensitivity"])] if "sensitivity" in data else [])
        fig, axs = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6), squeeze=False)
        extent = [*axes[names[0]][[0, -1]], *axes[names[1]][[0, -1]]]
        for ax, (title, img) in zip(axs[0], panels):
            im = ax.imshow(np.asarray(img).T, origin="lower", extent=extent, aspect="auto")
            fig.colorbar(im, ax=ax)
            ax.set_title(f"{field.name}: {title}", fontsize=9)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
    else:
        return
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
