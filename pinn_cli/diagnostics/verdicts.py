"""Verdicts in words: what the data identify (from the classical fit's Cramér–Rao bound) and,
separately, whether the PINN's estimate agrees with the classical fit in Cramér–Rao stds (or
that the reference model misses the data), the interval of each unknown with the network's own
error in it (in log k for an unknown with `transform: log`), and warnings read from the run's
logs (an unknown with negligible gradient, pinned at a bound, still moving; a loss weight that
exploded)."""
import math
from typing import Dict, List

from pinn_cli.diagnostics.profile import Z95


def identifies(classical: Dict, name: str, rel_std_limit: float) -> bool:
    """Whether the classical fit pins `name` down: its Cramér–Rao relative std is finite and
    below `rel_std_limit` (diagnostics.identifiable_rel_std)."""
    if "estimate" not in classical:
        return False
    rel = classical["crlb_rel_std"].get(name)
    return rel is not None and math.isfinite(rel) and rel < rel_std_limit


def interval(name: str, estimate: float, classical: Dict, profile: Dict | None,
             equation_std: float | None, rel_std_limit: float, log_scale: bool = False) -> Dict:
    """The reported 95 % interval of `name`, which accounts for the network as well as the data:

        std = sqrt(s_data² + s_net²),   interval = center ± 1.96 std,

    - center and s_data: the profile's (diagnostics=full, a profile with curvature), else the
      PINN's estimate and the Cramér–Rao std of an identifying classical fit, else the estimate
      and no data term (the data's noise is then not in the interval: say so);
    - s_net, the network's own error: the larger of its equation std
      (pinn_cli.diagnostics.equation_error) and, where a classical fit identifies the unknown,
      the gap |center − classical| (both estimates fit the same observations, so the gap is
      mostly the network's error: burgers1d, 1 % noise, ν +1 % on average).

    `log_scale` (an unknown with `transform: log`, positive by construction): the same errors
    are combined as relative errors in log k, σ_log = sqrt((s_data/center)² + (s_net/center)²)
    = std/center, and the interval is [center·exp(−1.96 σ_log), center·exp(+1.96 σ_log)]:
    positive and asymmetric, and the symmetric one to first order in σ_log. A profile centred
    at or below 0 gives no such interval (None).

    A flat profile or an unknown the equations do not reach (equation std inf) gives no
    interval (None); equation_std None: not measured (no network), no term for it."""
    out = {"center": estimate, "data_std": None, "data_source": None,
           "equation_std": equation_std, "classical_gap": None}
    if profile is not None and profile["flat"]:
        return out | {"std": None, "interval95": None}
    if profile is not None:
        out |= {"center": profile["center"], "data_std": profile["std"], "data_source": "profile"}
    if identifies(classical, name, rel_std_limit):
        if profile is None:
            out |= {"data_std": classical["crlb_std"][name], "data_source": "Cramér–Rao"}
        out["classical_gap"] = abs(out["center"] - classical["estimate"][name])
    net = max(equation_std or 0.0, out["classical_gap"] or 0.0)
    std = math.hypot(out["data_std"] or 0.0, net)
    if not math.isfinite(std) or (log_scale and not out["center"] > 0):
        return out | {"std": None, "interval95": None}
    c = out["center"]
    if log_scale:
        sigma_log = std / c
        bounds = [c * math.exp(-Z95 * sigma_log), c * math.exp(Z95 * sigma_log)]
    else:
        bounds = [c - Z95 * std, c + Z95 * std]
    return out | {"network_std": net, "std": std, "interval95": bounds}


def spread(iv: Dict, log_scale: bool) -> str:
    """The 95 % interval of `iv` relative to its centre: "± x %", or for a log-scale interval
    (asymmetric) "−x %/+y %"."""
    lo, hi = iv["interval95"]
    c = max(abs(iv["center"]), 1e-300)
    if not log_scale:
        return f"± {_pct((hi - iv['center']) / c)} %"
    return f"−{_pct((iv['center'] - lo) / c)} %/+{_pct((hi - iv['center']) / c)} %"


def interval_warnings(intervals: Dict[str, Dict], classical: Dict,
                      rel_std_limit: float, log_scale=()) -> List[str]:
    """Warnings on the reported intervals: an unknown the PINN determines only loosely (its
    interval wider than ± rel_std_limit; `log_scale`, the names of unknowns whose interval is
    computed in log k, are given as −x %/+y %), one without an interval. A PINN far off an
    identifying classical fit is not repeated here: its verdict line says so (classical_says)."""
    out = []
    for name, iv in intervals.items():
        if iv["std"] is None:
            out.append(f"{name}: no interval (a flat profile, one centred at or below 0 for a "
                       "positive unknown, or the equations do not depend on it at the residual "
                       "points): the data and equations do not pin it down")
            continue
        rel = iv["std"] / max(abs(iv["center"]), 1e-300)
        if rel > rel_std_limit / 2:
            out.append(f"{name} is determined only to {spread(iv, name in log_scale)} (95 %), "
                       "mostly "
                       + ("by the network's own equation error: its fields do not satisfy the "
                          "equations closely (train longer, or a larger network such as "
                          "arch=modified_mlp; docs/remedies.md)" if iv["network_std"] >=
                          (iv["data_std"] or 0.0) else "by the data's noise"))
    return out


MOVE_LIMIT = 0.01
"""Relative movement of an unknown over the final phase's tail above which the run has not
converged. Completed default runs (burgers2d, Taylor-Green, 0-1 % noise, the default
schedule) move at most 0.3 % over the last 20 % of their L-BFGS phase; a run stopped
after 100 identify steps moves by tens of %."""
TAIL = 0.2  # the tail: the last 20 % of the final phase's steps (at least its last two rows)


def _final_tail(log: Dict) -> List[int]:
    """Row indices of the final phase's tail in `log` (columns step, phase)."""
    phase = log["phase"][-1]
    rows = [i for i, p in enumerate(log["phase"]) if p == phase]
    first, last = log["step"][rows[0]], log["step"][rows[-1]]
    tail = [i for i in rows if log["step"][i] >= last - TAIL * (last - first)]
    return tail if len(tail) >= 2 else rows[-2:]


def convergence_warnings(problem, params: Dict, losses: Dict | None) -> List[str]:
    """A warning per unknown that moved more than MOVE_LIMIT (relative) over the final phase's
    tail, with the total loss's fall per 100 steps over that tail. The loss alone decides
    nothing: under L-BFGS it keeps falling 1-12 % per 100 steps in completed default runs whose
    unknowns have settled (the network still refines its fields)."""
    tail = _final_tail(params)
    if len(tail) < 2:
        return []
    i, j = tail[0], tail[-1]
    steps = params["step"][j] - params["step"][i]
    phase = params["phase"][j]
    fall = ""
    if losses and losses.get("total"):
        loss_tail = _final_tail(losses)
        a, b = loss_tail[0], loss_tail[-1]
        l0, l1 = losses["total"][a], losses["total"][b]
        ds = losses["step"][b] - losses["step"][a]
        rate = 1 - (l1 / l0) ** (100 / ds) if ds > 0 and l0 > 0 and l1 > 0 else 0.0
        fall = f"; loss still falling {100 * rate:.2g} % per 100 steps" if rate > 0 else ""
    out = []
    for u in problem.unknowns:
        k0, k1 = params[u.name][i], params[u.name][j]
        moved = abs(k1 - k0) / max(abs(k1), 1e-300)
        if moved > MOVE_LIMIT:
            out.append(f"{u.name} moved {100 * moved:.2g} % over the last {steps:.0f} steps of "
                       f"the '{phase}' phase{fall}: not converged, train longer (more "
                       f"'{phase}' steps, e.g. schedule.{phase}_steps)")
    return out


def _scale(u, k: float) -> float:
    """A magnitude for unknown `u` at value `k` that does not vanish when k's truth is near 0."""
    width = u.bounds[1] - u.bounds[0] if u.bounds is not None else 0.0
    return max(abs(k), abs(u.guess), width, abs(u.scale))


def training_warnings(problem, estimates, logs) -> List[str]:
    """Warnings read off the run's logs (params.csv, losses.csv, grad_norms.csv columns): an
    unknown whose gradient times its scale (_scale) stayed below 1e-6 of the loss, one pinned
    at a bound, one still moving (convergence_warnings), an exploded loss weight."""
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
        if pulls and total and max(pulls) * _scale(u, k[-1]) < 1e-6 * total:
            out.append(f"{u.name}: its gradient stayed negligible (|dL/d{u.name}| x its scale "
                       "< 1e-6 L): the loss barely feels it")
        if u.bounds is not None and min(abs(k[-1] - b) for b in u.bounds) <= \
                1e-6 * (u.bounds[1] - u.bounds[0]):
            out.append(f"{u.name} = {k[-1]:.6g} ends pinned at a bound {list(u.bounds)}: widen "
                       "the bounds or question the model")
    out += convergence_warnings(problem, params, losses)
    if grads:
        for c, col in grads.items():
            if c.startswith("lambda:") and col and max(col) > 1e4:
                out.append(f"loss weight {c} reached {max(col):.3g}: that term dominates the "
                           "loss and the equations are fitted less closely; bound the weights "
                           "(weighting.max_weight, 1000 unless set) or use weighting=fixed")
    return out


MISFIT_LIMIT = 3.0  # a classical fit whose rms residual exceeds 3 noise stds misses the data
AGREE_BOUNDS = 3.0  # a PINN within 3 Cramér–Rao stds of the classical estimate agrees with it


def _pct(fraction: float) -> str:
    percent = 100 * fraction
    return f"{percent:.2g}" if not 100 <= percent < 1e5 else f"{percent:.0f}"


def classical_says(c: Dict, name: str, est: float, rel_std_limit: float) -> str:
    """What the classical fit `c` says of `name`, in two separate parts: whether the data
    identify it (its Cramér–Rao relative std below `rel_std_limit`: ", identifiable" marks it),
    and whether the PINN's `est` agrees with the classical estimate, in Cramér–Rao stds
    ("bounds"). A fit whose rms residual is over MISFIT_LIMIT noise stds gives no verdict: the
    reference model does not describe these data. Where σ is the fit's own residual (noise in
    the file), the yardstick is the PINN's misfit at the observations instead."""
    misfit = c["rms_residual"] / max(c["sigma"], 1e-300)
    if misfit > MISFIT_LIMIT:
        return f"the reference model does not fit these data (misfit {misfit:.2g}× the noise)"
    pinn = c.get("pinn_rms_residual")
    if c.get("sigma_source", "").startswith("residual") and pinn is not None and \
            c["rms_residual"] > MISFIT_LIMIT * max(pinn, 1e-300):
        return (f"the reference model does not fit these data (misfit "
                f"{c['rms_residual'] / max(pinn, 1e-300):.2g}× the PINN's)")
    if not identifies(c, name, rel_std_limit):
        said = "WEAKLY identifiable: the data barely constrain it"
    else:
        said = f"identifiable: the data identify {name} (± {_pct(c['crlb_rel_std'][name])} %)"
    std, ref = c["crlb_std"][name], c["estimate"][name]
    if std is None or not 0 < std < math.inf:
        return said
    bounds = abs(est - ref) / std
    if bounds <= AGREE_BOUNDS:
        return f"{said}; PINN agrees with the classical fit ({bounds:.1f} bounds)"
    gap = f" ({_pct(abs(est - ref) / abs(ref))} %)" if ref else ""
    return f"{said}; PINN is {bounds:.1f} bounds{gap} from the classical fit: do not trust it yet"


def verdict(report, estimates, rel_std_limit, log_scale=()) -> Dict[str, str]:
    """One line per unknown: PINN estimate, its interval (report["interval"]; for the names in
    `log_scale`, computed in log k, followed by its asymmetric spread −x %/+y %), the classical
    estimate ± CRLB std, and what the classical fit says (classical_says)."""
    c = report.get("classical", {})
    lines = {}
    for name, est in estimates.items():
        line = f"{name} = {est:.6g} (PINN)"
        p = report.get("profile", {}).get(name)
        iv = report.get("interval", {}).get(name)
        if iv is not None and iv["std"] is not None:
            lo, hi = iv["interval95"]
            parts = [f"{iv['data_source']} {iv['data_std']:.2g}"] if iv["data_std"] else \
                ["the data's noise not included"]
            parts.append(f"network {iv['network_std']:.2g}")
            asym = f", {spread(iv, True)} on a log scale" if name in log_scale else ""
            line += (f", {iv['center']:.6g} ± {iv['std']:.2g} ({', '.join(parts)}; 95 % "
                     f"[{lo:.6g}, {hi:.6g}]{asym})")
        if p is not None and (p["flat"] or p["std"] > rel_std_limit * abs(est)):
            line += ": WEAKLY identifiable by the PINN's own profile" + \
                (" (flat)" if p["flat"] else "")
        if "estimate" in c:
            std = c["crlb_std"][name]
            std = std if std is not None and math.isfinite(std) else math.inf
            generic = " (generic solver)" if c.get("reference") else ""
            line += (f", classical{generic} {c['estimate'][name]:.6g} ± {std:.2g} (Cramér–Rao, "
                     f"σ from the {c['sigma_source'].split(' (')[0]}), "
                     + classical_says(c, name, est, rel_std_limit))
        else:
            line += f", no classical cross-check ({c.get('skipped', 'off')})"
        lines[name] = line
    return lines
