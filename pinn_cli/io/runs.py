"""Tables of runs for `pinn-inspect` and the sweep summary: read every run folder under a path,
keep the config keys that differ between runs, collapse runs that differ only by seed into
mean ± std (the spread across seeds is the first honest error bar), and pivot.

Torch-free: reading folders needs only the CSV/JSON/YAML files a run writes."""
import csv
import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

SEED_KEYS = ("seed", "data.seed")  # runs differing only here are repeats of one setting
IGNORED = ("resume",)  # keys that never define a setting


@dataclass
class Run:
    folder: Path
    config: Dict[str, object]  # flattened composed config
    status: str  # completed | diverged | failed | stalled | interrupted | running | no summary
    unknowns: Dict[str, dict] = field(default_factory=dict)  # name -> estimate, truth, rel_error
    losses: Dict[str, float] = field(default_factory=dict)
    wall: Optional[float] = None
    verdicts: Dict[str, str] = field(default_factory=dict)  # diagnostics, per unknown
    error: Optional[str] = None  # why a run that did not complete stopped


def _flatten(node, prefix="") -> Dict[str, object]:
    out = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, key + ".")
        else:
            out[key] = json.dumps(v) if isinstance(v, list) else v
    return out


RESOLVER = re.compile(r"\$\{[\w.\-]+:")  # `${name:...}`: a resolver call, e.g. oc.env


def _inert(node):
    """The config's plain values with every resolver call escaped to literal text, so that
    reading someone else's run folder never asks this machine for anything (`${oc.env:SECRET}`
    stays as written); plain `${a.b}` references still resolve."""
    if isinstance(node, dict):
        return {k: _inert(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inert(v) for v in node]
    return RESOLVER.sub(lambda m: "\\" + m.group(0), node) if isinstance(node, str) else node


def read_run(folder: Path) -> Run:
    cfg = OmegaConf.create(_inert(OmegaConf.to_container(
        OmegaConf.load(folder / ".hydra" / "config.yaml"), resolve=False)))
    try:
        config = _flatten(OmegaConf.to_container(cfg, resolve=True))
    except Exception:  # an interpolation that cannot resolve outside the run: keep it as text
        config = _flatten(OmegaConf.to_container(cfg, resolve=False))
    path = folder / "summary.json"
    try:
        s = json.loads(path.read_text())
    except (OSError, ValueError):
        return Run(folder, config, "no summary")
    return Run(folder, config, s.get("status", "unknown"), s.get("unknowns") or {},
               s.get("final_losses") or {}, s.get("wall_seconds"),
               (s.get("identifiability") or {}).get("verdicts") or {}, s.get("error"))


def find_runs(path: Path) -> List[Run]:
    """Every run folder (one holding .hydra/config.yaml) at or under `path`, in path order."""
    path = Path(path)
    folders = sorted({p.parent.parent for p in path.rglob(".hydra/config.yaml")})
    return [read_run(f) for f in folders]


def differing_keys(runs: List[Run]) -> List[str]:
    """Config keys whose value is not the same in every run (seed keys included)."""
    keys = sorted({k for r in runs for k in r.config})
    return [k for k in keys if k not in IGNORED and
            len({json.dumps(r.config.get(k), default=str) for r in runs}) > 1]


def _stats(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def table(runs: List[Run]) -> List[Dict[str, object]]:
    """One row per setting: completed runs that differ only by seed collapse into one row with
    mean and std of each unknown's estimate and relative error and the number of seeds; a run
    that did not complete keeps a row of its own, with its status."""
    keys = differing_keys(runs)
    setting_keys = [k for k in keys if k not in SEED_KEYS]
    groups: Dict[tuple, List[Run]] = {}
    rows = []
    for r in runs:
        if r.status == "completed":
            groups.setdefault(tuple(json.dumps(r.config.get(k), default=str)
                                    for k in setting_keys), []).append(r)
        else:
            rows.append(_row(setting_keys, [r]))
    rows += [_row(setting_keys, g) for g in groups.values()]
    order = lambda v: (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) \
        else (1, 0, str(v))
    return sorted(rows, key=lambda r: (r["status"] != "completed",
                                       [order(r.get(k)) for k in setting_keys]))


def _row(keys, group: List[Run]) -> Dict[str, object]:
    first = group[0]
    row = {k: first.config.get(k) for k in keys}
    row["status"] = first.status
    row["seeds"] = len(group)
    for name in sorted({n for r in group for n in r.unknowns}):
        est = _stats([r.unknowns.get(name, {}).get("estimate") for r in group])
        err = _stats([r.unknowns.get(name, {}).get("rel_error") for r in group])
        row[f"{name}"] = est[0]
        row[f"{name}_std"] = est[1]
        row[f"{name}_truth"] = first.unknowns.get(name, {}).get("truth")
        row[f"{name}_rel_error"] = err[0]
        row[f"{name}_rel_error_std"] = err[1]
        said = [r.verdicts[name] for r in group if name in r.verdicts]
        row[f"{name}_identifiable"] = (
            f"{sum(', identifiable' in v for v in said)}/{len(said)}" if said else None)
    for term in sorted({t for r in group for t in r.losses}):
        row[f"loss:{term}"] = _stats([r.losses.get(term) for r in group])[0]
    row["wall_s"] = _stats([r.wall for r in group])[0]
    row["folder"] = " ".join(str(r.folder) for r in group)
    if first.error:
        row["reason"] = first.error
    return row


def pivot(rows: List[Dict[str, object]], row_key: str, col_key: str, unknown: str):
    """{row value: {col value: (mean rel. error, std, seeds)}} over the completed rows."""
    out: Dict[object, Dict[object, tuple]] = {}
    for r in rows:
        if r["status"] != "completed" or r.get(f"{unknown}_rel_error") is None:
            continue
        out.setdefault(r.get(row_key), {})[r.get(col_key)] = (
            r[f"{unknown}_rel_error"], r[f"{unknown}_rel_error_std"], r["seeds"])
    return out


def write_csv(rows: List[Dict[str, object]], target) -> None:
    """The table as CSV to a path or an open text file."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if hasattr(target, "write"):
        w = csv.DictWriter(target, columns)
        w.writeheader()
        w.writerows(rows)
        return
    with open(target, "w", newline="") as f:
        write_csv(rows, f)


# What the last `-m` sweep of this process left undone: (sweep folder, {run folder: status})
# for every run that did not complete; the command exits non-zero when it is not empty.
UNFINISHED: Dict[str, object] = {}


class SweepSummary(Callback):
    """Hydra callback: at the end of every `-m` sweep, summary.csv in the sweep folder, the
    same table as `pinn-inspect SWEEP_FOLDER --csv`, and `UNFINISHED` set to the runs that did
    not complete."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        folder = Path(config.hydra.sweep.dir)
        runs = find_runs(folder)
        if runs:
            write_csv(table(runs), folder / "summary.csv")
        UNFINISHED.clear()
        UNFINISHED.update(folder=str(folder), runs={str(r.folder): r.status for r in runs
                                                     if r.status != "completed"})
