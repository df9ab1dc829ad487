"""The one error type the data package raises for bad files and directories."""

from scratchgen.errors import ScratchgenError


class DataError(ScratchgenError, ValueError):
    """A dataset could not be read: missing directory or file, bad header, truncated payload, bad encoding.

    It is a ValueError, so callers that already catch bad input keep working; the message always names
    the file (or directory) and what was wrong with it, so a user can fix the problem without a traceback.
    """
