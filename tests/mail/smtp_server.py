"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, port 0, in a thread.

aiosmtpd's own ``Controller`` probes the port it was given, so it cannot take port 0;
this runs aiosmtpd's ``SMTP`` protocol on a listener of our own instead, in a thread
with its own event loop. That serves async tests (the client runs on the test's loop)
and the CLI tests (``cli.main`` runs ``asyncio.run`` itself) alike.

What it can be: plain, STARTTLS offered or required, implicit TLS, AUTH with one
login, and a server that answers RCPT or DATA with a given reply (``"451 ..."``).
Every accepted mail is kept in ``received``, parsed, with its envelope and what the
session saw (TLS, the login).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from gateway.config import SmtpConfig

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One mail the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    tls: bool
    login: str | None
    helo: str | None

    @property
    def body(self) -> str:
        """The plain-text body, decoded, with the wire's CRLF line ends as ``\\n``."""
        part = self.message.get_body(("plain",))
        assert part is not None
        content: str = part.get_content()  # type: ignore[attr-defined]
        return content.replace("\r\n", "\n")


@dataclass
class ServerOptions:
    """How the server behaves (see the module docstring)."""

    implicit_tls: ssl.SSLContext | None = None
    starttls: ssl.SSLContext | None = None
    require_starttls: bool = False
    #: ``(login, password)``: AUTH offered and required.
    credentials: tuple[str, str] | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None
    #: Called in the server's thread when DATA arrives, before the mail is accepted.
    on_data: Callable[[Envelope], None] | None = None


class _Handler:
    def __init__(self, options: ServerOptions, received: list[Received]) -> None:
        self.options = options
        self.received = received

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.options.rcpt_reply:
            return self.options.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.options.on_data is not None:
            self.options.on_data(envelope)
        if self.options.data_reply:
            return self.options.data_reply
        raw = bytes(envelope.original_content or b"")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                raw=raw,
                tls=session.ssl is not None or self.options.implicit_tls is not None,
                login=session.auth_data,
                helo=session.host_name,
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running server: its ``port`` and the mails it ``received``."""

    port: int
    options: ServerOptions
    received: list[Received] = field(default_factory=list)


def _authenticator(credentials: tuple[str, str]) -> Callable[..., AuthResult]:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and (
                data.login.decode(),
                data.password.decode(),
            )
            == credentials
        )
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    return check


@contextmanager
def smtp_server(options: ServerOptions | None = None) -> Iterator[SmtpServer]:
    """Run an SMTP server for the duration of the block."""
    options = options or ServerOptions()
    loop = asyncio.new_event_loop()
    received: list[Received] = []
    handler = _Handler(options, received)
    creds = options.credentials

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="mail.test",
            tls_context=options.starttls,
            require_starttls=options.require_starttls,
            authenticator=_authenticator(creds) if creds else None,
            # aiosmtpd knows TLS only when it did the STARTTLS itself. Behind an implicit
            # TLS listener the link is protected all the same, but aiosmtpd would refuse
            # AUTH there, or warn about requiring it: it is offered, and the test checks
            # that it was used.
            auth_required=creds is not None and options.implicit_tls is None,
            auth_require_tls=options.implicit_tls is None,
            loop=loop,
        )

    # The listener is created in the server's thread: the caller may be inside a running
    # loop (an async test), where run_until_complete is not allowed.
    listening = asyncio.run_coroutine_threadsafe(
        loop.create_server(protocol, HOST, 0, ssl=options.implicit_tls), loop
    )
    thread = threading.Thread(target=loop.run_forever, name="smtp-server", daemon=True)
    thread.start()
    server = listening.result(timeout=10)
    port = server.sockets[0].getsockname()[1]
    try:
        yield SmtpServer(port, options, received)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()
            # Sessions still open (a client that gave up) end here, not as pending tasks
            # destroyed with the loop.
            sessions = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in sessions:
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@dataclass(frozen=True)
class SmtpCA:
    """A CA of trustme, its PEM file (for ``smtp.ca_file``) and a server context it signed."""

    ca_file: Path
    server_context: ssl.SSLContext


def make_ca(directory: Path) -> SmtpCA:
    """A fresh CA and a server certificate for 127.0.0.1 and localhost."""
    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    ca_file = directory / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return SmtpCA(ca_file, context)


def settings_for(server: SmtpServer, **overrides: Any) -> SmtpConfig:
    """``[smtp]`` settings that point at ``server`` (plain SMTP unless overridden)."""
    values: dict[str, Any] = {
        "enabled": True,
        "host": HOST,
        "port": server.port,
        "security": "none",
        "from_address": "noreply@gw.example",
        "from_name": "Example SMS",
        "timeout_s": 5.0,
        **overrides,
    }
    return SmtpConfig(**values)
