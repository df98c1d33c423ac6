"""Errors a user can act on.

Every message is one line meant for a person: the UI shows it in a ``gr.Error``,
the CLI prints it on stderr and exits non-zero. Anything else that escapes is a bug.
"""


class StudioError(Exception):
    """Base class: a clear one-line reason the user can act on."""


class ModelNotFound(StudioError):
    """A model spec names no bundled model, local folder or Hub repo/file/revision."""


class OfflineError(StudioError):
    """The Hub is unreachable (or HF_HUB_OFFLINE is set) and nothing is cached."""


class BadModel(StudioError):
    """A model folder exists but its config or weights do not fit."""


class BadInput(StudioError):
    """A parameter, prompt or upload is invalid."""


class Busy(StudioError):
    """The engine is at its cap for new work."""


class Cancelled(StudioError):
    """The job was cancelled before it finished."""


class Diverged(StudioError):
    """Training produced NaN or inf losses."""
