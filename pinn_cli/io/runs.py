"""Tables of runs for `pinn-inspect` and the sweep summary: read every run folder under a path,
keep the config keys that differ between runs, collapse runs that differ only by seed into
mean ± std (the spread across seeds is the first honest error bar), and pivot.

Torch-free: reading folders needs only the CSV/JSON/YAML files a run writes."""
import csv
import errno
import io
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml
from omegaconf import DictConfig, OmegaConf

SEED_KEYS = ("seed", "data.seed")  # runs differing only here are repeats of one setting
IGNORED = ("resume",)  # keys that never define a setting


@dataclass
class Run:
    folder: Path
    config: Dict[str, object]  # flattened composed config
    # completed | diverged | failed | stalled | interrupted | running | no summary, or
    # `unreadable: FILE: why` for a damaged folder
    status: str
    unknowns: Dict[str, dict] = field(default_factory=dict)  # name -> estimate, truth, rel_error
    losses: Dict[str, float] = field(default_factory=dict)
    wall: Optional[float] = None
    verdicts: Dict[str, str] = field(default_factory=dict)  # diagnostics, per unknown
    error: Optional[str] = None  # why a run that did not complete stopped
    # the diagnostics' warnings (not converged, pinned at a bound, ...); None: no diagnostics
    warnings: Optional[List[str]] = None
    readable: bool = True  # False: its config could not be read (status says why)
    fields: Dict[str, dict] = field(default_factory=dict)  # unknown field -> rel_l2 (or None)


def flat(node, prefix="") -> Dict[str, object]:
    """A plain config as {dotted key: value}; an empty mapping stays one key whose value is {}."""
    if isinstance(node, dict) and node:
        return {k: v for key, value in node.items()
                for k, v in flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def _flatten(node) -> Dict[str, object]:
    """flat(node), lists and empty mappings as JSON text (one table cell each)."""
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in flat(node).items()}


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


class Unreadable(Exception):
    """A file or folder of someone else's run that cannot be read as what it should be."""

    def __init__(self, path, why: str):
        super().__init__(f"{path}: {why}")
        self.path, self.why = Path(path), why


def guarded(path: Path, parse):
    """`parse(path)`, with every way a damaged, hostile or unreadable file can fail turned into
    one `Unreadable` that names the file and what is wrong. A missing file stays
    FileNotFoundError (absent is a state, e.g. a run not yet finished, not damage)."""
    path = Path(path)
    try:
        return parse(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise Unreadable(path, f"a symbolic link to a missing file "
                                   f"({os.readlink(path)})") from None
        raise
    except Unreadable:
        raise
    except IsADirectoryError:
        raise Unreadable(path, "a folder where a file belongs") from None
    except OSError as err:  # permission denied, a symbolic link loop, an I/O error
        raise Unreadable(path, err.strerror or str(err)) from None
    except UnicodeDecodeError:
        raise Unreadable(path, "not text (binary data)") from None
    except RecursionError:
        raise Unreadable(path, "nested too deeply") from None
    except json.JSONDecodeError as err:
        raise Unreadable(path, f"invalid JSON ({err})") from None
    except yaml.YAMLError as err:
        raise Unreadable(path, f"invalid YAML ({' '.join(str(err).split())[:200]})") from None
    except Exception as err:  # a parser's complaint: invalid JSON, YAML, CSV, HDF5
        why = " ".join(str(err).split()) or type(err).__name__
        raise Unreadable(path, why[:300]) from None


def _load_config(path: Path) -> Dict[str, object]:
    node = OmegaConf.load(io.StringIO(path.read_text()))  # read here: its own errors, named
    if not isinstance(node, DictConfig):
        raise Unreadable(path, "a YAML list, not a mapping of settings")
    if not node:
        raise Unreadable(path, "empty (no settings)")
    cfg = OmegaConf.create(_inert(OmegaConf.to_container(node, resolve=False)))
    try:
        return _flatten(OmegaConf.to_container(cfg, resolve=True))
    except Exception:  # an interpolation that cannot resolve outside the run: keep it as text
        return _flatten(OmegaConf.to_container(cfg, resolve=False))


def _json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _number(value, where: str, none=True):
    """A finite number from summary.json, or None where null is allowed."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} is {_json_type(value)}, not a number")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{where} is not a finite number ({value})")
    return value


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} is {_json_type(value)}, not an object")
    return value


def _load_summary(path: Path) -> dict:
    """summary.json, checked: every value pinn-inspect uses has the type pinn-fit writes."""
    s = json.loads(path.read_text())
    if not isinstance(s, dict):
        raise ValueError(f"the file holds {_json_type(s)}, not an object")
    if "status" not in s:
        raise ValueError("no status")
    if not isinstance(s["status"], str):
        raise ValueError(f"status is {_json_type(s.get('status'))}, not a string")
    unknowns = {}
    for name, u in _mapping(s.get("unknowns"), "unknowns").items():
        u = _mapping(u, f"unknowns.{name}")
        unknowns[name] = {k: _number(u.get(k), f"unknowns.{name}.{k}")
                          for k in ("estimate", "truth", "rel_error")}
    fields = {name: {"rel_l2": _number(_mapping(f, f"fields.{name}").get("rel_l2"),
                                       f"fields.{name}.rel_l2")}
              for name, f in _mapping(s.get("fields"), "fields").items()}
    losses = {t: _number(v, f"final_losses.{t}")
              for t, v in _mapping(s.get("final_losses"), "final_losses").items()}
    ident = _mapping(s.get("identifiability"), "identifiability")
    verdicts = _mapping(ident.get("verdicts"), "identifiability.verdicts")
    if not all(isinstance(v, str) for v in verdicts.values()):
        raise ValueError("identifiability.verdicts holds a value that is not text")
    warnings = ident.get("warnings")
    if warnings is not None and not (isinstance(warnings, list) and
                                     all(isinstance(w, str) for w in warnings)):
        raise ValueError("identifiability.warnings is not a list of text")
    error = s.get("error")
    return dict(status=s["status"], unknowns=unknowns, losses=losses, verdicts=verdicts,
                wall=_number(s.get("wall_seconds"), "wall_seconds"),
                error=None if error is None else str(error), warnings=warnings,
                fields=fields)


def read_run(folder: Path) -> Run:
    """The run in `folder`; a damaged file makes it a run with status `unreadable: FILE: why`,
    never an exception."""
    folder = Path(folder)
    try:
        config = guarded(folder / ".hydra" / "config.yaml", _load_config)
    except (Unreadable, FileNotFoundError) as err:
        return Run(folder, {}, _unreadable(folder, err), readable=False)
    try:
        s = guarded(folder / "summary.json", _load_summary)
    except FileNotFoundError:
        return Run(folder, config, "no summary")
    except Unreadable as err:
        return Run(folder, config, _unreadable(folder, err))
    return Run(folder, config, s["status"], s["unknowns"], s["losses"], s["wall"],
               s["verdicts"], s["error"], warnings=s["warnings"], fields=s["fields"])


def _unreadable(folder: Path, err) -> str:
    path = Path(getattr(err, "path", None) or err.filename)
    why = getattr(err, "why", None) or err.strerror
    try:
        path = path.relative_to(folder)
    except ValueError:
        pass
    return f"unreadable: {path}: {why}"


def find_runs(path: Path, skipped: Optional[List[str]] = None) -> List[Run]:
    """Every run folder (one holding .hydra/config.yaml) at or under `path`, in path order.
    Symbolic links to folders are not followed; a link that loops is named in `skipped`."""
    path = Path(path)
    folders = set()
    note = skipped.append if skipped is not None else lambda line: None
    for top, dirs, files in os.walk(path, onerror=lambda err: note(
            f"{err.filename}: cannot be listed ({err.strerror}); skipped")):
        top = Path(top)
        if ".hydra" in dirs and os.path.lexists(top / ".hydra" / "config.yaml"):
            folders.add(top)
        for name in files:
            try:
                os.stat(top / name)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    note(f"{top / name}: a symbolic link that loops; skipped")
    return [read_run(f) for f in sorted(folders)]


def differing_keys(runs: List[Run]) -> List[str]:
    """Config keys whose value is not the same in every run (seed keys included)."""
    runs = [r for r in runs if r.readable] or runs  # an unreadable config tells nothing apart
    keys = sorted({k for r in runs for k in r.config})
    return [k for k in keys if k not in IGNORED and
            len({json.dumps(r.config.get(k), default=str) for r in runs}) > 1]


def _stats(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    try:
        mean = statistics.fmean(values)
    except OverflowError:  # values near the largest float: their sum overflows, the mean not
        mean = math.fsum(v / len(values) for v in values)
    try:
        return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)
    except OverflowError:
        return mean, math.inf


def order(value) -> tuple:
    """A sort key for setting values: finite numbers first, by value, then the rest by text."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)
    return (0, value, "") if number else (1, 0, str(value))


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
    for name in sorted({n for r in group for n in r.fields}):  # unknown fields: rel. L2 error
        err = _stats([r.fields.get(name, {}).get("rel_l2") for r in group])
        row |= {name: None, f"{name}_std": None, f"{name}_truth": None,
                f"{name}_rel_error": err[0], f"{name}_rel_error_std": err[1],
                f"{name}_identifiable": None}
    diagnosed = [r for r in group if r.warnings is not None]
    row["warned"] = (f"{sum(bool(r.warnings) for r in diagnosed)}/{len(diagnosed)}"
                     if diagnosed else None)
    for term in sorted({t for r in group for t in r.losses}):
        row[f"loss:{term}"] = _stats([r.losses.get(term) for r in group])[0]
    row["wall_s"] = _stats([r.wall for r in group])[0]
    row["folder"] = " ".join(str(r.folder) for r in group)
    if first.error:
        row["reason"] = first.error
    return row


def pivot(rows: List[Dict[str, object]], row_key: str, col_key: Optional[str], unknown: str):
    """{row value: {col value: (mean rel. error, std, seeds)}} over the completed rows; without
    `col_key`, the one col value is None."""
    out: Dict[object, Dict[object, tuple]] = {}
    for r in rows:
        if r["status"] != "completed" or r.get(f"{unknown}_rel_error") is None:
            continue
        out.setdefault(r.get(row_key), {})[r.get(col_key) if col_key else None] = (
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
