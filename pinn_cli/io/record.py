"""The run folder: CSV logs, summary.json, checkpoint.pt and gradients.h5 (the plots drawn from
them: run_plots.py).

Columns (one row per logged step; `step` counts optimiser updates over all phases):
- params.csv: step, phase, elapsed_s, <unknown>..., then `dL:<term>/d<unknown>` = ∂L_term/∂k
  for every loss term and unknown (physical units).
- losses.csv: step, phase, elapsed_s, total (weighted), then each term's unweighted loss, then
  causal_min (the smallest causal weight) when causal training is on.
- grad_norms.csv: step, phase, then for each term `max:<term>`, `mean:<term>` (max and mean of
  |∇θ L_term| over the network weights θ) and `lambda:<term>` (its current weight λ).
"""
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Dict, List

import torch

from pinn_cli.training.row import Row


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file. A
    write that fails (a full disk) removes its temporary file, freeing what it took."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:  # name the file in the message
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


class RunRecorder:
    """The CSV logs; `offsets` (from a checkpoint) reopens them cut back to that checkpoint, so a
    resumed run appends with no step missing or written twice."""

    def __init__(self, run_dir: Path, unknowns: List[str], terms: List[str],
                 offsets: Dict[str, int] | None = None, extras: List[str] = ()):
        self.dir = Path(run_dir)
        self.extras = list(extras)  # logged values beside the terms, e.g. causal_min
        self.unknowns, self.terms = unknowns, terms
        heads = {
            "params.csv": ["step", "phase", "elapsed_s", *unknowns,
                           *(f"dL:{t}/d{k}" for t in terms for k in unknowns)],
            "losses.csv": ["step", "phase", "elapsed_s", "total", *terms, *self.extras],
            "grad_norms.csv": ["step", "phase", *(f"{s}:{t}" for t in terms
                                                  for s in ("max", "mean", "lambda"))],
        }
        if offsets is None:
            self.files = {name: open(self.dir / name, "w", newline="") for name in heads}
        else:
            self.files = {name: open(self.dir / name, "r+", newline="") for name in heads}
            self.truncate(offsets)
        self.writers = {name: csv.writer(f) for name, f in self.files.items()}
        if offsets is None:
            for name, head in heads.items():
                self.writers[name].writerow(head)

    def offsets(self) -> Dict[str, int]:
        """Each log's length in bytes, everything written so far flushed to disk."""
        for f in self.files.values():
            f.flush()
            os.fsync(f.fileno())
        return {name: f.tell() for name, f in self.files.items()}

    def truncate(self, offsets: Dict[str, int]) -> None:
        """Cut each log back to `offsets` and write on from there."""
        for name, f in self.files.items():
            f.flush()
            f.truncate(offsets[name])
            f.seek(offsets[name])

    def row(self, r: Row) -> None:
        base = [r.step, r.phase, f"{r.elapsed:.3f}"]
        self.writers["params.csv"].writerow(
            base + [_g(r.unknowns[k]) for k in self.unknowns]
            + [_g(r.dL_dk[t][k]) for t in self.terms for k in self.unknowns])
        self.writers["losses.csv"].writerow(
            base + [_g(r.total)] + [_g(r.losses[t]) for t in self.terms]
            + [_g(r.extra.get(e, float("nan"))) for e in self.extras])
        self.writers["grad_norms.csv"].writerow(
            base[:2] + [_g(v) for t in self.terms
                        for v in (r.grad_max[t], r.grad_mean[t], r.lambdas[t])])
        for f in self.files.values():
            f.flush()

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def gradients(self, step: int, phase: str, grads: Dict[str, Dict[str, object]]) -> None:
        """Append ∇θ L_term per parameter at `step` to gradients.h5 (group `<step>`, attribute
        phase, datasets `<term>/<parameter>`, float32); a step written before is replaced."""
        import h5py
        import numpy as np

        with h5py.File(self.dir / "gradients.h5", "a") as f:
            name = str(step)
            if name in f:
                del f[name]
            g = f.create_group(name)
            g.attrs["phase"] = phase
            g.attrs["parameters"] = list(next(iter(grads.values()), {}))  # network order
            for term, params in grads.items():
                for pname, arr in params.items():
                    g[f"{term}/{pname}"] = np.asarray(arr, dtype=np.float32)

    def summary(self, data: Dict) -> None:
        atomic_write(self.dir / "summary.json",
                     lambda p: p.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n"))

    def checkpoint(self, state: Dict) -> None:
        buffer = io.BytesIO()  # serialised first: a full disk is then a plain OSError
        torch.save(state, buffer)
        atomic_write(self.dir / "checkpoint.pt", lambda p: p.write_bytes(buffer.getbuffer()))


def _g(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else str(float(v))


def read_csv(path: Path) -> Dict[str, list]:
    """Columns of a run-folder CSV; numeric columns as floats ({} for a log with no rows yet).
    A file that is not such a log (no header, a row of another length, a cell that is not a
    number) raises ValueError saying where."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        head = next(reader, None)
        if not head:
            raise ValueError("empty: no header row")
        rows = list(reader)
    if "step" not in head:
        raise ValueError(f"no 'step' column (header: {','.join(head)[:120]})")
    cols = {k: [] for k in head}
    for i, row in enumerate(rows, start=2):
        if len(row) != len(head):
            raise ValueError(f"line {i} has {len(row)} cells, the header {len(head)}")
        for k, x in zip(head, row):
            if k != "phase":
                try:
                    x = float(x)
                except ValueError:
                    raise ValueError(f"line {i}, column {k}: {x[:40]!r} is not a number") from None
            cols[k].append(x)
    return cols if rows else {}
