"""The one exception type whose message is shown to the user as is (no traceback)."""


class PinnFitError(Exception):
    """A problem with the user's input or run, with a message naming the cause and the fix."""

    exit_code = 2


class DivergedError(PinnFitError):
    """A loss, gradient or unknown became NaN/Inf during training: where and which."""

    exit_code = 3

    def __init__(self, message, step=None, phase=None, terms=()):
        super().__init__(message)
        self.step, self.phase, self.terms = step, phase, list(terms)
