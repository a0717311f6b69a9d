"""The error every reader of recordings raises."""


class RecordingError(ValueError):
    """A recording that cannot be read or written; the message names the file and the fix."""
