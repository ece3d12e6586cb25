"""What a run folder says, as one object for Python callers (api.fit, api.inspect): read from
summary.json and params.csv through the same guarded readers as pinn-inspect, so a damaged or
hostile folder gives one message and runs nothing."""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.record import read_csv
from pinn_cli.io.runs import Unreadable, guarded, read_run


@dataclass(frozen=True)
class Result:
    """One run: `estimates`, `truth` and relative `errors` per unknown (None where the truth
    is unknown); `verdicts` (the identifiability line per unknown), `intervals` (95 %, lo and
    hi) and `warnings` from the diagnostics; `losses` at the end per term; `trajectories`: the
    columns of params.csv as arrays (step, elapsed_s, each unknown, dL:term/dunknown; not
    compared by ==); `report`: the folder's report.html, if any; `field_errors`: each unknown
    field's relative L2 error, and `field(name)` its values on the grid (fields/NAME.h5)."""
    folder: Path
    status: str
    estimates: Dict[str, float]
    truth: Dict[str, Optional[float]]
    errors: Dict[str, Optional[float]]
    losses: Dict[str, float]
    verdicts: Dict[str, str] = field(default_factory=dict)
    intervals: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    trajectories: Dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    # unknown fields: name -> relative L2 error against the truth (None: no truth)
    field_errors: Dict[str, Optional[float]] = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def report(self) -> Optional[Path]:
        """The run's report.html (runs with plots=true), or None where the folder has none."""
        path = self.folder / "report.html"
        return path if path.is_file() else None

    def field(self, name: str) -> Dict[str, np.ndarray]:
        """The unknown field `name` as the run wrote it: the grid axes by input, `value`, and
        `truth` and `sensitivity` where written (fields/NAME.h5)."""
        import h5py

        path = self.folder / "fields" / f"{name}.h5"
        if name not in self.field_errors or not path.is_file():
            raise PinnFitError(f"{self.folder} holds no unknown field {name!r}; its fields: "
                               f"{sorted(self.field_errors) or 'none'}")
        with h5py.File(path, "r") as h5:
            return {k: np.asarray(h5[k]) for k in h5}

    def to_frame(self):
        """The trajectories as a pandas DataFrame (pandas is not a dependency of pinn-fit)."""
        try:
            import pandas
        except ImportError:
            raise PinnFitError("Result.to_frame needs pandas (pip install pandas); the same "
                               "columns are in Result.trajectories as numpy arrays") from None
        return pandas.DataFrame(self.trajectories)

    def __str__(self) -> str:
        lines = [f"{self.status}: {self.folder}"]
        for name, value in self.estimates.items():
            err = self.errors.get(name)
            lines.append(f"  {name} = {value:.6g}" + (
                f" (truth {self.truth[name]:.6g}, error {100 * err:.3g} %)" if err is not None
                else ""))
        lines += [f"  field {name}: " + ("no truth to score against" if err is None else
                                         f"relative L2 error {100 * err:.3g} %")
                  for name, err in self.field_errors.items()]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


def _diagnostics(path: Path) -> dict:
    s = json.loads(path.read_text())
    ident = s.get("identifiability") if isinstance(s, dict) else None
    return ident if isinstance(ident, dict) else {}


def _interval(entry) -> Optional[Tuple[float, float]]:
    pair = entry.get("interval95") if isinstance(entry, dict) else None
    if isinstance(pair, list) and len(pair) == 2 and \
            all(isinstance(v, (int, float)) for v in pair):
        return float(pair[0]), float(pair[1])
    return None


def read_result(folder: Path) -> Result:
    """The Result of the run in `folder` (its absolute path); PinnFitError when it is not a
    readable run folder."""
    folder = Path(folder).resolve()
    if not (folder / ".hydra").is_dir():
        raise PinnFitError(f"{folder} is not a pinn-fit run folder (no .hydra/ in it); pass the "
                           "folder a run printed at its end, e.g. outputs/DATE/TIME")
    run = read_run(folder)
    if not run.readable or run.status.startswith("unreadable") or run.status == "no summary":
        raise PinnFitError(f"{folder}: {run.status}; nothing to read back")
    ident = guarded(folder / "summary.json", _diagnostics)
    try:
        trajectories = {k: np.asarray(v) if k == "phase" else np.asarray(v, dtype=float)
                        for k, v in guarded(folder / "params.csv", read_csv).items()}
    except FileNotFoundError:
        trajectories = {}
    except Unreadable as err:
        raise PinnFitError(f"{err}; the run's trajectories cannot be read") from None
    given = ident.get("intervals")
    intervals = {k: i for k, i in ((k, _interval(e)) for k, e in
                                    (given.items() if isinstance(given, dict) else ()))
                 if i is not None}
    given = ident.get("warnings")
    warnings = [w for w in given if isinstance(w, str)] if isinstance(given, list) else []
    return Result(
        folder=folder, status=run.status,
        estimates={k: u["estimate"] for k, u in run.unknowns.items()},
        truth={k: u["truth"] for k, u in run.unknowns.items()},
        errors={k: u["rel_error"] for k, u in run.unknowns.items()},
        losses=dict(run.losses), verdicts=dict(run.verdicts), intervals=intervals,
        warnings=warnings, trajectories=trajectories, error=run.error,
        field_errors={k: f["rel_l2"] for k, f in run.fields.items()})
