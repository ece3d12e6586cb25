"""Console progress: a rich bar per phase on a terminal, plain log lines otherwise."""
import logging
import sys

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("pinn-fit")


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
