"""Why a mail was not sent: temporary (try again later) or permanent (do not).

The split is what an outbox needs to decide: a :class:`TemporaryMailError` is retried
with backoff, a :class:`PermanentMailError` is set aside for an operator. It follows the
SMTP reply (RFC 5321 §4.2.1): a 4yz reply is transient, a 5yz reply permanent. Without
a reply (no connection, a timeout, a broken TLS handshake) the failure is temporary: the
server never judged the mail. A server that lacks what the settings require (STARTTLS,
AUTH) is permanent: no retry helps until an operator changes one or the other.

No message of these errors carries a mail's body or a password.
"""

from __future__ import annotations


class MailError(Exception):
    """A mail was not accepted by the SMTP server; ``str()`` is one line for the operator.

    ``code`` is the SMTP reply code when the server answered (``None`` otherwise) and
    ``reply`` its text; ``to`` and ``kind`` name the mail (never its body).
    """

    temporary: bool = True

    def __init__(self, message: str, *, to: str, kind: str, code: int | None, reply: str) -> None:
        super().__init__(message)
        self.to = to
        self.kind = kind
        self.code = code
        self.reply = reply


class TemporaryMailError(MailError):
    """Worth retrying: a 4yz reply, no connection, a timeout, a dropped link."""

    temporary = True


class PermanentMailError(MailError):
    """Not worth retrying as is: a 5yz reply, or the server lacks a required extension."""

    temporary = False
