"""How much the data constrain each unknown (the `diagnostics` config group).

The seeds' central warning: an inverse PINN can reach a low loss with a wrong coefficient when
the observations barely feel it. For problems with a reference solver (``pde.reference``) this
module fits the same observations classically and states what the data can identify:

- *classical least squares*: Levenberg–Marquardt on the reference solver evaluated at the
  observation points, over the same raw parameters as the PINN (log for `transform: log`);
- *sensitivity*: J = ∂u/∂k at every observation (central finite differences of the solver),
  summarised as the signal-to-noise ratio ‖k ∂u/∂k‖ / (σ √N);
- *Cramér–Rao bound*: the covariance (JᵀJ / σ²)⁻¹ at the classical estimate, σ the configured
  noise (data.noise × std(field)) or, for clean data, the residual's σ̂ = √(RSS / (N − p));
  its square roots are the smallest standard deviations any unbiased estimator can reach, and
  the correlation matrix shows unknowns that trade off against each other;
- *training warnings* from the run's logs: an unknown with negligible gradient, one pinned at a
  bound, one still drifting when the data loss has flattened, a loss weight λ that exploded;
- with `diagnostics=full`, the *profile* of each unknown with the network re-fitted at fixed
  values (pinn_cli.diagnostics.profile), its 95 % interval, and profile.png.
"""
import json
import logging
import math
from pathlib import Path
from typing import Dict, List

import numpy as np

from pinn_cli.schema import imported
from pinn_cli.problem.unknowns import physical
from pinn_cli.diagnostics.profile import Z95, correlation, profile

log = logging.getLogger("pinn-fit")

MAX_GRID = 5_000_000  # nodes the solver may be asked for to cover the observations


class Off:
    """No diagnostics."""

    def __call__(self, **kwargs) -> Dict:
        return {}


class Quick:
    """Classical least squares, sensitivity, Cramér–Rao bound and training warnings."""

    def __init__(self, max_iterations: int = 30, identifiable_rel_std: float = 0.05):
        self.max_iterations = int(max_iterations)
        self.identifiable_rel_std = float(identifiable_rel_std)

    def __call__(self, problem, obs, noise, estimates, run_dir: Path, logs: Dict,
                 refit=None) -> Dict:
        """`refit`: a pinn_cli.diagnostics.profile.Refit of the trained run (used by `Full` only)."""
        report = {"warnings": training_warnings(problem, estimates, logs)}
        for w in report["warnings"]:
            log.warning("%s", w)
        if problem.reference is None:
            report["classical"] = {"skipped": "the problem names no reference solver"}
        else:
            try:
                model = SolverModel(problem, obs)
            except ValueError as err:
                report["classical"] = {"skipped": str(err)}
            else:
                report["classical"] = classical_fit(model, problem, obs, noise, estimates,
                                                    self.max_iterations)
                if "estimate" in report["classical"]:
                    plot_sensitivity(run_dir, problem, obs, report["classical"].pop("_J"),
                                     report["classical"]["estimate"])
        profiles = self.profiles(refit, problem, obs, noise, estimates, report)
        if profiles:
            report["profile"] = profiles
            if len(profiles) > 1:
                report["profile_correlation"] = corr = correlation(profiles)
                for a, row in corr.items():
                    for b, r in row.items():
                        if a < b:
                            log.info("profile correlation of %s and %s: %.2f", a, b, r)
            plot_profiles(run_dir, profiles, report.get("classical", {}))
        report["verdict"] = verdict(report, estimates, self.identifiable_rel_std)
        report = finite(report)
        (run_dir / "identifiability.json").write_text(
            json.dumps(report, indent=2, allow_nan=False) + "\n")
        for name, line in report["verdict"].items():
            log.info("%s", line)
        return report


    def profiles(self, refit, problem, obs, noise, estimates, report) -> Dict:
        """No profiles here; `Full` profiles each unknown."""
        return {}


class Full(Quick):
    """`Quick` plus the profile of each unknown with the network re-fitted at fixed values
    (pinn_cli.diagnostics.profile): an interval from the PINN itself, and flat profiles flagged."""

    def __init__(self, max_iterations: int = 30, identifiable_rel_std: float = 0.05,
                 refit_steps: int = 100, points=(-2, -1, -0.5, 0.5, 1, 2),
                 min_rel_step: float = 0.005):
        super().__init__(max_iterations, identifiable_rel_std)
        self.refit_steps, self.points = int(refit_steps), [float(c) for c in points]
        self.min_rel_step = float(min_rel_step)

    def profiles(self, refit, problem, obs, noise, estimates, report) -> Dict:
        if refit is None:
            return {}
        noise_var = float(np.mean([(noise * obs.y[:, j].std()) ** 2
                                   for j in range(obs.y.shape[1])]))
        crlb = report.get("classical", {}).get("crlb_rel_std") or {}
        out = {}
        for name, est in estimates.items():
            rel = crlb.get(name)
            rel_step = max(self.min_rel_step, 2 * rel) if rel and math.isfinite(rel) else \
                2 * self.min_rel_step
            p = out[name] = with_network_error(
                profile(refit, name, est, obs.y.size, noise_var, rel_step, self.points,
                        self.refit_steps), report.get("classical", {}), name,
                self.identifiable_rel_std)
            log.info("profile of %s: %s", name, "flat (no curvature): weakly identifiable"
                     if p["flat"] else f"{p['center']:.6g} ± {p['std']:.2g}, 95 % interval "
                     f"[{p['interval95'][0]:.6g}, {p['interval95'][1]:.6g}]")
        return out


def identifies(classical: Dict, name: str, rel_std_limit: float) -> bool:
    """Whether the classical fit pins `name` down: its Cramér–Rao relative std is finite and
    below `rel_std_limit` (diagnostics.identifiable_rel_std)."""
    if "estimate" not in classical:
        return False
    rel = classical["crlb_rel_std"].get(name)
    return rel is not None and math.isfinite(rel) and rel < rel_std_limit


def with_network_error(p: Dict, classical: Dict, name: str, rel_std_limit: float) -> Dict:
    """The profile `p` of `name` with the network's own error added, where a classical fit
    identifies the unknown: the profile's deviance sees only the noise, while the network adds a
    bias of its own (burgers1d, 1 % noise: ν +1 % on average, spread 2.3× the Cramér–Rao std).
    Both estimates fit the same noisy observations, so their gap g = |center − classical| is
    mostly that network error; the total std is sqrt(std² + g²) and `interval95_total` is
    center ± 1.96 of it (a profile without curvature, or no identifying classical fit: `p`)."""
    if p["flat"] or not identifies(classical, name, rel_std_limit):
        return p
    gap = abs(p["center"] - classical["estimate"][name])
    total = math.hypot(p["std"], gap)
    return p | {"network_std": gap, "total_std": total,
                "interval95_total": [p["center"] - Z95 * total, p["center"] + Z95 * total]}


class SolverModel:
    """The reference solver evaluated at the observation points: u(θ) as one flat vector."""

    def __init__(self, problem, obs):
        ref = problem.reference
        self.solver = imported(ref["solver"], "pde.reference.solver")
        self.options = dict(ref.get("options") or {})
        self.outputs = problem.outputs
        self.axes, index = [], []
        for j, name in enumerate(problem.inputs):
            values, inverse = np.unique(obs.x[:, j], return_inverse=True)
            self.axes.append((name, values))
            index.append(inverse)
        size = math.prod(len(v) for _, v in self.axes)
        if size > MAX_GRID:
            raise ValueError(f"the observations are not on a grid ({size} nodes would be "
                             "needed); the classical fit needs gridded observations")
        self.flat = np.ravel_multi_index(index, [len(v) for _, v in self.axes])
        self.cols = [problem.outputs.index(f) for f in obs.fields]

    def __call__(self, params: Dict[str, float]) -> np.ndarray:
        out = self.solver(**{n: v for n, v in self.axes}, **params, **self.options)
        fields = out if isinstance(out, dict) else {self.outputs[0]: out}
        return np.concatenate([np.asarray(fields[self.outputs[c]]).reshape(-1)[self.flat]
                               for c in self.cols])


def classical_fit(model, problem, obs, noise, estimates, max_iterations) -> Dict:
    """Levenberg–Marquardt from the PINN's starting guess, then the Cramér–Rao bound."""
    y = np.concatenate([obs.y[:, j] for j in range(obs.y.shape[1])])
    names = [u.name for u in problem.unknowns]

    def residual(raw):
        try:
            r = model(physical(problem.unknowns, raw)) - y
        except (ValueError, OverflowError, FloatingPointError):
            return None
        return r if np.all(np.isfinite(r)) else None

    def jacobian(raw, r0):
        cols = []
        for i in range(len(raw)):
            h = 1e-6 * max(1.0, abs(raw[i]))
            up, down = raw.copy(), raw.copy()
            up[i] += h
            down[i] -= h
            ru, rd = residual(up), residual(down)
            if ru is None or rd is None:
                ru = ru if ru is not None else r0
                rd = rd if rd is not None else r0
                cols.append((ru - rd) / (h if ru is r0 or rd is r0 else 2 * h))
            else:
                cols.append((ru - rd) / (2 * h))
        return np.stack(cols, axis=1)

    def levenberg_marquardt(raw, r):
        damping, iterations = 1e-3, 0
        for iterations in range(1, max_iterations + 1):
            J = jacobian(raw, r)
            A, g = J.T @ J, J.T @ r
            cost = float(r @ r)
            improved, step = False, np.zeros_like(raw)
            for _ in range(20):
                step = np.linalg.solve(A + damping * np.diag(np.diag(A) + 1e-30), -g)
                trial = residual(raw + step)
                if trial is not None and float(trial @ trial) < cost:
                    raw, r, improved = raw + step, trial, True
                    damping = max(damping / 3, 1e-12)
                    break
                damping *= 4
            if not improved or np.max(np.abs(step)) < 1e-10:
                break
        return raw, r, iterations

    # From the guess and from the PINN's estimate (oscillatory problems have local minima);
    # the lower cost wins.
    best = None
    for source in ({u.name: u.guess for u in problem.unknowns}, estimates):
        start = np.array([u.to_raw(source[u.name]) for u in problem.unknowns], dtype=float)
        r0 = residual(start)
        if r0 is None:
            continue
        fit = levenberg_marquardt(start, r0)
        if best is None or float(fit[1] @ fit[1]) < float(best[1] @ best[1]):
            best = fit
    if best is None:
        return {"skipped": "the reference solver rejects both the guess and the PINN estimate"}
    raw, r, iterations = best
    est = physical(problem.unknowns, raw)
    # Sensitivity to the physical unknowns: ∂u/∂k = ∂u/∂θ · dθ/dk.
    dk_draw = np.array([est[n] if u.transform == "log" else u.scale if u.transform == "scaled"
                        else 1.0 for n, u in zip(names, problem.unknowns)])
    J_phys = jacobian(raw, r) / dk_draw
    n, p = len(y), len(names)
    per_field = [obs.y[:, j].std() for j in range(obs.y.shape[1])]
    fitted = math.sqrt(float(r @ r) / max(n - p, 1))
    if noise > 0:
        sigma = np.concatenate([np.full(obs.y.shape[0], noise * s) for s in per_field])
        sigma_source = "configured noise (data.noise x std(field))"
    elif fitted > 1e-6 * max(per_field):
        sigma = np.full(n, fitted)
        sigma_source = "residual of the classical fit (noise already in the file)"
    else:  # the solver reproduces the data exactly: no noise to speak of
        sigma = np.concatenate([np.full(obs.y.shape[0], 0.01 * s) for s in per_field])
        sigma_source = "nominal noise of 1 % of std(field) (the data are clean)"
    Jw = J_phys / np.maximum(sigma, 1e-300)[:, None]
    fisher = Jw.T @ Jw
    try:
        cov = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.inf)
    std = np.sqrt(np.maximum(np.diag(cov), 0))
    corr = cov / np.outer(std, std) if np.all(std > 0) and np.all(np.isfinite(std)) else \
        np.full((p, p), np.nan)
    snr = {k: float(np.linalg.norm(est[k] * J_phys[:, i]) / (np.sqrt(n) * sigma.mean()))
           for i, k in enumerate(names)}
    return {
        "estimate": est, "crlb_std": dict(zip(names, map(float, std))),
        "crlb_rel_std": {k: float(s / abs(est[k])) if est[k] else None
                         for k, s in zip(names, std)},
        "correlation": {a: {b: float(corr[i, j]) for j, b in enumerate(names)}
                        for i, a in enumerate(names)},
        "sensitivity_snr": snr, "sigma": float(sigma.mean()), "sigma_source": sigma_source,
        "rms_residual": math.sqrt(float(r @ r) / n), "iterations": iterations,
        "n_observations": n, "_J": J_phys,
    }


def finite(node):
    """The report with every NaN/Inf (a singular Fisher matrix) as null, for strict JSON."""
    if isinstance(node, dict):
        return {k: finite(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [finite(v) for v in node]
    if isinstance(node, float) and not math.isfinite(node):
        return None
    return node


def training_warnings(problem, estimates, logs) -> List[str]:
    """Warnings read off the run's logs (params.csv, losses.csv, grad_norms.csv columns)."""
    out = []
    params, losses, grads = logs.get("params.csv"), logs.get("losses.csv"), \
        logs.get("grad_norms.csv")
    if not params or not params.get("step"):
        return out
    tail = max(1, len(params["step"]) // 5)
    for u in problem.unknowns:
        k = params[u.name]
        pulls = [abs(x) for c, col in params.items() if c.startswith("dL:") and
                 c.endswith(f"/d{u.name}") for x in col[-tail:]]
        total = losses["total"][-1] if losses else None
        if pulls and total and max(pulls) * max(abs(k[-1]), 1e-300) < 1e-6 * total:
            out.append(f"{u.name}: its gradient stayed negligible (|dL/d{u.name}| x "
                       f"{u.name} < 1e-6 L): the loss barely feels it")
        if u.bounds is not None and min(abs(k[-1] - b) for b in u.bounds) <= \
                1e-6 * (u.bounds[1] - u.bounds[0]):
            out.append(f"{u.name} = {k[-1]:.6g} ends pinned at a bound {list(u.bounds)}: widen "
                       "the bounds or question the model")
        if len(k) >= 4:
            drift = abs(k[-1] - k[-1 - tail]) / max(abs(k[-1]), 1e-300)
            data = losses.get("data") if losses else None
            flat = data and len(data) > tail and data[-1] > 0.5 * data[-1 - tail]
            if drift > 0.01 and flat:
                out.append(f"{u.name} still drifted {100 * drift:.2g} % over the last "
                           f"{tail} log rows while the data loss had flattened: train longer "
                           "or suspect weak identifiability")
    if grads:
        for c, col in grads.items():
            if c.startswith("lambda:") and col and max(col) > 1e4:
                out.append(f"loss weight {c} reached {max(col):.3g}: the weighting is "
                           "dominated by one term")
    return out


def verdict(report, estimates, rel_std_limit) -> Dict[str, str]:
    """One line per unknown: PINN estimate, classical estimate ± CRLB std, and whether the data
    identify it (CRLB relative std below `rel_std_limit`)."""
    c = report.get("classical", {})
    lines = {}
    for name, est in estimates.items():
        line = f"{name} = {est:.6g} (PINN)"
        p = report.get("profile", {}).get(name)
        if p is not None:
            weak = p["flat"] or p["std"] > rel_std_limit * abs(est)
            if p["flat"]:
                shown = "profile flat"
            elif "total_std" in p:
                lo, hi = p["interval95_total"]
                shown = (f"{p['center']:.6g} ± {p['total_std']:.2g} (profile ± {p['std']:.2g} "
                         f"with the network's error {p['network_std']:.2g}, the gap to the "
                         f"classical fit; 95 % [{lo:.6g}, {hi:.6g}])")
            else:
                shown = (f"{p['center']:.6g} ± {p['std']:.2g} (profile, 95 % "
                         f"[{p['interval95'][0]:.6g}, {p['interval95'][1]:.6g}])")
            line = (f"{name} = {est:.6g} (PINN), {shown}"
                    + (": WEAKLY identifiable by the PINN's own profile" if weak else ""))
        if "estimate" in c:
            std = c["crlb_std"][name]
            ok = identifies(c, name, rel_std_limit)
            std = std if std is not None and math.isfinite(std) else math.inf
            classical = c["estimate"][name]
            line += (f", classical {classical:.6g} ± {std:.2g} (Cramér–Rao, "
                     f"σ from the {c['sigma_source'].split(' (')[0]}), "
                     + ("identifiable" if ok else "WEAKLY identifiable: the data barely "
                        "constrain it"))
            gap = abs(est - classical)
            if ok and gap > 3 * std and gap > 0.01 * abs(classical):
                line += (f"; the PINN is {100 * gap / abs(classical):.2g} % off the classical "
                         "fit: do not trust it yet (train longer, check the weighting)")
        else:
            line += f", no classical cross-check ({c.get('skipped', 'off')})"
        lines[name] = line
    return lines


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
