"""gateway.mail.sender: real SMTP exchanges with aiosmtpd (plain, STARTTLS, TLS, AUTH).

Every test sends to a real server on 127.0.0.1 and reads what it received, or checks
how a refusal or a dead server maps to a temporary or permanent error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from gateway.config import Config, ServerConfig, SmtpConfig, SmtpSecurity
from gateway.mail.errors import MailError, PermanentMailError, TemporaryMailError
from gateway.mail.messages import (
    CREDITS,
    LowBalance,
    Mail,
    NewPassword,
    Notice,
    RechargeCapped,
    RechargeFired,
    compose,
    message_id,
)
from gateway.mail.sender import DEFAULT_PORTS, Mailer
from tests.mail.smtp_server import (
    HOST,
    ServerOptions,
    SmtpCA,
    SmtpServer,
    settings_for,
    smtp_server,
)

TO = "ops@shop.example"
PASSWORD = "9nsLk2pq"
SMTP_PASSWORD = "relay-secret"


def mailer(settings: SmtpConfig) -> Mailer:
    return Mailer(settings, bind_address="smpp.gw.example:2775")


def password_mail(key: str = "reset:1") -> Mail:
    return compose(NewPassword("smpp-shop", TO, PASSWORD, "smpp.gw.example:2775", key))


async def failure(settings: SmtpConfig, mail: Mail | None = None) -> MailError:
    with pytest.raises(MailError) as info:
        await mailer(settings).send(mail or password_mail())
    return info.value


# -- each kind of mail, as the server received it -----------------------------------------
NOTICES: list[tuple[Notice, str, list[str]]] = [
    (
        NewPassword("smpp-shop", TO, PASSWORD, "smpp.gw.example:2775", "reset:1"),
        "New password for SMPP account smpp-shop",
        [PASSWORD, "smpp.gw.example:2775"],
    ),
    (
        LowBalance("smpp-shop", TO, CREDITS, 20_000, 12_500, "low:1"),
        "Low balance on smpp-shop: 12.5 credits left",
        ["12.5 credits", "threshold of 20 credits"],
    ),
    (
        RechargeFired("smpp-shop", TO, 250_000, 260_500, 1, 3, "rc:1"),
        "Auto-recharge on smpp-shop: 250 credits added",
        ["260.5 credits", "1 of 3 allowed"],
    ),
    (
        RechargeCapped("smpp-shop", TO, 3_200, 10_000, 250_000, 1, "cap:1"),
        "Auto-recharge not done on smpp-shop: daily limit reached",
        ["3.2 credits", "threshold of 10 credits", "1 recharge of 250 credits"],
    ),
]


@pytest.mark.parametrize(("notice", "subject", "shown"), NOTICES, ids=lambda v: str(v)[:12])
async def test_each_kind_arrives_with_subject_recipient_and_figures(
    notice: Notice, subject: str, shown: list[str]
) -> None:
    mail = compose(notice)
    with smtp_server() as server, capture_logs() as logs:
        sent_id = await mailer(settings_for(server)).send(mail)
    (got,) = server.received
    assert got.mail_from == "noreply@gw.example"
    assert got.rcpt_tos == [TO]
    assert got.message["To"] == TO
    assert got.message["Subject"] == subject
    assert got.message["From"] == "Example SMS <noreply@gw.example>"
    assert got.message["Message-ID"] == sent_id == message_id(mail.key, "gw.example")
    assert got.body == mail.body
    flat = " ".join(got.body.split())
    for text in shown:
        assert text in flat
    assert not got.tls  # security = "none"
    (log,) = logs
    assert log == {
        "event": "mail.sent",
        "log_level": "info",
        "to": TO,
        "kind": mail.kind.value,
        "key": mail.key,
        "message_id": sent_id,
    }


async def test_a_resend_carries_the_same_message_id() -> None:
    with smtp_server() as server:
        await mailer(settings_for(server)).send(password_mail())
        await mailer(settings_for(server)).send(password_mail())
    first, again = server.received
    assert first.message["Message-ID"] == again.message["Message-ID"]


async def test_reply_to_and_helo_name_are_used() -> None:
    with smtp_server() as server:
        settings = settings_for(server, reply_to="support@gw.example", helo_name="gw1.example")
        await mailer(settings).send(password_mail())
    (got,) = server.received
    assert got.message["Reply-To"] == "support@gw.example"
    assert got.helo == "gw1.example"


async def test_security_none_never_upgrades_even_when_starttls_is_offered(ca: SmtpCA) -> None:
    with smtp_server(ServerOptions(starttls=ca.server_context)) as server:
        await mailer(settings_for(server, ca_file=ca.ca_file)).send(password_mail())
    (got,) = server.received
    assert not got.tls


# -- STARTTLS, implicit TLS, authentication -----------------------------------------------
async def test_starttls_with_the_ca_of_ca_file(ca: SmtpCA) -> None:
    options = ServerOptions(starttls=ca.server_context, require_starttls=True)
    with smtp_server(options) as server:
        settings = settings_for(server, security="starttls", ca_file=ca.ca_file)
        await mailer(settings).send(password_mail())
    (got,) = server.received
    assert got.tls
    assert PASSWORD in got.body


async def test_implicit_tls_with_credentials(ca: SmtpCA) -> None:
    options = ServerOptions(implicit_tls=ca.server_context, credentials=("gw", SMTP_PASSWORD))
    with smtp_server(options) as server, capture_logs() as logs:
        settings = settings_for(
            server, security="tls", ca_file=ca.ca_file, username="gw", password=SMTP_PASSWORD
        )
        await mailer(settings).send(password_mail())
    (got,) = server.received
    assert (got.tls, got.login) == (True, "gw")
    assert SMTP_PASSWORD not in repr(logs)
    assert PASSWORD not in repr(logs)


async def test_starttls_then_authentication(ca: SmtpCA) -> None:
    options = ServerOptions(
        starttls=ca.server_context, require_starttls=True, credentials=("gw", SMTP_PASSWORD)
    )
    with smtp_server(options) as server:
        settings = settings_for(
            server, security="starttls", ca_file=ca.ca_file, username="gw", password=SMTP_PASSWORD
        )
        await mailer(settings).send(password_mail())
    (got,) = server.received
    assert (got.tls, got.login) == (True, "gw")


async def test_wrong_credentials_are_permanent(ca: SmtpCA) -> None:
    options = ServerOptions(
        starttls=ca.server_context, require_starttls=True, credentials=("gw", SMTP_PASSWORD)
    )
    with smtp_server(options) as server, capture_logs() as logs:
        settings = settings_for(
            server, security="starttls", ca_file=ca.ca_file, username="gw", password="wrong"
        )
        error = await failure(settings)
    assert isinstance(error, PermanentMailError)
    assert error.code == 535
    assert server.received == []
    assert "wrong" not in repr(logs) + str(error)


async def test_a_server_without_starttls_is_permanent_when_starttls_is_required() -> None:
    with smtp_server() as server:
        error = await failure(settings_for(server, security="starttls"))
    assert isinstance(error, PermanentMailError)
    assert error.code is None
    assert "STARTTLS" in str(error)
    assert server.received == []


async def test_an_untrusted_certificate_is_temporary_and_nothing_is_sent(ca: SmtpCA) -> None:
    # Without ca_file the system's CAs are used, which never signed the test CA's cert.
    options = ServerOptions(starttls=ca.server_context, require_starttls=True)
    with smtp_server(options) as server:
        error = await failure(settings_for(server, security="starttls"))
    assert isinstance(error, TemporaryMailError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert server.received == []


# -- refusals and dead servers ------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "kind", "code"),
    [
        (ServerOptions(rcpt_reply="450 4.2.1 Mailbox busy"), TemporaryMailError, 450),
        (ServerOptions(rcpt_reply="550 5.1.1 No such user"), PermanentMailError, 550),
        (ServerOptions(data_reply="451 4.3.0 Try again later"), TemporaryMailError, 451),
        (ServerOptions(data_reply="554 5.6.0 Message refused"), PermanentMailError, 554),
    ],
    ids=["rcpt-450", "rcpt-550", "data-451", "data-554"],
)
async def test_reply_codes_map_to_temporary_or_permanent(
    options: ServerOptions, kind: type[MailError], code: int
) -> None:
    mail = password_mail()
    with smtp_server(options) as server, capture_logs() as logs:
        error = await failure(settings_for(server), mail)
    assert type(error) is kind
    assert error.temporary is (kind is TemporaryMailError)
    assert (error.code, error.to, error.kind) == (code, TO, "new_password")
    assert str(code) in str(error)
    assert "\n" not in str(error)
    assert PASSWORD not in str(error)
    assert server.received == []
    (log,) = logs
    assert log["event"] == "mail.failed"
    assert log["log_level"] == "warning"
    assert (log["to"], log["kind"], log["key"], log["code"]) == (TO, "new_password", mail.key, code)
    assert log["temporary"] is error.temporary
    assert PASSWORD not in repr(log)


async def test_a_dead_port_is_temporary() -> None:
    with smtp_server() as server:
        port = server.port
    dead = SmtpServer(port, ServerOptions())  # closed: nothing listens there any more
    error = await failure(settings_for(dead))
    assert isinstance(error, TemporaryMailError)
    assert error.code is None
    assert f"{HOST}:{port}" in str(error)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word (no SMTP greeting)."""
    hold = asyncio.Event()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()
        writer.close()

    server = await asyncio.start_server(accept, HOST, 0)
    yield server.sockets[0].getsockname()[1]
    hold.set()
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_answers_times_out_as_temporary(silent_server: int) -> None:
    settings = settings_for(SmtpServer(silent_server, ServerOptions()), timeout_s=0.3)
    started = time.monotonic()
    error = await failure(settings)
    assert time.monotonic() - started < 3
    assert isinstance(error, TemporaryMailError)
    assert "Timed out" in str(error)


# -- construction from the configuration --------------------------------------------------
def test_no_mailer_when_smtp_is_disabled() -> None:
    assert Mailer.from_config(Config()) is None


def test_bind_address_defaults_to_the_server_address() -> None:
    smtp = SmtpConfig(enabled=True, from_address="noreply@gw.example")
    config = Config(server=ServerConfig(host="smpp.gw.example", port=2775), smtp=smtp)
    built = Mailer.from_config(config)
    assert built is not None
    assert built.bind_address == "smpp.gw.example:2775"
    named = Mailer.from_config(replace(config, smtp=replace(smtp, bind_address="sms.example:3550")))
    assert named is not None
    assert named.bind_address == "sms.example:3550"


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_port_defaults_to_the_standard_one_of_the_security(
    security: SmtpSecurity, port: int
) -> None:
    settings = SmtpConfig(enabled=True, from_address="a@b.example", security=security)
    assert DEFAULT_PORTS[settings.security] == port
    assert mailer(settings).port == port
    assert mailer(replace(settings, port=2525)).port == 2525
