"""Verdicts in words: what the data identify (from the classical fit's Cramér–Rao bound), the
interval of each unknown with the network's own error in it, how the PINN's estimate compares
with the classical fit, and warnings read from the run's logs (an unknown with negligible
gradient, pinned at a bound, still drifting; a loss weight that exploded)."""
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
             equation_std: float | None, rel_std_limit: float) -> Dict:
    """The reported 95 % interval of `name`, which accounts for the network as well as the data:

        std = sqrt(s_data² + s_net²),   interval = center ± 1.96 std,

    - center and s_data: the profile's (diagnostics=full, a profile with curvature), else the
      PINN's estimate and the Cramér–Rao std of an identifying classical fit, else the estimate
      and no data term (the data's noise is then not in the interval: say so);
    - s_net, the network's own error: the larger of its equation std
      (pinn_cli.diagnostics.equation_error) and, where a classical fit identifies the unknown,
      the gap |center − classical| (both estimates fit the same observations, so the gap is
      mostly the network's error: burgers1d, 1 % noise, ν +1 % on average).

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
    if not math.isfinite(std):
        return out | {"std": None, "interval95": None}
    return out | {"network_std": net, "std": std,
                  "interval95": [out["center"] - Z95 * std, out["center"] + Z95 * std]}


def interval_warnings(intervals: Dict[str, Dict], classical: Dict,
                      rel_std_limit: float) -> List[str]:
    """Warnings on the reported intervals: an unknown the PINN determines only loosely (its
    interval wider than ± rel_std_limit), one off an identifying classical fit by more than 3
    Cramér–Rao stds and 1 %."""
    out = []
    for name, iv in intervals.items():
        if iv["std"] is None:
            out.append(f"{name}: no interval (a flat profile, or the equations do not depend on "
                       "it at the residual points): the data and equations do not pin it down")
            continue
        rel = iv["std"] / max(abs(iv["center"]), 1e-300)
        if rel > rel_std_limit / 2:
            out.append(f"{name} is determined only to ± {100 * Z95 * rel:.2g} % (95 %), mostly "
                       + ("by the network's own equation error: its fields do not satisfy the "
                          "equations closely (train longer, or a larger network such as "
                          "arch=modified_mlp; docs/remedies.md)" if iv["network_std"] >=
                          (iv["data_std"] or 0.0) else "by the data's noise"))
        gap, c = iv["classical_gap"], classical.get("crlb_std", {}).get(name)
        if gap is not None and c is not None and gap > 3 * c and \
                gap > 0.01 * abs(classical["estimate"][name]):
            out.append(f"{name}: the PINN is {100 * gap / abs(classical['estimate'][name]):.2g} "
                       "% off the classical fit of the same data: do not trust it yet (train "
                       "longer, check the weighting)")
    return out


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
    """One line per unknown: PINN estimate, its interval (report["interval"]), the classical
    estimate ± CRLB std, and whether the data identify it (CRLB relative std below
    `rel_std_limit`)."""
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
            line += (f", {iv['center']:.6g} ± {iv['std']:.2g} ({', '.join(parts)}; 95 % "
                     f"[{lo:.6g}, {hi:.6g}])")
        if p is not None and (p["flat"] or p["std"] > rel_std_limit * abs(est)):
            line += ": WEAKLY identifiable by the PINN's own profile" + \
                (" (flat)" if p["flat"] else "")
        if "estimate" in c:
            std = c["crlb_std"][name]
            ok = identifies(c, name, rel_std_limit)
            std = std if std is not None and math.isfinite(std) else math.inf
            line += (f", classical {c['estimate'][name]:.6g} ± {std:.2g} (Cramér–Rao, "
                     f"σ from the {c['sigma_source'].split(' (')[0]}), "
                     + ("identifiable" if ok else "WEAKLY identifiable: the data barely "
                        "constrain it"))
        else:
            line += f", no classical cross-check ({c.get('skipped', 'off')})"
        lines[name] = line
    return lines
