"""`pinn-inspect PATH`: one table of the runs in a run folder, a sweep folder or a whole
outputs/ or multirun/ tree (pinn_cli.io.runs), with seed collapsing, sorting, filtering, export,
pivot tables and overlay plots."""
import argparse
import io
import json
import math
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pinn_cli import __version__
from pinn_cli.io.runs import Unreadable, find_runs, order, pivot, table, write_csv


def _parser():
    p = argparse.ArgumentParser(
        prog="pinn-inspect",
        description="Tabulate pinn-fit runs: one row per setting, runs that differ only by seed "
                    "collapsed into mean ± std.",
        epilog="Examples:\n  pinn-inspect multirun/2026-11-26/10-00-00-000000\n"
               "  pinn-inspect outputs --sort nu_rel_error --filter status=completed\n"
               "  pinn-inspect SWEEP --pivot data.n_obs,data.noise\n"
               "  pinn-inspect SWEEP --pivot data.noise\n"
               "  pinn-inspect SWEEP --csv runs.csv --plot\n"
               "  pinn-inspect SWEEP --pivot data.noise --report",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"pinn-inspect {__version__}")
    p.add_argument("path", type=Path, help="a run folder, a sweep folder, or a tree of them")
    p.add_argument("--sort", metavar="COLUMN", help="sort by this column (e.g. nu_rel_error, "
                   "wall_s, data.n_obs)")
    p.add_argument("--filter", metavar="KEY=VALUE", action="append", default=[],
                   help="keep rows whose column KEY equals VALUE (repeatable)")
    p.add_argument("--csv", metavar="FILE", help="write the table as CSV ('-': stdout)")
    p.add_argument("--json", metavar="FILE", help="write the table as JSON ('-': stdout)")
    p.add_argument("--pivot", metavar="ROW,COL", help="mean ± std relative error of each "
                   "unknown with ROW's values down and COL's across; one KEY: each unknown's "
                   "error against KEY's values")
    p.add_argument("--plot", action="store_true", help="write overlay plots into PATH")
    p.add_argument("--report", action="store_true", help="write PATH/report.html for a sweep "
                   "folder: the table, each unknown's error against the swept settings, links "
                   "to the jobs' reports and the jobs that did not complete")
    return p


def _fmt(v, err=False):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{100 * v:.3g}" if err else f"{v:.5g}"
    return str(v)


def _pm(mean, std, err=False):
    if mean is None:
        return "-"
    return _fmt(mean, err) + (f" ± {_fmt(std, err)}" if std else "") + (" %" if err else "")


def _setting(key, value):
    """A setting's cell: a `_target_` by its class or function name (pinn_cli.training.weighting.NTK:
    NTK; the CSV and JSON keep the full path)."""
    if key.endswith("_target_") and isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    return _fmt(value)


def _unknowns(rows):
    return sorted({k[:-len("_truth")] for r in rows for k in r if k.endswith("_truth")})


def _settings(rows, names):
    """The setting columns: keys that are not results and whose value is not the same in every
    row shown (a --filter can make one constant)."""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r)
            if k not in ("status", "seeds", "wall_s", "folder") and not k.startswith("loss:")
            and not any(k == n or k.startswith(n + "_") for n in names)]
    return [k for k in keys if len({json.dumps(r.get(k), default=str) for r in rows}) > 1]


def _title(key):
    return key[:-len("._target_")] if key.endswith("._target_") else key


def _results(r, names, warned):
    """A row's result cells: status, seeds, each unknown's four, the runs with warnings (where
    `warned`: some run had diagnostics), final loss, wall time."""
    losses = [v for k, v in r.items() if k.startswith("loss:") and v is not None]
    status = "unreadable (below)" if r["status"].startswith("unreadable:") else r["status"]
    cells = [status, str(r["seeds"])]
    for n in names:
        cells += [_pm(r.get(n), r.get(f"{n}_std")), _fmt(r.get(f"{n}_truth")),
                  _pm(r.get(f"{n}_rel_error"), r.get(f"{n}_rel_error_std"), err=True),
                  _fmt(r.get(f"{n}_identifiable"))]
    warned = [_fmt(r.get("warned"))] if warned else []
    return cells + warned + [_fmt(sum(losses)) if losses else "-", _fmt(r.get("wall_s"))]


def _width(titles, cells):
    """The width of columns as wide as their widest cell or title, with rich's borders."""
    return sum(max([len(t)] + [len(c[i]) for c in cells]) + 3 for i, t in enumerate(titles)) + 1


def render(rows, console):
    """One row per setting. The settings that tell rows apart come first, as wide as their
    values; where they and the results do not fit the console together (mixed runs differ in
    dozens of keys), they fold into one last column, KEY=VALUE a line, so the unknowns' columns
    stay on screen."""
    names = _unknowns(rows)
    keys = _settings(rows, names)
    titles = ["status", "seeds"] + [f"{n} {c}" for n in names for c in (
        "(mean ± std)", "truth", "rel. error", "identifiable")]
    warned = any(r.get("warned") is not None for r in rows)
    titles += ["warned"] * warned + ["final loss", "wall s"]
    results = [_results(r, names, warned) for r in rows]
    settings = [[_setting(k, r.get(k)) for k in keys] for r in rows]
    wide = _width([_title(k) for k in keys] + titles, [a + b for a, b in zip(settings, results)])
    folded = len(keys) > 1 and wide > console.width
    t = Table(show_lines=folded)
    if folded:  # one cell per row: KEY=VALUE a line
        settings = [["\n".join(f"{_title(k)}={v}" for k, v in zip(keys, row))] for row in settings]
    else:
        for i, k in enumerate(keys):  # as wide as their values, never cut short
            t.add_column(Text(_title(k)), overflow="fold",
                         min_width=max(len(row[i]) for row in settings))
    for title in titles:
        t.add_column(Text(title), justify="left" if title in ("status", "seeds") else "right")
    if folded:
        t.add_column(Text("settings"), overflow="fold")
    for r, cells, values in zip(rows, results, settings):
        style = None if r["status"] == "completed" else "yellow"
        shown = cells + values if folded else values + cells
        t.add_row(*map(Text, shown), style=style)  # text as written, never rich markup
    console.print(t)


def render_pivot(rows, spec, console):
    """--pivot ROW,COL: a table per unknown with ROW's values down and COL's across; --pivot
    KEY: one table, KEY's values down and each unknown's relative error across."""
    axes = spec.split(",")
    if len(axes) not in (1, 2) or not all(axes):
        raise SystemExit("pinn-inspect: --pivot takes one column, KEY (e.g. data.noise), or "
                         "two, ROW,COL (e.g. data.n_obs,data.noise)")
    missing = [k for k in axes if not any(k in r for r in rows)]
    if missing:
        cols = sorted({k for r in rows for k in r if "." in k or k == "seed"})
        raise SystemExit(f"pinn-inspect: --pivot {missing} do not vary between these runs; "
                         f"columns that do: {cols}")
    if len(axes) == 1:
        return _render_line(rows, axes[0], console)
    row_key, col_key = axes
    for n in _unknowns(rows):
        table_ = pivot(rows, row_key, col_key, n)
        cols = sorted({c for v in table_.values() for c in v}, key=order)
        t = Table(title=Text(f"{n}: relative error, mean ± std over seeds (n seeds)"))
        t.add_column(Text(f"{row_key} \\ {col_key}"))
        for c in cols:
            t.add_column(Text(str(c)), justify="right")
        for rv in sorted(table_, key=order):
            t.add_row(Text(str(rv)), *(_cell(table_[rv][c]) if c in table_[rv] else Text("-")
                                       for c in cols))
        console.print(t)


def _cell(entry):
    mean, std, seeds = entry
    return Text(f"{_pm(mean, std, err=True)} ({seeds})")


def _render_line(rows, key, console):
    """--pivot KEY: the relative error of each unknown against KEY, seeds collapsed. Refused
    where another setting varies too: its runs would be averaged with KEY's."""
    others = [k for k in _settings([r for r in rows if r["status"] == "completed"],
                                   _unknowns(rows)) if k != key]
    if others:
        raise SystemExit(f"pinn-inspect: --pivot {key}: {', '.join(others)} vary too, and their "
                         f"runs would be averaged together; pivot on two keys (--pivot "
                         f"{key},{others[0]}) or keep one value (--filter {others[0]}=VALUE)")
    names = _unknowns(rows)
    lines = {n: pivot(rows, key, None, n) for n in names}
    t = Table(title=Text("relative error, mean ± std over seeds (n seeds)"))
    t.add_column(Text(key))
    for n in names:
        t.add_column(Text(f"{n} rel. error"), justify="right")
    for v in sorted({v for line in lines.values() for v in line}, key=order):
        t.add_row(Text(str(v)), *(_cell(lines[n][v][None]) if v in lines[n] else Text("-")
                                  for n in names))
    console.print(t)


def _filter(rows, specs):
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep:
            raise SystemExit(f"pinn-inspect: --filter {spec!r}: write KEY=VALUE")
        rows = [r for r in rows if str(r.get(key)) == value]
    return rows


def _sort(rows, key):
    if not any(key in r for r in rows):
        raise SystemExit(f"pinn-inspect: --sort {key!r} is not a column; columns: "
                         f"{sorted({k for r in rows for k in r})}")
    return sorted(rows, key=lambda r: (r.get(key) is None, order(r.get(key))
                                       if r.get(key) is not None else 0))


def _warn(line):
    print(f"pinn-inspect: {line}", file=sys.stderr)


def _write(target, text):
    try:
        Path(target).write_text(text)
    except OSError as err:
        raise SystemExit(f"pinn-inspect: cannot write {target} ({err.strerror or err}); choose "
                         "another file") from None


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        _main(args)
    except Exception as err:  # not foreseen: one message, never a traceback
        raise SystemExit(
            f"pinn-inspect stopped on an unexpected error ({type(err).__name__}: {err}) reading "
            f"{args.path}. Unless the message points to a damaged file, this is a bug: please "
            "report it") from None


def _main(args):
    if not args.path.exists():
        raise SystemExit(f"pinn-inspect: {args.path} does not exist; pass a run or sweep folder")
    if not args.path.is_dir():
        raise SystemExit(f"pinn-inspect: {args.path} is a file, not a folder; pass a run or "
                         "sweep folder")
    skipped = []
    runs = find_runs(args.path, skipped)
    for line in skipped:
        _warn(line)
    if not runs:
        raise SystemExit(f"pinn-inspect: no run folders (with .hydra/config.yaml) under "
                         f"{args.path}")
    if args.report:
        _check_sweep(args.path, runs)
    damaged = [r for r in runs if r.status.startswith("unreadable:")]
    if len(damaged) == len(runs):
        for r in damaged:
            _warn(f"{r.folder}: {r.status}")
        raise SystemExit(f"pinn-inspect: no run under {args.path} can be read (above)")
    rows = _filter(table(runs), args.filter)
    if args.sort:
        rows = _sort(rows, args.sort)
    to_stderr = args.csv == "-" or args.json == "-"
    console = Console(stderr=to_stderr, record=args.report)
    if not console.is_terminal:  # a pipe or a file: no wrapping at 80 columns
        console = Console(stderr=to_stderr, width=200, record=args.report)
    if args.csv == "-":
        write_csv(rows, sys.stdout)
    elif args.csv:
        buf = io.StringIO()
        write_csv(rows, buf)
        _write(args.csv, buf.getvalue())
    if args.json:
        text = json.dumps(rows, indent=2, default=str)
        sys.stdout.write(text + "\n") if args.json == "-" else _write(args.json, text)
    if args.pivot:
        render_pivot(rows, args.pivot, console)
    else:
        render(rows, console)
    printed = console.export_text() if args.report else ""
    for r in damaged:  # under the table, in full: why each unreadable run is one
        console.print(Text(f"{r.folder}: {r.status}"), soft_wrap=True)
    for r in runs:  # and what the diagnostics warned of, run by run
        for w in r.warnings or []:
            console.print(Text(f"{r.folder}: warning: {w}"), soft_wrap=True)
    console.print(Text(f"{len(runs)} runs in {args.path}, {len(rows)} rows" +
                       (f", {len(damaged)} unreadable" if damaged else "")))
    if args.plot:
        from pinn_cli.io.run_plots import NotWritable, plot_runs

        try:
            for path in plot_runs(runs, args.path, warn=_warn):
                console.print(Text(f"wrote {path}"))
        except (NotWritable, Unreadable) as err:
            raise SystemExit(f"pinn-inspect: {err}") from None
    if args.report:
        from pinn_cli.io.sweep_report import write_sweep_report

        try:
            path = write_sweep_report(args.path, runs, printed)
        except OSError as err:
            raise SystemExit(f"pinn-inspect: cannot write {args.path / 'report.html'} "
                             f"({err.strerror or err}); copy the sweep folder to a place you "
                             "can write and run pinn-inspect COPY --report") from None
        console.print(Text(f"wrote {path}"))


def _check_sweep(path, runs):
    """--report takes one sweep folder: its jobs are its subfolders, it is no run itself."""
    if any(r.folder == path for r in runs):
        raise SystemExit(f"pinn-inspect: --report takes a sweep folder; {path} is a run folder, "
                         "whose own report.html a run with plots=true writes")
    if not (path / "multirun.yaml").is_file() and any(r.folder.parent != path for r in runs):
        raise SystemExit(f"pinn-inspect: --report takes a sweep folder (the folder of one "
                         f"pinn-fit -m sweep, its jobs in subfolders 0, 1, ...); {path} holds "
                         "runs deeper down: pass one sweep folder")
