"""What a run reports of its unknowns: the `unknowns` block of summary.json, the diagnostics'
verdicts it keeps, and the objective a sweeper minimises."""


def unknowns_report(problem, truth, estimates) -> dict:
    """The `unknowns` block of summary.json: per unknown its estimate, truth, guess and relative
    error (None without a nonzero truth)."""
    out = {}
    for u in problem.unknowns:
        t = truth[u.name]
        out[u.name] = {"estimate": estimates[u.name], "truth": t, "guess": u.guess,
                       "rel_error": abs(estimates[u.name] - t) / abs(t) if t not in (None, 0)
                       else None}
    return out


def verdicts(diagnostics):
    """What summary.json keeps of identifiability.json: per unknown, the verdict line, the 95 %
    interval with its std (the network's error in it) and the classical estimate with its
    Cramér–Rao std; and the warnings."""
    c = diagnostics.get("classical", {})
    return {"verdicts": diagnostics.get("verdict", {}),
            "intervals": {k: {"interval95": v["interval95"], "std": v["std"],
                              "network_std": v.get("network_std"), "data_std": v["data_std"]}
                          for k, v in diagnostics.get("interval", {}).items()},
            "classical": {k: {"estimate": v, "crlb_std": c["crlb_std"][k]}
                          for k, v in c.get("estimate", {}).items()},
            "warnings": diagnostics.get("warnings", [])}


def objective(report, row, fields=None) -> float:
    """What a sweeper minimises (hydra/sweeper=optuna): the largest relative error of the
    unknowns (of an unknown field: its relative L2 error) when every truth is known, else the
    final weighted loss."""
    errors = [r["rel_error"] for r in report.values()] + \
        [f["rel_l2"] for f in (fields or {}).values()]
    if errors and None not in errors:
        return max(errors)
    return row.total if row else float("inf")
