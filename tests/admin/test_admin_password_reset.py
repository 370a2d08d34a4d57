"""admin.reset_password on both stores, mailing through a real aiosmtpd server."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from aiosmtpd.smtp import Envelope

from gateway import admin
from gateway.mail.errors import PermanentMailError, TemporaryMailError
from gateway.mail.sender import Mailer
from ledger.passwords import verify_password
from ledger.store import Store
from tests.mail.smtp_server import (
    Received,
    ServerOptions,
    SmtpServer,
    settings_for,
    smtp_server,
)

SYSTEM_ID = "smpp-shop"
OLD = "oldpass1"
TO = "ops@shop.example"
BIND = "smpp.gw.example:2775"


def mailer_for(server: SmtpServer) -> Mailer:
    return Mailer(settings_for(server), bind_address=BIND)


def mailed_password(mail: Received) -> str:
    found = re.search(r"^ +password +(\S+)$", mail.body, flags=re.MULTILINE)
    assert found is not None, mail.body
    return found.group(1)


async def shop(store: Store, contact: str = TO) -> str:
    """Create the account; its password hash."""
    created = await admin.create_account(store, SYSTEM_ID, password=OLD, contact_email=contact)
    return created.account.password_hash


async def stored_hash(store: Store) -> str:
    return (await store.get_account(SYSTEM_ID)).password_hash


async def test_the_new_password_is_mailed_and_only_its_hash_stored(store: Store) -> None:
    await shop(store)
    loop = asyncio.get_running_loop()
    hash_on_arrival: list[str] = []

    def on_data(_envelope: Envelope) -> None:
        # In the server's thread, while the action waits for the server's answer.
        read = asyncio.run_coroutine_threadsafe(stored_hash(store), loop)
        hash_on_arrival.append(read.result(timeout=10))

    with smtp_server(ServerOptions(on_data=on_data)) as server:
        reset = await admin.reset_password(store, SYSTEM_ID, mailer_for(server))
    (mail,) = server.received
    password = mailed_password(mail)
    assert reset == admin.PasswordReset(SYSTEM_ID, mailed_to=TO)
    assert reset.password is None
    assert password not in repr(reset)
    assert mail.rcpt_tos == [TO]
    assert mail.message["Subject"] == f"New password for SMPP account {SYSTEM_ID}"
    assert f"bind to    {BIND}" in mail.body
    assert len(password) == 8
    new_hash = await stored_hash(store)
    assert verify_password(password, new_hash)
    assert not verify_password(OLD, new_hash)
    assert password not in new_hash
    # The new password already worked when the mail reached the server.
    assert hash_on_arrival == [new_hash]


async def test_each_reset_mails_a_different_password_and_message_id(store: Store) -> None:
    await shop(store)
    with smtp_server() as server:
        await admin.reset_password(store, SYSTEM_ID, mailer_for(server))
        await admin.reset_password(store, SYSTEM_ID, mailer_for(server))
    first, second = server.received
    assert mailed_password(first) != mailed_password(second)
    assert first.message["Message-ID"] != second.message["Message-ID"]
    assert verify_password(mailed_password(second), await stored_hash(store))


async def test_without_mail_it_is_refused_and_nothing_changes(store: Store) -> None:
    before = await shop(store)
    with pytest.raises(admin.MailNotConfigured) as info:
        await admin.reset_password(store, SYSTEM_ID, None)
    assert isinstance(info.value, admin.Refused)
    assert "smtp.enabled is false" in str(info.value)
    assert await stored_hash(store) == before


async def test_without_mail_print_password_returns_it_once(store: Store) -> None:
    await shop(store)
    reset = await admin.reset_password(store, SYSTEM_ID, None, print_password=True)
    assert reset.mailed_to is None
    assert reset.password is not None
    assert len(reset.password) == 8
    assert reset.password not in repr(reset)
    assert verify_password(reset.password, await stored_hash(store))


async def test_with_mail_the_password_is_never_printed(store: Store) -> None:
    before = await shop(store)
    with smtp_server() as server, pytest.raises(admin.PasswordNotShown):
        await admin.reset_password(store, SYSTEM_ID, mailer_for(server), print_password=True)
    assert server.received == []
    assert await stored_hash(store) == before


async def test_an_account_without_contact_is_refused_and_nothing_changes(store: Store) -> None:
    before = await shop(store, contact="")
    with smtp_server() as server, pytest.raises(admin.NoContactEmail) as info:
        await admin.reset_password(store, SYSTEM_ID, mailer_for(server))
    assert isinstance(info.value, admin.Refused)
    assert server.received == []
    assert await stored_hash(store) == before


async def test_an_unknown_account_is_not_found(store: Store) -> None:
    with smtp_server() as server, pytest.raises(admin.AccountNotFound):
        await admin.reset_password(store, "smpp-nobody", mailer_for(server))
    assert server.received == []


@pytest.mark.parametrize(
    ("options", "error", "cause", "code"),
    [
        (ServerOptions(data_reply="451 4.3.0 Later"), admin.MailNotSent, TemporaryMailError, 451),
        (ServerOptions(rcpt_reply="550 5.1.1 No"), admin.MailRejected, PermanentMailError, 550),
    ],
    ids=["temporary", "permanent"],
)
async def test_a_failed_send_leaves_the_old_password_valid(
    store: Store,
    options: ServerOptions,
    error: type[admin.AdminError],
    cause: type[Exception],
    code: int,
) -> None:
    before = await shop(store)
    with smtp_server(options) as server, pytest.raises(error) as info:
        await admin.reset_password(store, SYSTEM_ID, mailer_for(server))
    message = str(info.value)
    assert message.startswith(f"account {SYSTEM_ID}: password not changed: ")
    assert str(code) in message
    assert isinstance(info.value.__cause__, cause)
    assert server.received == []
    assert await stored_hash(store) == before
    assert verify_password(OLD, before)


async def test_a_dead_mail_server_leaves_the_old_password_valid(store: Store) -> None:
    before = await shop(store)
    with smtp_server() as server:
        dead = SmtpServer(server.port, ServerOptions())
    with pytest.raises(admin.MailNotSent) as info:
        await admin.reset_password(store, SYSTEM_ID, mailer_for(dead))
    assert isinstance(info.value, admin.Unavailable)
    assert await stored_hash(store) == before


async def test_a_reset_cancelled_while_sending_is_undone(store: Store) -> None:
    """Cancelled with the data sent but unanswered: the old password stays the valid one.

    The server then accepts the mail anyway (the outcome the client cannot see), so the
    account holder may receive a password that does not work; the old one still does.
    """
    before = await shop(store)
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    release = threading.Event()

    def on_data(_envelope: Envelope) -> None:
        loop.call_soon_threadsafe(arrived.set)
        release.wait(timeout=10)

    with smtp_server(ServerOptions(on_data=on_data)) as server:
        task = asyncio.create_task(admin.reset_password(store, SYSTEM_ID, mailer_for(server)))
        await arrived.wait()
        task.cancel()
        release.set()  # the client's cleanup after the cancel waits on the server's answer
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await stored_hash(store) == before
    (mail,) = server.received
    assert not verify_password(mailed_password(mail), before)
