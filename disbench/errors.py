"""The two kinds of failure a user can meet, and the exit code of each.

The CLI turns these into one line on stderr and the documented exit code; any
other exception is a bug and shows a traceback only under ``--debug``.
"""

from __future__ import annotations


class DisbenchError(Exception):
    """A failure at run time (exit 1): bad data file, corrupt checkpoint, NaN loss."""

    exit_code = 1


class UsageError(DisbenchError):
    """The user asked for something that does not exist or cannot be (exit 2)."""

    exit_code = 2
