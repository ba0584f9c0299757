"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""


class ColorizeError(Exception):
    """Base class: the message names the file and the fix."""


class OutputError(ColorizeError):
    """The output location itself is unusable (full, read-only, forbidden): every later write would fail too."""


class MissingDependencyError(ColorizeError):
    """An optional package this command needs is not installed; the message is the one-line install hint."""


class UsageError(ColorizeError):
    """The command line asked for something that does not exist (an unknown model, a missing model file, a
    bad output name): the CLI exits 2, as for any usage error."""
