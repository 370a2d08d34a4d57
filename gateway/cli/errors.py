"""Exit statuses, the CLI's own errors, and the one line each failure prints."""

from __future__ import annotations

from gateway.admin.errors import AdminError, admin_error
from gateway.config import ConfigError
from ledger.errors import LedgerError

PROG = "smppgw"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line is wrong (exit 2)."""


class Refusal(Exception):
    """The command is understood but refused (exit 1)."""


def describe_error(e: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for an error that ended a command."""
    if isinstance(e, LedgerError):  # raised outside an action: translated all the same
        e = admin_error(e)
    if isinstance(e, UsageError | ConfigError):
        status, message = EXIT_USAGE, str(e)
    elif isinstance(e, AdminError | Refusal | ValueError):
        status, message = EXIT_REFUSED, str(e) or type(e).__name__
    elif isinstance(e, OSError):
        where = f": {e.filename}" if e.filename else ""
        status, message = EXIT_REFUSED, f"{e.strerror or e}{where}"
    else:
        status, message = EXIT_REFUSED, f"unexpected error: {type(e).__name__}: {e}"
    return status, " ".join(message.split())  # one line, whatever the exception held
