"""report.html of a sweep folder (`pinn-inspect SWEEP --report`): the table pinn-inspect
prints, each unknown's relative error against each swept setting, a link to every job's own
report.html, and the jobs that did not complete with their reason. Self-contained and escaped
as a run's report.html (pinn_cli.io.html)."""
import math
import os
from pathlib import Path
from typing import Dict, List

import yaml

from pinn_cli.io.html import Raw, e, link, png, table, write_page
from pinn_cli.io.runs import IGNORED, SEED_KEYS, Run, Unreadable, guarded, order


def _overrides(path: Path) -> Dict[str, object]:
    """.hydra/overrides.yaml as {key: value}: `+key=1e-3` as {'key': 0.001}."""
    items = yaml.safe_load(Path(path).read_text()) or []
    if not isinstance(items, list):
        raise ValueError("not a list of overrides")
    out = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        if not sep:
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        out[key.lstrip("+~")] = value if isinstance(value, (int, float, str, bool)) else text
    return out


def swept(runs: List[Run]) -> Dict[str, Dict[Path, object]]:
    """{key: {run folder: value}} for every key of the runs' overrides whose value is not the
    same in every run (a run whose overrides cannot be read has none)."""
    values: Dict[Path, Dict[str, object]] = {}
    for r in runs:
        try:
            values[r.folder] = guarded(r.folder / ".hydra" / "overrides.yaml", _overrides)
        except (Unreadable, FileNotFoundError):
            values[r.folder] = {}
    keys = dict.fromkeys(k for v in values.values() for k in v
                         if k not in IGNORED and not k.startswith("hydra."))
    return {k: {f: v.get(k) for f, v in values.items()} for k in keys
            if len({repr(v.get(k)) for v in values.values()}) > 1}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _spans_decade(values) -> bool:
    values = list(values)
    return bool(values) and all(_is_number(v) and v > 0 for v in values) and \
        max(values) >= 10 * min(values)


def _curves(runs, settings, key, name):
    """{label of the other settings: {value of key: [rel. errors over seeds]}}."""
    others = [k for k in settings if k != key]
    curves: Dict[str, Dict[object, List[float]]] = {}
    for r in runs:
        err = r.unknowns.get(name, {}).get("rel_error")
        if r.status != "completed" or err is None:
            continue
        label = ", ".join(f"{k}={settings[k][r.folder]}" for k in others) or "all runs"
        curves.setdefault(label, {}).setdefault(settings[key][r.folder], []).append(100 * err)
    return curves


def _plot(plt, runs, settings, key, names) -> str:
    """Each unknown's relative error against `key`: a line per value of the other settings,
    the mean over seeds with a band from the smallest to the largest."""
    fig, axes = plt.subplots(len(names), 1, figsize=(6.5, 3.2 * len(names)), squeeze=False)
    all_curves = {name: _curves(runs, settings, key, name) for name in names}
    xs = sorted({v for c in all_curves.values() for p in c.values() for v in p}, key=order)
    numeric = all(_is_number(v) for v in xs)
    where = (lambda v: v) if numeric else (lambda v: xs.index(v))
    for ax, name in zip(axes[:, 0], names):
        curves = all_curves[name]
        errors = []
        for label, points in sorted(curves.items()):
            at = sorted(points, key=order)
            mean = [sum(points[v]) / len(points[v]) for v in at]
            line, = ax.plot([where(v) for v in at], mean, "o-", ms=4, label=label)
            if any(len(points[v]) > 1 for v in at):
                ax.fill_between([where(v) for v in at], [min(points[v]) for v in at],
                                [max(points[v]) for v in at], color=line.get_color(), alpha=0.2)
            errors += [x for v in at for x in points[v]]
        if numeric and _spans_decade(xs):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        if _spans_decade(errors):
            ax.set_yscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(f"{name} rel. error (%)")
        ax.set_title(f"{name}: relative error against {key}"
                     + (" (mean, band: min to max over seeds)" if any(
                         len(p) > 1 for c in curves.values() for p in c.values()) else ""),
                     fontsize=10)
        if len(curves) > 1:
            ax.legend(fontsize=8)
    return png(fig, alt=f"relative error against {key}")


def _plots(runs, settings) -> str:
    names = sorted({n for r in runs if r.status == "completed"
                    for n, u in r.unknowns.items() if u.get("rel_error") is not None})
    if not names:
        return "<p>No completed job has a truth to compare with: no errors to plot.</p>"
    if not settings:
        return "<p>The jobs' overrides do not differ: no swept setting to plot against.</p>"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {k: v for k, v in settings.items() if k not in SEED_KEYS}
    if not shown:  # only seeds vary: the error against each seed
        return "".join(_plot(plt, runs, {k: settings[k]}, k, names) for k in settings)
    return "".join(_plot(plt, runs, shown, k, names) for k in shown)


def _jobs(folder, runs, settings) -> str:
    names = sorted({n for r in runs for n in r.unknowns})
    rows = []
    for r in runs:
        rel = os.path.relpath(r.folder, folder)
        page = r.folder / "report.html"
        job = link(Path(rel, "report.html").as_posix(), rel) if page.is_file() else \
            Raw(f"{e(rel)} (no report.html)")
        errors = [r.unknowns.get(n, {}).get("rel_error") for n in names]
        rows.append([job, r.status, *(settings[k][r.folder] for k in settings),
                     *(f"{100 * x:.3g} %" if x is not None else "-" for x in errors)])
    return table(["job", "status", *settings, *(f"{n} rel. error" for n in names)], rows)


def _failed(folder, runs) -> str:
    failed = [r for r in runs if r.status != "completed"]
    if not failed:
        return "<p>None: every job completed.</p>"
    why = lambda r: r.error or {"no summary": "no summary.json: the job stopped before its "
                                              "end or is still running"}.get(r.status, "")
    return table(("job", "status", "reason"),
                 [(os.path.relpath(r.folder, folder), r.status, why(r)) for r in failed])


def write_sweep_report(folder, runs: List[Run], printed: str) -> Path:
    """report.html in the sweep `folder` from its `runs`; `printed` is the table pinn-inspect
    printed for them, shown as it is (escaped)."""
    folder = Path(folder)
    settings = swept(runs)
    done = sum(r.status == "completed" for r in runs)
    intro = (f"<p>Folder: <code>{e(folder)}</code>; {len(runs)} jobs, {done} completed. "
             "Swept: " + (e(", ".join(settings)) or "nothing") + ".</p>")
    sections = [
        ("Table", f"<pre>{e(printed.rstrip())}</pre>"),
        ("Errors against the swept settings", _plots(runs, settings)),
        ("Jobs", _jobs(folder, runs, settings)),
        ("Jobs that did not complete", _failed(folder, runs)),
    ]
    return write_page(folder / "report.html", f"pinn-fit sweep {folder.name}", intro, sections)
