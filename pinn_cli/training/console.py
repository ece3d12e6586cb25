"""Console progress: a rich bar per phase on a terminal, plain log lines otherwise."""
import logging
import sys

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("pinn-fit")


def rich_handler(**kwargs):
    """The console's log handler (conf/hydra/job_logging/pinn_fit.yaml): rich on a terminal
    or in a notebook; into a pipe or a file, the same `LEVEL    message` lines unwrapped, so
    that a path in a message (the last line's report.html) stays whole for grep and copy."""
    from rich.console import Console
    from rich.logging import RichHandler

    console = Console()
    if console.is_terminal or console.is_jupyter:
        return RichHandler(**kwargs)
    handler = _PlainHandler()
    handler.setFormatter(_PlainFormatter())
    return handler


class _PlainHandler(logging.StreamHandler):
    """To whatever sys.stdout is when a line is written (as rich's console does)."""

    def emit(self, record):
        self.stream = sys.stdout
        super().emit(record)


class _PlainFormatter(logging.Formatter):
    def format(self, record):
        text = super().format(record)
        return f"{record.levelname:<8} " + text.replace("\n", "\n" + " " * 9)


class Reporter:
    def __init__(self, phases, interactive: bool | None = None):
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self.progress, self.tasks = None, {}
        if self.interactive:
            self.progress = Progress(TextColumn("{task.description:>9}"), BarColumn(),
                                     TextColumn("{task.completed}/{task.total}"),
                                     TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                     TimeRemainingColumn())
            self.tasks = {p.name: self.progress.add_task(p.name, total=p.steps, status="")
                          for p in phases}
            self.progress.start()

    @staticmethod
    def _status(loss, params):
        return f"loss {loss:.3e}  " + "  ".join(f"{k}={float(v):.6g}" for k, v in params.items())

    def progress_step(self, phase, done, loss, params):
        if self.progress is not None and (done % 10 == 0 or done == phase.steps):
            self.progress.update(self.tasks[phase.name], completed=done,
                                 status=self._status(loss, params))

    def row(self, row):
        if not self.interactive:
            log.info("[%s] step %d  %s", row.phase, row.step, self._status(row.total, row.unknowns))

    def close(self):
        if self.progress is not None:
            self.progress.stop()
