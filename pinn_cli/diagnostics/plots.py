"""Pictures of the diagnostics: sensitivity.png (∂u/∂k at the observations) and profile.png
(each unknown's profile with its 95 % interval)."""
import numpy as np

from pinn_cli.diagnostics.profile import Z95


def plot_sensitivity(run_dir, problem, obs, J, estimate) -> None:
    """sensitivity.png: |k ∂u/∂k| at each observation over the first two inputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [u.name for u in problem.unknowns]
    n = obs.x.shape[0]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), squeeze=False)
    for ax, (i, k) in zip(axes[0], enumerate(names)):
        s = np.abs(estimate[k] * J[:, i]).reshape(-1, n).max(axis=0)  # over observed fields
        if obs.x.shape[1] >= 2:
            sc = ax.scatter(obs.x[:, 0], obs.x[:, -1], c=s, s=4, cmap="viridis")
            ax.set_xlabel(problem.inputs[0])
            ax.set_ylabel(problem.inputs[-1])
        else:
            sc = ax.scatter(obs.x[:, 0], s, c=s, s=4, cmap="viridis")
            ax.set_xlabel(problem.inputs[0])
        fig.colorbar(sc, ax=ax)
        ax.set_title(f"|{k} ∂u/∂{k}| at the observations", fontsize=8)
    fig.tight_layout()
    fig.savefig(run_dir / "sensitivity.png", dpi=110)
    plt.close(fig)


def plot_profiles(run_dir, profiles, classical) -> None:
    """profile.png: each unknown's profile deviance with its parabola and 95 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(profiles), figsize=(4 * len(profiles), 3.4), squeeze=False)
    for ax, (name, p) in zip(axes[0], profiles.items()):
        ax.plot(p["values"], p["deviance"], "o", label="re-fitted")
        if not p["flat"]:
            k = np.linspace(min(p["values"]), max(p["values"]), 200)
            ax.plot(k, ((k - p["center"]) / p["std"]) ** 2, "-", lw=1, label="parabola")
            for edge in p["interval95"]:
                ax.axvline(edge, color="gray", ls=":", lw=1)
        ax.axhline(Z95 ** 2, color="gray", ls="--", lw=0.8, label="95 % level")
        if name in classical.get("estimate", {}):
            ax.axvline(classical["estimate"][name], color="C3", lw=1, label="classical")
        ax.set_xlabel(name)
        ax.set_ylabel("deviance N Δmse / σ²")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run_dir / "profile.png", dpi=110)
    plt.close(fig)
