"""Verdicts in words: what the data identify (from the classical fit's Cramér–Rao bound), how
the PINN's estimate compares with it, and warnings read from the run's logs (an unknown with
negligible gradient, pinned at a bound, still drifting; a loss weight that exploded)."""
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
