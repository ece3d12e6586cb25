"""The plots of a run folder (params.png, losses.png, grad_norms.png) and the overlays of several
runs that pinn-inspect --plot draws, from the folders' CSV logs (record.read_csv)."""
import os
import tempfile
from pathlib import Path
from typing import Dict, List

from pinn_cli.io.record import read_csv


def plot_run(run_dir: Path, truth: Dict[str, float | None]) -> None:
    """params.png, losses.png and grad_norms.png from the run's CSV files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    params, losses, grads = (read_csv(run_dir / n) for n in
                             ("params.csv", "losses.csv", "grad_norms.csv"))
    if not params:
        return
    phases = _phase_starts(params)

    names = list(truth)
    if names:  # scalar unknowns (a run of unknown fields only has none)
        fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.6 * len(names)), squeeze=False)
        for ax, k in zip(axes[:, 0], names):
            ax.plot(params["step"], params[k], label="estimate")
            if truth[k] is not None:
                ax.axhline(truth[k], color="k", ls="--", lw=1, label="truth")
            ax.set_ylabel(k)
            ax.set_title(f"{k}: estimate over the steps", fontsize=9)
            _mark(ax, phases)
            ax.legend(loc="best", fontsize=8)
        axes[-1, 0].set_xlabel("step")
        _save(fig, run_dir / "params.png")

    terms = [c for c in losses if c not in ("step", "phase", "elapsed_s", "causal_min")]
    fig, ax = plt.subplots(figsize=(7, 4))
    for t in terms:
        ax.semilogy(losses["step"], [max(v, 1e-300) for v in losses[t]], label=t)
    _mark(ax, phases)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("losses: total weighted, each term unweighted", fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, run_dir / "losses.png")

    terms = [c.split(":", 1)[1] for c in grads if c.startswith("max:")]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for t in terms:
        line, = a1.semilogy(grads["step"], [max(v, 1e-300) for v in grads[f"max:{t}"]],
                            label=f"max |∇θ L_{t}|")
        a1.semilogy(grads["step"], [max(v, 1e-300) for v in grads[f"mean:{t}"]], ls=":",
                    color=line.get_color(), label=f"mean |∇θ L_{t}|")
        a2.semilogy(grads["step"], grads[f"lambda:{t}"], label=f"λ {t}")
    for a in (a1, a2):
        _mark(a, phases)
        a.legend(fontsize=7)
    a1.set_title("gradient size of each loss term over the network weights", fontsize=9)
    a1.set_ylabel("|∇θ L_term|")
    a2.set_title("loss weights", fontsize=9)
    a2.set_ylabel("λ")
    a2.set_xlabel("step")
    _save(fig, run_dir / "grad_norms.png")


def plot_runs(runs, folder: Path, warn=print) -> List[Path]:
    """Overlays of several runs in `folder`: runs_params.png (each unknown's trajectory, truth
    dashed), runs_losses.png (total loss), runs_lambdas.png (λ of the weighted terms); and in
    each run folder with gradients.h5, grad_hist.png (histograms of each loss term's ∇θ L_term
    at the end of each phase, a panel per term, as in Wang, Teng & Perdikaris 2021, Fig. 2).

    A run whose logs or gradients.h5 are damaged is named through `warn` and left out; raises
    pinn_cli.io.runs.Unreadable when no run can be drawn, NotWritable when `folder` cannot be
    written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pinn_cli.io.grad_hist import plot_gradient_histograms
    from pinn_cli.io.runs import Unreadable, guarded

    folder = Path(folder if Path(folder).is_dir() else Path(folder).parent)
    _check_writable(folder)
    needed = {"params.csv": ("step",), "losses.csv": ("step", "total"),
              "grad_norms.csv": ("step",)}
    logs = []
    for r in runs:
        if not os.path.lexists(r.folder / "params.csv"):
            continue  # no logs (yet): nothing to draw
        try:
            c = {n: guarded(r.folder / n, read_csv) for n in needed}
            for n, cols in needed.items():
                if not c[n]:
                    raise Unreadable(r.folder / n, "no logged rows yet")
                if missing := [k for k in cols if k not in c[n]]:
                    raise Unreadable(r.folder / n, f"no {missing[0]!r} column")
        except (Unreadable, FileNotFoundError) as err:
            warn(f"{err}; {r.folder} left out of the plots")
            continue
        logs.append((r, c))
    if not logs:
        raise Unreadable(folder, "no run here has logs that can be plotted")
    label = lambda r: str(r.folder.relative_to(folder)) if r.folder != folder else r.folder.name
    names = sorted({n for r, _ in logs for n in r.unknowns} or
                   {c for _, c in logs for c in c["params.csv"] if c not in
                    ("step", "phase", "elapsed_s") and not c.startswith("dL:")})
    written = []
    fig, axes = plt.subplots(max(1, len(names)), 1, figsize=(7, 2.6 * max(1, len(names))),
                             squeeze=False)
    for ax, n in zip(axes[:, 0], names):
        for r, c in logs:
            if n in c["params.csv"]:
                ax.plot(c["params.csv"]["step"], c["params.csv"][n], lw=1, label=label(r))
        truths = {r.unknowns.get(n, {}).get("truth") for r, _ in logs} - {None}
        for t in truths:
            ax.axhline(t, color="k", ls="--", lw=1)
        ax.set_ylabel(n)
    axes[0, 0].legend(fontsize=6, ncol=2)
    axes[-1, 0].set_xlabel("step")
    written.append(folder / "runs_params.png")
    _save(fig, written[-1])

    fig, ax = plt.subplots(figsize=(7, 4))
    for r, c in logs:
        ax.semilogy(c["losses.csv"]["step"], [max(v, 1e-300) for v in c["losses.csv"]["total"]],
                    lw=1, label=label(r))
    ax.set_xlabel("step")
    ax.set_ylabel("total weighted loss")
    ax.legend(fontsize=6, ncol=2)
    written.append(folder / "runs_losses.png")
    _save(fig, written[-1])

    fig, ax = plt.subplots(figsize=(7, 4))
    for r, c in logs:
        g = c["grad_norms.csv"]
        for col in (k for k in g if k.startswith("lambda:")):
            ax.semilogy(g["step"], g[col], lw=1, label=f"{label(r)} {col.split(':', 1)[1]}")
    ax.set_xlabel("step")
    ax.set_ylabel("λ")
    ax.legend(fontsize=6, ncol=2)
    written.append(folder / "runs_lambdas.png")
    _save(fig, written[-1])

    for r, _ in logs:
        if os.path.lexists(r.folder / "gradients.h5"):
            try:
                _check_writable(r.folder)
                written.append(guarded(r.folder / "gradients.h5", plot_gradient_histograms))
            except NotWritable as err:
                warn(f"{err}; grad_hist.png not drawn")
            except (Unreadable, FileNotFoundError) as err:
                plt.close("all")
                warn(f"{err}; grad_hist.png not drawn")
    return written


class NotWritable(Exception):
    """The plots cannot be written into the folder."""


def _check_writable(folder: Path) -> None:
    """Raise NotWritable, before anything is drawn, when `folder` does not take a new file."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise NotWritable(
            f"cannot write the plots into {folder} ({err.strerror or err}); pinn-inspect writes "
            f"them beside the runs, so copy the folder to a place you can write (cp -r {folder} "
            "COPY) and run pinn-inspect COPY --plot") from None


def _phase_starts(cols):
    starts, prev = [], None
    for step, phase in zip(cols["step"], cols["phase"]):
        if phase != prev:
            starts.append((step, phase))
            prev = phase
    return starts


def _mark(ax, phases):
    for step, name in phases[1:]:
        ax.axvline(step, color="grey", lw=0.8, alpha=0.6)
    for step, name in phases:
        ax.annotate(name, (step, 1), xycoords=("data", "axes fraction"), fontsize=7,
                    va="top", color="grey")


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
