"""The benchmarks' target arithmetic (their pass/fail lines), on made-up run records."""
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import burgers_raissi  # noqa: E402
import fields  # noqa: E402
import vs_deepxde  # noqa: E402

NU = vs_deepxde.TRUTH["nu"]


def _rows(*pairs):
    """(seconds, lambda1 rel. error, nu rel. error) -> vs_deepxde's (seconds, values) rows."""
    return [(s, {"lambda1": 1 + a, "nu": NU * (1 + b)}) for s, a, b in pairs]


def test_figures_time_to_1pct_needs_both_unknowns_and_budgets_take_the_last_row():
    rows = _rows((0.0, -1.0, 2.1), (8.0, 0.005, 0.02), (12.0, 0.009, -0.0099),
                 (40.0, 0.001, 0.002))
    f = vs_deepxde.figures(rows, 41.0)
    assert f["seconds_to_1pct"] == 12.0  # at 8 s nu is still 2 % off
    assert f["errors_pct_at_budget"][10]["nu"] == pytest.approx(2.0)
    assert f["errors_pct_at_budget"][30]["lambda1"] == pytest.approx(0.9)
    assert f["errors_pct_at_budget"][60]["nu"] == pytest.approx(0.2)
    assert f["final_errors_pct"]["lambda1"] == pytest.approx(0.1)
    assert vs_deepxde.figures(_rows((5.0, 0.5, 0.5)), 5.0)["seconds_to_1pct"] is None


def test_speedup_line_passes_from_5x():
    assert vs_deepxde.speedup_line("", 5.0, "-").endswith("5.00x (target >= 5x): pass")
    assert vs_deepxde.speedup_line(" (medians)", 3.94, "-") == \
        "speed-up to 1 % (medians): 3.94x (target >= 5x): FAIL"
    assert vs_deepxde.speedup_line("", None, "one never reached 1 %") == \
        "speed-up to 1 %: not defined (one never reached 1 %)"


def test_first_within_and_seed_ranges():
    truth = {"lambda1": 1.0, "nu": NU}
    rows = [{"elapsed_s": "3.0", "lambda1": "0.5", "nu": str(NU)},
            {"elapsed_s": "9.5", "lambda1": "1.0005", "nu": str(NU * 1.002)},
            {"elapsed_s": "20.0", "lambda1": "1.0", "nu": str(NU * 1.0005)}]
    assert burgers_raissi.first_within(rows, truth, 0.01) == 9.5
    assert burgers_raissi.first_within(rows, truth, 0.001) == 20.0
    assert burgers_raissi.first_within(rows, truth, 1e-6) is None
    assert burgers_raissi.seeds_of("0-3") == [0, 1, 2, 3]
    assert burgers_raissi.seeds_of("0,5") == [0, 5]


def _run(seed, nu_err_pct, wall=200.0, crlb=0.004):
    return {"seed": seed, "wall_seconds": wall, "truth": {"nu": NU},
            "estimates": {"nu": NU * (1 + nu_err_pct / 100)},
            "rel_errors_pct": {"nu": abs(nu_err_pct)}, "crlb_rel_std": {"nu": crlb}}


def test_clean_target_needs_0_1pct_within_300_s():
    lines = burgers_raissi.targets([_run(0, 0.05), _run(1, -0.154), _run(2, 0.05, wall=301)],
                                   noise=0)
    assert [ok for _, ok in lines] == [True, False, False]
    assert "worst 0.154 %" in lines[1][0]


def test_noisy_target_compares_the_spread_with_twice_the_bound():
    runs = [_run(s, e) for s, e in enumerate((0.4, -0.4, 0.4, -0.4))]  # spread 0.462 %
    (text, ok), = burgers_raissi.targets(runs, noise=0.01)
    assert ok and "ratio 1.15" in text
    (text, ok), = burgers_raissi.targets([_run(s, e, crlb=0.002) for s, e in
                                          enumerate((0.4, -0.4, 0.4, -0.4))], noise=0.01)
    assert not ok and math.isclose(float(text.split("ratio ")[1].split(";")[0]), 2.31)


def _flow(noise, error_pct, covered, warnings=0, wall=100.0, crlb=1e-5):
    truth = 0.01
    return {"case": f"c{error_pct}", "status": "completed", "noise": noise, "truth": truth,
            "estimate": truth * (1 + error_pct / 100), "error_pct": abs(error_pct),
            "covered": covered, "crlb_std": crlb, "warnings": warnings, "wall_s": wall}


def test_flow_targets_count_silent_misses_coverage_and_the_worst_run():
    import flows

    rows = [_flow(0, 0.5, True), _flow(0, -1.2, False, warnings=1),
            _flow(0.01, 0.2, True), _flow(0.01, 0.1, True, wall=700)]
    lines = dict((text.split(" (")[0].split(":")[0], ok) for text, ok in flows.targets(rows))
    assert lines["clean"] is False  # 1.2 % > 1 %
    assert lines["1 % noise"] is True  # 0.2 % of 0.01 = 2e-5 = 2 Cramér–Rao stds
    assert lines["excluded truths without a warning"] is True  # the miss was warned about
    assert lines["coverage 3/4"] is False and lines["slowest run 700 s"] is False
    silent = flows.targets([_flow(0, 0.5, False)])
    assert ("excluded truths without a warning: 1 ['c0.5']", False) in silent


def test_field_targets_take_the_worst_run_and_count_a_failed_one():
    row = lambda noise, err, wall=60.0: {"problem": "p", "noise": noise, "rel_l2_pct": err,
                                         "wall_s": wall}
    lines, ok = fields.summarise([row(0.0, 1.0), row(0.0, 1.9), row(0.01, 4.0)])
    assert ok and lines[1] == "p | 0 | 2 | 1.45 % | 1.90 % | <= 2 %: met | 60 s"
    assert not fields.summarise([row(0.0, 1.0), row(0.0, 2.1)])[1]
    assert not fields.summarise([row(0.01, 1.0, wall=601.0)])[1]
    failed = {"problem": "p", "noise": 0.0, "status": "exit 1", "wall_s": 3.0}
    lines, ok = fields.summarise([row(0.0, 1.0), failed])
    assert not ok and "inf %" in lines[1]
