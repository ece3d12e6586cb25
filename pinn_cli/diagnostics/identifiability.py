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
  bound, one still moving at the end of training (not converged), a loss weight λ that exploded;
- the *equation std* of each unknown (pinn_cli.diagnostics.equation_error), the network's own
  error, and a 95 % interval that adds it to the data's (pinn_cli.diagnostics.verdicts.interval;
  in log k for `transform: log`, so it stays positive);
- with `diagnostics=full`, the *profile* of each unknown with the network re-fitted at fixed
  values (pinn_cli.diagnostics.profile), its 95 % interval, and profile.png.
"""
import json
import logging
import math
from pathlib import Path
from typing import Dict

import numpy as np

from pinn_cli.diagnostics.classical import SolverModel, classical_fit, finite
from pinn_cli.solvers.from_equations import extrapolated, reference_model
from pinn_cli.diagnostics.plots import plot_profiles, plot_sensitivity
from pinn_cli.diagnostics.profile import correlation, profile
from pinn_cli.diagnostics.equation_error import equation_std
from pinn_cli.diagnostics.verdicts import (interval, interval_warnings, training_warnings,
                                           verdict)

log = logging.getLogger("pinn-fit")


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
        """`refit`: a pinn_cli.diagnostics.profile.Refit of the trained run: its network, unknowns
        and losses give the equation std; `Full` also re-fits with it."""
        report = {"warnings": training_warnings(problem, estimates, logs)}
        for w in report["warnings"]:
            log.warning("%s", w)
        named = bool((problem.reference or {}).get("solver"))
        try:
            if problem.fields:
                raise ValueError(f"the classical fit, its sensitivity and the Cramér–Rao bound "
                                 f"cover scalar unknowns; the unknown fields "
                                 f"{problem.field_names} are scored in fields/ (docs/fields.md)")
            model = SolverModel(problem, obs) if named else reference_model(problem, obs)
        except ValueError as err:
            why = str(err) if named else \
                f"the problem names no reference solver, and the generic one cannot help: {err}"
            report["classical"] = {"skipped": why}
        else:
            report["classical"] = classical_fit(model, problem, obs, noise, estimates,
                                                self.max_iterations)
            if refit is not None and "estimate" in report["classical"]:
                report["classical"]["pinn_rms_residual"] = pinn_misfit(refit.net, problem, obs)
            if "estimate" in report["classical"]:
                plot_sensitivity(run_dir, problem, obs, report["classical"].pop("_J"),
                                 report["classical"]["estimate"])
                if hasattr(model, "refined"):
                    self.refinement(model, problem, obs, noise, estimates, report)
        profiles = self.profiles(refit, problem, obs, noise, estimates, report)
        log_scale = {u.name for u in problem.unknowns if u.transform == "log"}
        self.intervals(refit, estimates, report, profiles, log_scale)
        if profiles:
            report["profile"] = profiles
            if len(profiles) > 1:
                report["profile_correlation"] = corr = correlation(profiles)
                for a, row in corr.items():
                    for b, r in row.items():
                        if a < b:
                            log.info("profile correlation of %s and %s: %.2f", a, b, r)
            plot_profiles(run_dir, profiles, report.get("classical", {}))
        report["verdict"] = verdict(report, estimates, self.identifiable_rel_std, log_scale)
        report = finite(report)
        (run_dir / "identifiability.json").write_text(
            json.dumps(report, indent=2, allow_nan=False) + "\n")
        for name, line in report["verdict"].items():
            log.info("%s", line)
        return report


    def refinement(self, model, problem, obs, noise, estimates, report) -> None:
        """The generic solver's estimate again at a finer resolution, extrapolated to a zero grid
        step where the model says how its error falls (solvers.from_equations.extrapolated). A
        change beyond a tenth of the Cramér–Rao std is warned about: the discretisation's, not
        the PINN's."""
        classical = report["classical"]
        classical["reference"] = model.description
        finer = model.refined()
        fine = classical_fit(finer, problem, obs, noise, classical["estimate"],
                             self.max_iterations)
        if "estimate" not in fine:
            return
        order = getattr(model, "order", None)
        classical["reference"] = finer.description + (
            f"; extrapolated to a zero grid step from {model.n} and {finer.n} points per input "
            f"(Richardson, order {order})" if order else "")
        # the finer solve (extrapolated) stands for the classical fit; the coarse one stays
        classical["coarse_estimate"] = coarse = classical["estimate"]
        classical["estimate"] = extrapolated(model, finer, coarse, fine["estimate"])
        for k, value in fine["estimate"].items():
            change, std = abs(value - coarse[k]), classical["crlb_std"][k]
            if std and change > 0.1 * std:
                warning = (f"{k}: the generic reference solver's estimate moves by "
                           f"{change:.3g} ({change / std:.2f} Cramér–Rao stds) when its resolution "
                           "is refined: the classical cross-check is limited by its "
                           "discretisation" + (" (its estimate is extrapolated to a zero grid "
                                               "step)" if order else ""))
                report["warnings"].append(warning)
                log.warning("%s", warning)

    def profiles(self, refit, problem, obs, noise, estimates, report) -> Dict:
        """No profiles here; `Full` profiles each unknown."""
        return {}

    def intervals(self, refit, estimates, report, profiles, log_scale=frozenset()) -> None:
        """report["equation_std"] (the trained network's, where `refit` gives it: without
        a network the interval has no network term but the gap to the classical fit),
        report["interval"] and the interval warnings (pinn_cli.diagnostics.verdicts.interval;
        the unknowns named in `log_scale`, those with `transform: log`, get it in log k)."""
        eq = equation_std(refit.net, refit.unknowns, refit.losses) if refit is not None else {}
        report["equation_std"] = eq
        c = report.get("classical", {})
        report["interval"] = {k: interval(k, est, c, profiles.get(k), eq.get(k),
                                          self.identifiable_rel_std, k in log_scale)
                              for k, est in estimates.items()}
        for w in interval_warnings(report["interval"], c, self.identifiable_rel_std, log_scale):
            log.warning("%s", w)
            report["warnings"].append(w)


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
            p = out[name] = profile(refit, name, est, obs.y.size, noise_var, rel_step,
                                    self.points, self.refit_steps)
            log.info("profile of %s: %s", name, "flat (no curvature): weakly identifiable"
                     if p["flat"] else f"{p['center']:.6g} ± {p['std']:.2g}, 95 % interval "
                     f"[{p['interval95'][0]:.6g}, {p['interval95'][1]:.6g}]")
        return out


def pinn_misfit(net, problem, obs) -> float:
    """The trained network's rms misfit at the observations, in the data's units (as the
    classical fit's rms_residual): the yardstick for a reference model that misses the data."""
    import torch

    p = next(net.parameters())
    with torch.no_grad():
        fit = net(torch.as_tensor(obs.x, dtype=p.dtype, device=p.device))
    cols = [problem.outputs.index(f) for f in obs.fields]
    r = fit[:, cols].cpu().double().numpy() - obs.y
    return float(np.sqrt(np.mean(r ** 2)))
