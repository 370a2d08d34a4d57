"""``smppgw account reset-password`` end to end: CLI, SQLite ledger, a real SMTP server.

The ``smppgw`` and ``config_path`` fixtures are the CLI suite's; a test that mails adds
an ``[smtp]`` table pointing at its server to that config file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.passwords import verify_password
from tests.cli.test_cli import Cli, Run, config_path, refused, smppgw, stored
from tests.mail.smtp_server import HOST, Received, ServerOptions, make_ca, smtp_server

__all__ = ["config_path", "smppgw"]  # fixtures, used by name

TO = "ops@shop.example"
OLD = "oldpass1"


PLAIN = 'security = "none"'


def add_smtp(config_path: Path, port: int, extra: str = PLAIN) -> None:
    """Append an ``[smtp]`` table that mails through 127.0.0.1:``port`` (``extra`` added)."""
    table = (
        f'[smtp]\nenabled = true\nhost = "{HOST}"\nport = {port}\n'
        f'from_address = "noreply@gw.example"\nbind_address = "smpp.gw.example:2775"\n'
        f"timeout_s = 5\n{extra}\n"
    )
    config_path.write_text(config_path.read_text() + table)


def create_shop(run: Cli, contact: str = TO) -> None:
    args = ["account", "create", "smpp-shop", "--password", OLD]
    result = run(*args, *(["--contact", contact] if contact else []))
    assert result.code == 0, result


def reset_by_mail(
    smppgw: Cli,
    config_path: Path,
    *flags: str,
    options: ServerOptions | None = None,
    extra: str = PLAIN,
) -> tuple[Run, list[Received]]:
    """Create smpp-shop, run reset-password with mail through a fresh server; what it got."""
    with smtp_server(options) as server:
        add_smtp(config_path, server.port, extra)
        create_shop(smppgw)
        result = smppgw("account", "reset-password", "smpp-shop", *flags)
    return result, server.received


def mailed_password(mail: Received) -> str:
    found = re.search(r"^ +password +(\S+)", mail.body, flags=re.MULTILINE)
    assert found is not None, mail.body
    return found.group(1)


def test_the_mailed_password_verifies_and_the_output_never_shows_it(
    smppgw: Cli, config_path: Path, tmp_path: Path
) -> None:
    result, (mail,) = reset_by_mail(smppgw, config_path)
    assert (result.code, result.err) == (0, "")
    assert result.out == f"smpp-shop: new password mailed to {TO}\n"
    password = mailed_password(mail)
    assert mail.rcpt_tos == [TO]
    assert "smpp.gw.example:2775" in mail.body
    assert password not in result.out
    account = stored(tmp_path, "smpp-shop")
    assert verify_password(password, account.password_hash)
    assert not verify_password(OLD, account.password_hash)


def test_json_output_names_where_it_went_and_not_the_password(
    smppgw: Cli, config_path: Path, tmp_path: Path
) -> None:
    result, (mail,) = reset_by_mail(smppgw, config_path, "--json")
    assert result.code == 0
    assert result.json() == {"system_id": "smpp-shop", "mailed_to": TO}
    assert mailed_password(mail) not in result.out
    assert verify_password(mailed_password(mail), stored(tmp_path, "smpp-shop").password_hash)


def test_starttls_and_credentials_from_the_config_file(
    smppgw: Cli, config_path: Path, tmp_path: Path
) -> None:
    ca = make_ca(tmp_path)
    options = ServerOptions(
        starttls=ca.server_context, require_starttls=True, credentials=("gw", "relay-pw")
    )
    extra = 'security = "starttls"\nusername = "gw"\npassword = "relay-pw"\n'
    extra += f'ca_file = "{ca.ca_file}"'
    result, (mail,) = reset_by_mail(smppgw, config_path, options=options, extra=extra)
    assert result.code == 0, result
    assert "relay-pw" not in result.out + result.err
    assert (mail.tls, mail.login) == (True, "gw")
    assert verify_password(mailed_password(mail), stored(tmp_path, "smpp-shop").password_hash)


def test_print_without_smtp_prints_it_once(smppgw: Cli, tmp_path: Path) -> None:
    create_shop(smppgw)
    result = smppgw("account", "reset-password", "smpp-shop", "--print")
    assert result.code == 0
    first, second = result.out.splitlines()
    assert first == "smpp-shop: password changed"
    password = second.split()[1]
    assert second == f"password: {password}  (shown once; it cannot be recovered)"
    assert result.out.count(password) == 1
    assert verify_password(password, stored(tmp_path, "smpp-shop").password_hash)
    as_json = smppgw("account", "reset-password", "smpp-shop", "--print", "--json").json()
    assert as_json["mailed_to"] is None
    assert verify_password(as_json["password"], stored(tmp_path, "smpp-shop").password_hash)


def test_without_smtp_and_without_print_it_is_refused_and_the_hash_unchanged(
    smppgw: Cli, tmp_path: Path
) -> None:
    create_shop(smppgw)
    before = stored(tmp_path, "smpp-shop").password_hash
    line = refused(smppgw("account", "reset-password", "smpp-shop"))
    assert "outbound mail is not configured" in line
    assert "--print" in line
    assert stored(tmp_path, "smpp-shop").password_hash == before


@pytest.mark.parametrize(
    ("contact", "flags", "said"),
    [
        (TO, ["--print"], "mailed to the contact and never printed"),
        ("", [], "no contact e-mail address"),
        ("", ["--print"], "mailed to the contact and never printed"),
    ],
    ids=["print-with-smtp", "no-contact", "print-no-contact"],
)
def test_refusals_with_smtp_send_nothing_and_change_nothing(
    smppgw: Cli, config_path: Path, tmp_path: Path, contact: str, flags: list[str], said: str
) -> None:
    with smtp_server() as server:
        add_smtp(config_path, server.port)
        create_shop(smppgw, contact=contact)
        before = stored(tmp_path, "smpp-shop").password_hash
        line = refused(smppgw("account", "reset-password", "smpp-shop", *flags))
    assert line.startswith("smppgw: account smpp-shop: password not changed: ")
    assert said in line
    assert server.received == []
    assert stored(tmp_path, "smpp-shop").password_hash == before


def test_a_mail_server_answering_later_leaves_the_old_password(
    smppgw: Cli, config_path: Path, tmp_path: Path
) -> None:
    options = ServerOptions(data_reply="451 4.3.0 Try again later")
    result, received = reset_by_mail(smppgw, config_path, options=options)
    assert received == []
    line = refused(result)
    assert line.startswith("smppgw: account smpp-shop: password not changed: ")
    assert "451 4.3.0 Try again later" in line
    assert verify_password(OLD, stored(tmp_path, "smpp-shop").password_hash)


def test_an_unknown_account(smppgw: Cli, config_path: Path) -> None:
    with smtp_server() as server:
        add_smtp(config_path, server.port)
        line = refused(smppgw("account", "reset-password", "smpp-nobody"))
    assert line == "smppgw: account smpp-nobody: no such account"
