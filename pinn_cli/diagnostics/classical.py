"""The classical cross-check: the problem's reference solver fitted to the same observations by
Levenberg–Marquardt over the same raw parameters as the PINN (log for `transform: log`), its
sensitivity J = ∂u/∂k at every observation (central finite differences), and the Cramér–Rao
bound (JᵀJ / σ²)⁻¹ at the classical estimate."""
import math
from typing import Dict

import numpy as np

from pinn_cli.problem.unknowns import physical
from pinn_cli.targets import imported

RTOL_COST = 1e-10  # Levenberg–Marquardt stops when a step gains less than this x the start cost
MAX_GRID = 5_000_000  # nodes the solver may be asked for to cover the observations


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


class _LeastSquares:
    """r(θ) = model(k(θ)) − y over the raw parameters θ, its finite-difference Jacobian and
    Levenberg–Marquardt on it."""

    def __init__(self, model, unknowns, y):
        self.model, self.unknowns, self.y = model, unknowns, y

    def residual(self, raw):
        try:
            r = self.model(physical(self.unknowns, raw)) - self.y
        except (ValueError, OverflowError, FloatingPointError):
            return None
        return r if np.all(np.isfinite(r)) else None

    def jacobian(self, raw, r0):
        """Central differences (one-sided where the solver rejects a side)."""
        cols = []
        for i in range(len(raw)):
            h = 1e-6 * max(1.0, abs(raw[i]))
            up, down = raw.copy(), raw.copy()
            up[i] += h
            down[i] -= h
            ru, rd = self.residual(up), self.residual(down)
            if ru is None or rd is None:
                ru = ru if ru is not None else r0
                rd = rd if rd is not None else r0
                cols.append((ru - rd) / (h if ru is r0 or rd is r0 else 2 * h))
            else:
                cols.append((ru - rd) / (2 * h))
        return np.stack(cols, axis=1)

    def levenberg_marquardt(self, raw, r, max_iterations):
        damping, iterations, start = 1e-3, 0, float(r @ r)
        for iterations in range(1, max_iterations + 1):
            J = self.jacobian(raw, r)
            A, g = J.T @ J, J.T @ r
            cost = float(r @ r)
            improved, step, gain = False, np.zeros_like(raw), 0.0
            for _ in range(20):
                step = np.linalg.solve(A + damping * np.diag(np.diag(A) + 1e-30), -g)
                trial = self.residual(raw + step)
                if trial is not None and float(trial @ trial) < cost:
                    gain = cost - float(trial @ trial)
                    raw, r, improved = raw + step, trial, True
                    damping = max(damping / 3, 1e-12)
                    break
                damping *= 4
            # converged: no better step, a negligible one, or a fall of the cost negligible against
            # its start (at the solver's own noise floor on clean data)
            if not improved or np.max(np.abs(step)) < 1e-10 or gain < RTOL_COST * start:
                break
        return raw, r, iterations


def _sigma(obs, noise, r, p):
    """The observations' noise std per point, and where it comes from: the configured noise,
    else the classical fit's residual, else (clean data) 1 % of std(field)."""
    n = len(r)
    per_field = [obs.y[:, j].std() for j in range(obs.y.shape[1])]
    fitted = math.sqrt(float(r @ r) / max(n - p, 1))
    if noise > 0:
        return (np.concatenate([np.full(obs.y.shape[0], noise * s) for s in per_field]),
                "configured noise (data.noise x std(field))")
    if fitted > 1e-6 * max(per_field):
        return np.full(n, fitted), "residual of the classical fit (noise already in the file)"
    # the solver reproduces the data exactly: no noise to speak of
    return (np.concatenate([np.full(obs.y.shape[0], 0.01 * s) for s in per_field]),
            "nominal noise of 1 % of std(field) (the data are clean)")


def classical_fit(model, problem, obs, noise, estimates, max_iterations) -> Dict:
    """Levenberg–Marquardt from the PINN's starting guess, then the Cramér–Rao bound. A model's
    `nuisance` unknowns (e.g. a generic ODE's initial state) are fitted alongside; the bound of
    the problem's unknowns is then the marginal one (the block of the full inverse)."""
    y = np.concatenate([obs.y[:, j] for j in range(obs.y.shape[1])])
    unknowns = [*problem.unknowns, *getattr(model, "nuisance", [])]
    names = [u.name for u in unknowns]
    if len(set(names)) < len(names):  # a model's own mistake: one value would serve two
        raise ValueError(f"the reference model's parameters repeat a name: "
                         f"{sorted({n for n in names if names.count(n) > 1})}")
    ls = _LeastSquares(model, unknowns, y)
    # From the guess, from the PINN's estimate and from the model's own start where it has one
    # (oscillatory problems have local minima); the lower cost wins.
    best, tried = None, []
    own = getattr(model, "initial_guess", None)
    for source in ({u.name: u.guess for u in unknowns},
                   {u.name: estimates.get(u.name, u.guess) for u in unknowns},
                   own(obs, unknowns) if own else None):
        if source is None or not all(np.isfinite(list(source.values()))):
            continue
        try:
            start = np.array([u.to_raw(source[u.name]) for u in unknowns], dtype=float)
        except ValueError:  # e.g. a log of a value <= 0
            continue
        if any(np.array_equal(start, s) for s in tried):
            continue
        tried.append(start)
        r0 = ls.residual(start)
        if r0 is None:
            continue
        fit = ls.levenberg_marquardt(start, r0, max_iterations)
        if best is None or float(fit[1] @ fit[1]) < float(best[1] @ best[1]):
            best = fit
    if best is None:
        return {"skipped": "the reference solver rejects both the guess and the PINN estimate"}
    raw, r, iterations = best
    est = physical(unknowns, raw)
    # Sensitivity to the physical unknowns: ∂u/∂k = ∂u/∂θ · dθ/dk.
    dk_draw = np.array([est[n] if u.transform == "log" else u.scale if u.transform == "scaled"
                        else 1.0 for n, u in zip(names, unknowns)])
    J_phys = ls.jacobian(raw, r) / dk_draw
    n, p = len(y), len(names)
    sigma, sigma_source = _sigma(obs, noise, r, p)
    Jw = J_phys / np.maximum(sigma, 1e-300)[:, None]
    fisher = Jw.T @ Jw
    try:
        cov = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.inf)
    std = np.sqrt(np.maximum(np.diag(cov), 0))
    p = len(problem.unknowns)  # the report covers the problem's unknowns, not the nuisance
    names, cov, std, J_phys = names[:p], cov[:p, :p], std[:p], J_phys[:, :p]
    est = {k: est[k] for k in names}
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
