"""grad_hist.png (`pinn-inspect --plot`): each loss term's gradient over the network's weights at
each phase end, from the run's gradients.h5."""
from pathlib import Path


def plot_gradient_histograms(path: Path) -> Path:
    """grad_hist.png beside `path` (a run folder, or its gradients.h5): one panel per loss term,
    the histogram of log10 |∂L_term/∂θ| over the weight matrices of every layer, one line per
    phase end, on one shared axis: a term whose gradients sit orders of magnitude left of
    another's barely trains the network (Wang, Teng & Perdikaris 2021, Fig. 2)."""
    import h5py

    run_dir = Path(path).parent if Path(path).name == "gradients.h5" else Path(path)
    with h5py.File(run_dir / "gradients.h5", "r") as f:
        fig = gradient_figure(f)
    path = run_dir / "grad_hist.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def gradient_figure(f):
    """The figure of grad_hist.png from an open gradients.h5 `f`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = sorted(f, key=int)
    if not steps:
        raise ValueError("no gradients recorded")
    terms = list(dict.fromkeys(t for s in steps for t in f[s]))
    logs = {}  # (step, term): log10 |gradient| over every weight matrix, zeros left out
    for s in steps:
        layers = [p for p in f[s].attrs["parameters"] if p.endswith("weight")]
        for t in (t for t in terms if t in f[s]):
            g = np.abs(np.concatenate([np.asarray(f[s][t][p], dtype=float).ravel()
                                       for p in layers if p in f[s][t]] or [np.zeros(0)]))
            logs[s, t] = np.log10(g[g > 0])
    found = np.concatenate(list(logs.values()))
    lo, hi = (np.percentile(found, [0.1, 100]) if found.size else (-1.0, 0.0))
    bins = np.linspace(np.floor(lo), np.ceil(hi) + (np.ceil(hi) == np.floor(lo)), 61)
    cols = len(terms) if len(terms) <= 4 else 3
    rows = -(-len(terms) // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, sharex=True, sharey=True,
                             figsize=(4.2 * cols, 3.0 * rows))
    for ax, t in zip(axes.ravel(), terms):
        for s in steps:
            if (s, t) in logs and logs[s, t].size:
                ax.hist(np.clip(logs[s, t], bins[0], bins[-1]), bins=bins, histtype="step",
                        density=True, lw=1.3, label=f"step {s} ({f[s].attrs['phase']})")
        ax.set_title(f"loss term {t}", fontsize=10)
        ax.grid(alpha=0.3)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(terms):
            ax.set_visible(False)
        elif i + cols >= len(terms):  # the lowest panel of its column: the axis' labels
            ax.set_xlabel("log10 |∂L_term/∂θ|, weight matrices")
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("each loss term's gradient over the network's weights at each phase end",
                 fontsize=11)
    return fig
