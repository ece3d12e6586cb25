"""The one exception type whose message is shown to the user as is (no traceback)."""


class PinnFitError(Exception):
    """A problem with the user's input or run, with a message naming the cause and the fix.
    `status` is what summary.json says of a run that stops on it; `record()` the fields it adds
    there."""

    exit_code = 2
    status = "failed"

    def record(self) -> dict:
        return {}


class DivergedError(PinnFitError):
    """Training collapsed numerically: a loss, gradient or unknown became NaN/Inf, an unknown
    with transform log underflowed to 0, or the loss blew up (Trainer._check): where and which."""

    exit_code = 3
    status = "diverged"

    def __init__(self, message, step=None, phase=None, terms=()):
        super().__init__(message)
        self.step, self.phase, self.terms = step, phase, list(terms)

    def record(self) -> dict:
        return {"diverged_at": {"step": self.step, "phase": self.phase, "terms": self.terms}}


class StalledError(PinnFitError):
    """Training ran to its end, but an unknown never moved from where its training started
    (training.health.Health.check_stalled): its estimate is only the guess."""

    exit_code = 4
    status = "stalled"

    def __init__(self, message, unknowns=()):
        super().__init__(message)
        self.unknowns = list(unknowns)

    def record(self) -> dict:
        return {"stalled": self.unknowns}
