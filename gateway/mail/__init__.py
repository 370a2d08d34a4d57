"""Outbound mail to account holders: new passwords, balance alerts, auto-recharge news.

- :mod:`gateway.mail.messages`: plain notices in, :class:`Mail` records (what an outbox
  stores) and :class:`email.message.EmailMessage` out. Pure, standard library only.
- :mod:`gateway.mail.sender`: :class:`~gateway.mail.sender.Mailer`, the SMTP client
  (aiosmtplib) configured by the ``[smtp]`` table. Imported from there, not here, so a
  command that sends no mail does not load the SMTP and logging stacks.
- :mod:`gateway.mail.errors`: why a mail was not sent, temporary or permanent.
"""

from gateway.mail.errors import MailError, PermanentMailError, TemporaryMailError
from gateway.mail.messages import (
    CREDITS,
    LowBalance,
    Mail,
    MailKind,
    NewPassword,
    Notice,
    RechargeCapped,
    RechargeFired,
    compose,
    email_message,
    message_id,
)

__all__ = [
    "CREDITS",
    "LowBalance",
    "Mail",
    "MailError",
    "MailKind",
    "NewPassword",
    "Notice",
    "PermanentMailError",
    "RechargeCapped",
    "RechargeFired",
    "TemporaryMailError",
    "compose",
    "email_message",
    "message_id",
]
