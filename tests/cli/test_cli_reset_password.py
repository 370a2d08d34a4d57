"""``smppgw account reset-password`` end to end: CLI, SQLite ledger, a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway import cli
from gateway.config import LEDGER_URL_ENV
from ledger.passwords import verify_password
from tests.cli.test_cli import TARIFF, Run, refused, stored
from tests.mail.smtp_server import HOST, Received, ServerOptions, SmtpCA, make_ca, smtp_server

TO = "ops@shop.example"
OLD = "oldpass1"

Cli = Callable[..., Run]


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Write ``smppgw.toml`` in tmp_path: the SQLite ledger, then the given ``[smtp]`` text."""
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    (tmp_path / "tariff.csv").write_text(TARIFF)

    def write(smtp: str) -> Path:
        path = tmp_path / "smppgw.toml"
        path.write_text(f'[ledger]\nurl = "sqlite:///{tmp_path}/l.db"\n{smtp}')
        return path

    return write


@pytest.fixture
def smppgw(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> Callable[[str], Cli]:
    """``smppgw(smtp_table)(ARGS...)``: run the CLI in-process with that ``[smtp]`` text."""

    def with_smtp(smtp: str) -> Cli:
        path = write_config(smtp)

        def run(*argv: str) -> Run:
            code = cli.main(["--config", str(path), *argv])
            captured = capsys.readouterr()
            assert "Traceback" not in captured.out + captured.err
            return Run(code, captured.out, captured.err)

        return run

    return with_smtp


def smtp_table(port: int, extra: str = "") -> str:
    return (
        f'[smtp]\nenabled = true\nhost = "{HOST}"\nport = {port}\nsecurity = "none"\n'
        f'from_address = "noreply@gw.example"\nbind_address = "smpp.gw.example:2775"\n'
        f"timeout_s = 5\n{extra}"
    )


def create_shop(run: Cli, contact: str = TO) -> None:
    args = ["account", "create", "smpp-shop", "--password", OLD]
    result = run(*args, *(["--contact", contact] if contact else []))
    assert result.code == 0, result


def mailed_password(mail: Received) -> str:
    found = re.search(r"^ +password +(\S+)", mail.body, flags=re.MULTILINE)
    assert found is not None, mail.body
    return found.group(1)


def test_the_mailed_password_verifies_and_the_output_never_shows_it(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    with smtp_server() as server:
        run = smppgw(smtp_table(server.port))
        create_shop(run)
        result = run("account", "reset-password", "smpp-shop")
    assert (result.code, result.err) == (0, "")
    assert result.out == f"smpp-shop: new password mailed to {TO}\n"
    (mail,) = server.received
    password = mailed_password(mail)
    assert mail.rcpt_tos == [TO]
    assert "smpp.gw.example:2775" in mail.body
    assert password not in result.out
    account = stored(tmp_path, "smpp-shop")
    assert verify_password(password, account.password_hash)
    assert not verify_password(OLD, account.password_hash)


def test_json_output_names_where_it_went_and_not_the_password(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    with smtp_server() as server:
        run = smppgw(smtp_table(server.port))
        create_shop(run)
        result = run("account", "reset-password", "smpp-shop", "--json")
    assert result.code == 0
    assert result.json() == {"system_id": "smpp-shop", "mailed_to": TO}
    (mail,) = server.received
    assert mailed_password(mail) not in result.out
    assert verify_password(mailed_password(mail), stored(tmp_path, "smpp-shop").password_hash)


def test_starttls_and_credentials_from_the_config_file(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    ca: SmtpCA = make_ca(tmp_path)
    options = ServerOptions(
        starttls=ca.server_context, require_starttls=True, credentials=("gw", "relay-pw")
    )
    with smtp_server(options) as server:
        table = smtp_table(server.port).replace('security = "none"', 'security = "starttls"')
        extra = f'username = "gw"\npassword = "relay-pw"\nca_file = "{ca.ca_file}"\n'
        run = smppgw(table + extra)
        create_shop(run)
        result = run("account", "reset-password", "smpp-shop")
    assert result.code == 0, result
    assert "relay-pw" not in result.out + result.err
    (mail,) = server.received
    assert (mail.tls, mail.login) == (True, "gw")
    assert verify_password(mailed_password(mail), stored(tmp_path, "smpp-shop").password_hash)


def test_print_without_smtp_prints_it_once(smppgw: Callable[[str], Cli], tmp_path: Path) -> None:
    run = smppgw("")
    create_shop(run)
    result = run("account", "reset-password", "smpp-shop", "--print")
    assert result.code == 0
    first, second = result.out.splitlines()
    assert first == "smpp-shop: password changed"
    password = second.split()[1]
    assert second == f"password: {password}  (shown once; it cannot be recovered)"
    assert result.out.count(password) == 1
    assert verify_password(password, stored(tmp_path, "smpp-shop").password_hash)
    as_json = run("account", "reset-password", "smpp-shop", "--print", "--json").json()
    assert as_json["mailed_to"] is None
    assert verify_password(as_json["password"], stored(tmp_path, "smpp-shop").password_hash)


def test_without_smtp_and_without_print_it_is_refused_and_the_hash_unchanged(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    run = smppgw("")
    create_shop(run)
    before = stored(tmp_path, "smpp-shop").password_hash
    line = refused(run("account", "reset-password", "smpp-shop"))
    assert "outbound mail is not configured" in line
    assert "--print" in line
    assert stored(tmp_path, "smpp-shop").password_hash == before


def test_with_smtp_print_is_refused(smppgw: Callable[[str], Cli], tmp_path: Path) -> None:
    with smtp_server() as server:
        run = smppgw(smtp_table(server.port))
        create_shop(run)
        before = stored(tmp_path, "smpp-shop").password_hash
        line = refused(run("account", "reset-password", "smpp-shop", "--print"))
    assert "never printed" in line
    assert server.received == []
    assert stored(tmp_path, "smpp-shop").password_hash == before


def test_an_account_without_contact_is_refused(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    with smtp_server() as server:
        run = smppgw(smtp_table(server.port))
        create_shop(run, contact="")
        before = stored(tmp_path, "smpp-shop").password_hash
        line = refused(run("account", "reset-password", "smpp-shop"))
    assert "no contact e-mail address" in line
    assert server.received == []
    assert stored(tmp_path, "smpp-shop").password_hash == before


def test_a_mail_server_answering_later_leaves_the_old_password(
    smppgw: Callable[[str], Cli], tmp_path: Path
) -> None:
    with smtp_server(ServerOptions(data_reply="451 4.3.0 Try again later")) as server:
        run = smppgw(smtp_table(server.port))
        create_shop(run)
        line = refused(run("account", "reset-password", "smpp-shop"))
    assert line.startswith("smppgw: account smpp-shop: password not changed: ")
    assert "451 4.3.0 Try again later" in line
    assert verify_password(OLD, stored(tmp_path, "smpp-shop").password_hash)


def test_an_unknown_account(smppgw: Callable[[str], Cli]) -> None:
    with smtp_server() as server:
        run = smppgw(smtp_table(server.port))
        line = refused(run("account", "reset-password", "smpp-nobody"))
    assert line == "smppgw: account smpp-nobody: no such account"
