"""The SMTP client: one :class:`Mail` in, one SMTP transaction out (aiosmtplib).

Each :meth:`Mailer.send` opens a connection, protects it as ``smtp.security`` says
(``tls``: TLS from the first byte; ``starttls``: upgraded before anything else is said,
refused if the server cannot; ``none``: never), authenticates when credentials are set,
sends, and closes. Mails are rare (alerts, password resets), so a connection per mail
costs nothing worth a pool, and a broken connection never outlives one mail.

A mail the server did not accept raises a :class:`~gateway.mail.errors.MailError`:
temporary or permanent, from the SMTP reply code (see :mod:`gateway.mail.errors`), so
a caller (an outbox) can decide to retry. Each outcome is logged, ``mail.sent`` or
``mail.failed``, with the recipient, the kind and the key: never the body, which may
hold a password, and never the SMTP password.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiosmtplib
import structlog

from gateway.config import Config, SmtpConfig, SmtpSecurity
from gateway.mail.errors import MailError, PermanentMailError, TemporaryMailError
from gateway.mail.messages import Mail, email_message

#: The port used when ``smtp.port`` is absent: SMTP relay (RFC 5321), message
#: submission with STARTTLS (RFC 6409), submission over implicit TLS (RFC 8314).
DEFAULT_PORTS: dict[SmtpSecurity, int] = {"none": 25, "starttls": 587, "tls": 465}


class Mailer:
    """Sends :class:`Mail` through the SMTP server of ``settings`` (the ``[smtp]`` table).

    ``bind_address`` is where account holders bind, as a new-password mail tells them.
    ``tls_context`` replaces the one built from ``settings`` (the system's CAs, or
    ``smtp.ca_file``); ``log`` replaces the ``smppgw.mail`` logger.
    """

    def __init__(
        self,
        settings: SmtpConfig,
        *,
        bind_address: str,
        tls_context: ssl.SSLContext | None = None,
        log: Any = None,
    ) -> None:
        self.settings = settings
        self.bind_address = bind_address
        self.port = settings.port or DEFAULT_PORTS[settings.security]
        self._tls_context = (
            None if settings.security == "none" else tls_context or _tls_context(settings)
        )
        self.log = log or structlog.get_logger("smppgw.mail")

    @classmethod
    def from_config(cls, config: Config, *, log: Any = None) -> Mailer | None:
        """The mailer of ``config``, or None when ``smtp.enabled`` is false."""
        smtp = config.smtp
        if not smtp.enabled:
            return None
        bind_address = smtp.bind_address or f"{config.server.host}:{config.server.port}"
        return cls(smtp, bind_address=bind_address, log=log)

    async def send(self, mail: Mail) -> str:
        """Send ``mail``; its Message-ID once the server accepted it, else MailError."""
        s = self.settings
        message = email_message(mail, s)
        message_id = str(message["Message-ID"])
        try:
            await aiosmtplib.send(
                message,
                sender=s.from_address,
                recipients=[mail.to],
                hostname=s.host,
                port=self.port,
                username=s.username or None,
                password=s.password or None,
                local_hostname=s.helo_name or None,
                timeout=s.timeout_s,
                use_tls=s.security == "tls",
                # False, not None: aiosmtplib's None upgrades whenever the server offers
                # it, and "none" promises a link that is never upgraded.
                start_tls=s.security == "starttls",
                tls_context=self._tls_context,
            )
        except (aiosmtplib.SMTPException, OSError) as e:
            error = mail_error(e, mail, f"{s.host}:{self.port}")
            self.log.warning(
                "mail.failed",
                to=mail.to,
                kind=mail.kind.value,
                key=mail.key,
                code=error.code,
                temporary=error.temporary,
                reason=str(error),
            )
            raise error from e
        self.log.info(
            "mail.sent", to=mail.to, kind=mail.kind.value, key=mail.key, message_id=message_id
        )
        return message_id


def _tls_context(settings: SmtpConfig) -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or those of ``smtp.ca_file``."""
    cafile = str(settings.ca_file) if settings.ca_file is not None else None
    return ssl.create_default_context(cafile=cafile)


def mail_error(e: Exception, mail: Mail, server: str) -> MailError:
    """The typed error for an aiosmtplib failure ``e`` while sending ``mail`` to ``server``.

    A reply code decides (5yz permanent, anything else temporary); without one, a
    connection-level failure (an OSError: refused, reset, timed out, TLS) is temporary,
    and the rest (the server lacks STARTTLS or AUTH) permanent.
    """
    code: int | None = None
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused) and e.recipients:
        refused = e.recipients[0]
        code, reply = refused.code, refused.message
    elif isinstance(e, aiosmtplib.SMTPResponseException):
        code, reply = e.code, e.message
    else:
        reply = str(e) or type(e).__name__
    if code is not None:
        permanent = 500 <= code <= 599
        why = f"{server} answered {code} {reply}"
    else:
        permanent = not isinstance(e, OSError)
        why = f"{server}: {reply}"
    cls = PermanentMailError if permanent else TemporaryMailError
    line = " ".join(f"{mail.kind.value} mail to {mail.to} not sent: {why}".split())
    return cls(line, to=mail.to, kind=mail.kind.value, code=code, reply=reply)
