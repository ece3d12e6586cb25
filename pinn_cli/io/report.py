"""report.html: one self-contained page that shows a run folder at a glance.

The page holds the problem and its equations, where the observations are, each unknown's
trajectory with its truth and 95 % interval, the losses, the loss weights, the identifiability
verdicts and warnings, and the files of the folder. Pictures are embedded as base64 PNG; the
page loads nothing from elsewhere and runs no script. Every text read from the folder is
HTML-escaped."""
import json
import math
from pathlib import Path

import yaml

from pinn_cli.io.html import e, num, png, png_file, table, write_page
from pinn_cli.io.record import read_csv
from pinn_cli.io.runs import Unreadable, guarded

FILES = {
    ".hydra": "Hydra's record: the composed configuration, the overrides and Hydra's settings",
    "pinn-fit.log": "the console log, with timestamps",
    "run.lock": "the PID and host of the process working in the folder",
    "params.csv": "the unknowns' trajectory and the pull of each loss term on each unknown",
    "losses.csv": "the weighted total and each term's unweighted loss",
    "grad_norms.csv": "per-term gradient sizes over the network's weights and each weight λ",
    "gradients.h5": "every term's gradient for every network parameter at each phase end",
    "checkpoint.pt": "everything needed to continue the run (pinn-fit resume=FOLDER)",
    "summary.json": "status, estimates, errors, losses, weights, verdicts, timing",
    "params.png": "the unknowns' trajectory with the truth and the phase boundaries",
    "losses.png": "each term's loss over the steps",
    "grad_norms.png": "per-term gradient sizes and loss weights over the steps",
    "identifiability.json": "the classical fit, the Cramér–Rao bound, warnings and verdicts",
    "sensitivity.png": "|k ∂u/∂k| at each observation",
    "profile.png": "each unknown's profile and its 95 % interval",
    "fields": "each unknown field on a grid (NAME.h5) and its picture (NAME.png)",
    "grad_hist.png": "each loss term's gradient histogram at each phase end, a panel per term",
    "report.html": "this page",
}


def _read(path, parse):
    """What `parse` makes of `path`, or None for a missing or damaged file."""
    try:
        return guarded(path, parse)
    except (Unreadable, FileNotFoundError):
        return None


def _json(path):
    return json.loads(Path(path).read_text())


def _yaml(path):
    return yaml.safe_load(Path(path).read_text())


def _listed(v) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def _where(at) -> str:
    """A condition's place: {'x': 0.0} as x = 0.0."""
    if isinstance(at, dict):
        return ", ".join(f"{k} = {v}" for k, v in at.items())
    return str(at)


def _problem(pde) -> str:
    if not isinstance(pde, dict):
        return "<p>The composed configuration (.hydra/config.yaml) could not be read.</p>"
    inputs = pde.get("inputs") or {}
    out = [f"<p>Problem <b>{e(pde.get('name', '?'))}</b>: inputs "
           + e(", ".join(f"{k} in {v}" for k, v in inputs.items())
               if isinstance(inputs, dict) else str(inputs))
           + f"; outputs {e(_listed(pde.get('outputs')))}.</p>"]
    rows = [("residual", k, f"{v} = 0") for k, v in (pde.get("residuals") or {}).items()]
    for k, c in (pde.get("conditions") or {}).items():
        c = c if isinstance(c, dict) else {"equation": c}
        rows.append(("condition", k, f"{c.get('equation')} = 0 at {_where(c.get('at'))}"))
    out.append(table(("kind", "name", "equation"), rows))
    unknowns = pde.get("unknowns") or {}
    if isinstance(unknowns, dict):
        out.append("<p>Unknowns: " + e(", ".join(
            f"{k} (guess {v.get('guess') if isinstance(v, dict) else v})"
            for k, v in unknowns.items())) + ".</p>")
    return "".join(out)


def _data(plt, points, inputs, config) -> str:
    data = (config or {}).get("data") or {}
    head = f"<p>Data file: <code>{e(data.get('file', '?'))}</code>"
    if points is None or len(points) == 0:
        return head + "; the observation points are not known here.</p>"
    head += f", {len(points)} observations.</p>"
    fig, ax = plt.subplots(figsize=(5, 3.4))
    if points.shape[1] >= 2:
        ax.scatter(points[:, 0], points[:, 1], s=4)
        ax.set_ylabel(inputs[1] if len(inputs) > 1 else "input 2")
    else:
        ax.plot(points[:, 0], [0] * len(points), "|")
    ax.set_xlabel(inputs[0] if inputs else "input 1")
    ax.set_title("observation points")
    return head + png(fig)


def _unknowns(plt, params, summary) -> str:
    unknowns = summary.get("unknowns") or {}
    idf = summary.get("identifiability") or {}
    intervals = idf.get("intervals") or {}
    rows = []
    for k, r in unknowns.items():
        lo_hi = (intervals.get(k) or {}).get("interval95")
        rows.append((k, num(r.get("estimate")), num(r.get("truth")), num(r.get("guess")),
                     f"{100 * r['rel_error']:.3g} %" if isinstance(r.get("rel_error"), float)
                     else "", "[" + ", ".join(map(num, lo_hi)) + "]" if lo_hi else ""))
    out = table(("unknown", "estimate", "truth", "guess", "error", "95 % interval"), rows)
    names = [k for k in unknowns if params and k in params]
    if names:
        fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.4 * len(names)), squeeze=False)
        for ax, k in zip(axes[:, 0], names):
            ax.plot(params["step"], params[k], label="estimate")
            truth = unknowns[k].get("truth")
            if isinstance(truth, (int, float)):
                ax.axhline(truth, color="k", ls="--", lw=1, label="truth")
            lo_hi = (intervals.get(k) or {}).get("interval95")
            if lo_hi and all(isinstance(v, (int, float)) and math.isfinite(v) for v in lo_hi):
                ax.axhspan(*lo_hi, color="C1", alpha=0.25, label="95 % interval")
            ax.set_title(f"{k}: trajectory")
            ax.set_xlabel("step")
            ax.set_ylabel(k)
            ax.legend(fontsize=8)
        out += png(fig)
    return out


def _losses(plt, losses) -> str:
    if not losses:
        return "<p>No losses logged.</p>"
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for t in (c for c in losses if c not in ("step", "phase", "elapsed_s", "causal_min")):
        ax.semilogy(losses["step"], [max(v, 1e-300) for v in losses[t]], label=t)
    ax.set_title("losses")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (total weighted, terms unweighted)")
    ax.legend(fontsize=8)
    return png(fig)


def _weights(plt, grads, summary) -> str:
    lambdas = summary.get("lambdas") or {}
    out = table(("term", "final λ"), [(k, num(v)) for k, v in lambdas.items()])
    cols = [c for c in (grads or {}) if c.startswith("lambda:")]
    if cols and all(len(set(grads[c])) == 1 for c in cols):
        return out + "<p>The weights stayed fixed over the run.</p>"
    if cols:
        fig, ax = plt.subplots(figsize=(6, 3))
        for c in cols:
            ax.semilogy(grads["step"], [max(v, 1e-300) for v in grads[c]],
                        label=c.split(":", 1)[1])
        ax.set_title("loss weights")
        ax.set_xlabel("step")
        ax.set_ylabel("λ")
        ax.legend(fontsize=8)
        out += png(fig)
    return out


def _fields(run_dir, summary) -> str:
    """The unknown fields: error, where the equations see them, their pictures."""
    fields = summary.get("fields")
    if not isinstance(fields, dict):
        return ""
    rows, pictures = [], ""
    for name, f in fields.items():
        f = f if isinstance(f, dict) else {}
        err, seen = f.get("rel_l2"), f.get("constrained_fraction")
        rows.append((name, ", ".join(map(str, f.get("inputs") or [])),
                     f"{100 * err:.3g} %" if isinstance(err, float) else "",
                     str(f.get("truth") or ""),
                     f"{100 * seen:.0f} %" if isinstance(seen, float) else "",
                     str(f.get("verdict") or "")))
        pictures += png_file(run_dir / "fields" / f"{Path(str(name)).name}.png", f"field {name}")
    return table(("field", "inputs", "relative L2 error", "truth", "seen by the equations",
                  "verdict"), rows) + pictures


def _verdicts(summary) -> str:
    idf = summary.get("identifiability")
    if not isinstance(idf, dict):
        return "<p>No identifiability diagnostics for this run.</p>"
    out = "<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>"
                           for k, v in (idf.get("verdicts") or {}).items()) + "</ul>"
    warnings = idf.get("warnings") or []
    out += "<h3>Warnings</h3>" + ("<ul>" + "".join(f"<li>{e(w)}</li>" for w in warnings)
                                  + "</ul>" if warnings else "<p>No warnings.</p>")
    return out


def _files(run_dir) -> str:
    names = sorted({p.name for p in run_dir.iterdir() if not p.name.startswith(".")} |
                   ({".hydra"} if (run_dir / ".hydra").is_dir() else set()) | {"report.html"})
    return table(("file", "content"), [(n, FILES.get(n, "")) for n in names])


def write_report(run_dir, points=None, inputs=()) -> Path:
    """report.html in `run_dir` from the folder's files; `points` (N, n_inputs), the
    observations' coordinates in the order of `inputs`, are drawn when given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    config = _read(run_dir / ".hydra" / "config.yaml", _yaml)
    config = config if isinstance(config, dict) else None
    summary = _read(run_dir / "summary.json", _json)
    summary = summary if isinstance(summary, dict) else {}
    logs = {n: _read(run_dir / n, read_csv) for n in
            ("params.csv", "losses.csv", "grad_norms.csv")}
    title = f"pinn-fit run {run_dir.name}: {summary.get('status', '?')}"
    sections = [
        ("Problem", _problem((config or {}).get("pde"))),
        ("Data", _data(plt, points, list(inputs), config)),
        ("Unknowns", _unknowns(plt, logs["params.csv"], summary)),
        *([("Unknown fields", _fields(run_dir, summary))] if summary.get("fields") else []),
        ("Losses", _losses(plt, logs["losses.csv"])),
        ("Loss weights", _weights(plt, logs["grad_norms.csv"], summary)),
        ("Identifiability", _verdicts(summary)),
        ("Files", _files(run_dir)),
    ]
    wall = summary.get("wall_seconds")
    wall = f"{wall:.1f}" if isinstance(wall, (int, float)) and not isinstance(wall, bool) \
        else "?"
    intro = (f"<p>Folder: <code>{e(run_dir)}</code>; status {e(summary.get('status', '?'))}, "
             f"{e(wall)} s of training.</p>")
    return write_page(run_dir / "report.html", title, intro, sections)
