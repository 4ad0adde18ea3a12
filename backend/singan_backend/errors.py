"""Errors a user can cause, each with a stable code and a message that says what to do.

The CLI prints `message` on one line; the server sends `code` + `message` in an error event.
"""


class SinGANError(Exception):
    """Base of every error the backend raises on purpose."""

    code = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UserError(SinGANError):
    """Bad input: a file, an option, an image. Never a bug."""

    code = "bad_request"


class BadImage(UserError):
    code = "bad_image"


class BadOption(UserError):
    code = "bad_option"


class ModelNotFound(UserError):
    code = "model_not_found"


class BadModelId(ModelNotFound):
    """A model reference that is not a name inside the models folder ("..", "/etc", ...)."""


class CorruptModel(UserError):
    code = "corrupt_model"


class DiskFull(SinGANError):
    """A write failed for want of space; what was saved before stays (atomic writes)."""

    code = "disk_full"


class Cancelled(SinGANError):
    """Raised inside a job when its should_stop() callback said so."""

    code = "cancelled"
