"""The ``smppgw`` command, driven in-process on a real SQLite ledger under tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from gateway import admin, cli
from gateway.config import LEDGER_URL_ENV, Config
from ledger.models import Account
from ledger.passwords import verify_password
from ledger.store import open_store

TARIFF = "prefix,country,credits\n33,FR,1.0\n44,GB,0.5\n447,GB mobile,0.6\n91,IN,0.1\n"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Run]


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    (tmp_path / "tariff.csv").write_text(TARIFF)
    path = tmp_path / "smppgw.toml"
    path.write_text(f'[ledger]\nurl = "sqlite:///{tmp_path}/l.db"\n')
    return path


@pytest.fixture
def smppgw(config_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``smppgw --config <tmp> ARGS...`` in-process; return status and output."""

    def run(*argv: str) -> Run:
        code = cli.main(["--config", str(config_path), *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return Run(code, captured.out, captured.err)

    return run


def refused(result: Run, code: int = 1) -> str:
    """The single stderr line of a failed command."""
    assert result.code == code, result
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("smppgw: ")
    return lines[0]


def stored(tmp_path: Path, system_id: str) -> Account:
    async def get() -> Account:
        store = await open_store(f"sqlite:///{tmp_path}/l.db")
        try:
            return await store.get_account(system_id)
        finally:
            await store.close()

    return asyncio.run(get())


# -- accounts -------------------------------------------------------------------------------
def test_create_prints_a_generated_password_once_and_stores_its_hash(
    smppgw: Cli, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        result = smppgw("account", "create", "smpp-shop", "--owner", "Shop Ltd")
    assert result.code == 0
    (line,) = [x for x in result.out.splitlines() if x.startswith("password: ")]
    password = line.split()[1]
    assert len(password) == 8
    assert result.out.count(password) == 1
    assert password not in repr(logs)
    assert verify_password(password, stored(tmp_path, "smpp-shop").password_hash)
    # Showing the account never shows the password again.
    assert password not in smppgw("account", "show", "smpp-shop").out


def test_create_with_everything(smppgw: Cli, tmp_path: Path) -> None:
    result = smppgw(
        "account", "create", "smpp-shop", "--password", "s3cret", "--owner", "Shop",
        "--contact", "ops@shop.example", "--allow-ip", "10.1.2.0/24", "--allow-ip", "192.0.2.7",
        "--sender", "5:MyShop", "--sender", "1:33612345678", "--sender", "3:12345",
        "--max-binds", "4", "--throughput", "50", "--json",
    )  # fmt: skip
    assert result.code == 0
    data = result.json()
    assert "password" not in data  # chosen by the operator: not echoed
    account = data["account"]
    assert account["allowed_ips"] == ["10.1.2.0/24", "192.0.2.7/32"]
    assert [(s["ton"], s["npi"], s["address"]) for s in account["senders"]] == [
        (5, 0, "MyShop"),
        (1, 1, "33612345678"),
        (3, 0, "12345"),
    ]
    assert (account["max_binds"], account["throughput"]) == (4, 50)
    assert account["contact_email"] == "ops@shop.example"
    assert "password_hash" not in account
    assert verify_password("s3cret", stored(tmp_path, "smpp-shop").password_hash)


def test_show_is_aligned_and_json_parses(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop", "--allow-ip", "10.0.0.0/8", "--sender", "5:Shop")
    text = smppgw("account", "show", "smpp-shop").out
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines())
    assert rows["system_id"] == "smpp-shop"
    assert rows["balance"] == "0 credits"
    assert rows["allowed IPs"] == "10.0.0.0/8"
    assert rows["senders"] == "5:Shop"
    starts = {
        line.index(value) for line, value in zip(text.splitlines(), rows.values(), strict=True)
    }
    assert len(starts) == 1  # every value starts in one column
    data = smppgw("account", "show", "smpp-shop", "--json").json()
    assert data["system_id"] == "smpp-shop"
    assert (data["balance"], data["balance_milli"]) == ("0", 0)
    assert data["recharge"] is None


def test_list(smppgw: Cli) -> None:
    assert smppgw("account", "list").out == "no accounts\n"
    smppgw("account", "create", "smpp-b")
    smppgw("account", "create", "smpp-a", "--owner", "Alpha")
    smppgw("credits", "add", "smpp-a", "1234.5")
    lines = smppgw("account", "list").out.splitlines()
    assert lines[0].split() == [
        "SYSTEM_ID",
        "STATUS",
        "BALANCE",
        "IPS",
        "SENDERS",
        "RECHARGE",
        "OWNER",
    ]
    assert lines[1].split() == ["smpp-a", "active", "1234.5", "0", "0", "off", "Alpha"]
    assert lines[2].split() == ["smpp-b", "active", "0", "0", "0", "off"]
    assert lines[1].index("1234.5") + len("1234.5") == lines[2].index(" 0 ") + 2  # right-aligned
    data = smppgw("--json", "account", "list").json()  # global --json works too
    assert [a["system_id"] for a in data["accounts"]] == ["smpp-a", "smpp-b"]


def test_disable_and_enable(smppgw: Cli, tmp_path: Path) -> None:
    smppgw("account", "create", "smpp-shop")
    assert smppgw("account", "disable", "smpp-shop").out == "smpp-shop: disabled\n"
    assert stored(tmp_path, "smpp-shop").status == "disabled"
    assert smppgw("account", "enable", "smpp-shop", "--json").json()["status"] == "active"


def test_allow_and_deny_ip(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    assert "none (every bind is refused)" in smppgw("account", "show", "smpp-shop").out
    assert smppgw("account", "allow-ip", "smpp-shop", "192.0.2.0/24").code == 0
    result = smppgw("account", "allow-ip", "smpp-shop", "2001:db8::1", "--json")
    assert result.json()["allowed_ips"] == ["192.0.2.0/24", "2001:db8::1/128"]
    result = smppgw("account", "deny-ip", "smpp-shop", "192.0.2.0/24")
    assert result.out == "smpp-shop: allowed IPs 2001:db8::1/128\n"
    assert "not on the allowlist" in refused(smppgw("account", "deny-ip", "smpp-shop", "10.0.0.1"))
    assert "not an IP address" in refused(smppgw("account", "allow-ip", "smpp-shop", "x"), 2)


def test_password_regenerate_and_set(smppgw: Cli, tmp_path: Path) -> None:
    smppgw("account", "create", "smpp-shop", "--password", "first")
    data = smppgw("account", "password", "smpp-shop", "--json").json()
    assert verify_password(data["password"], stored(tmp_path, "smpp-shop").password_hash)
    result = smppgw("account", "password", "smpp-shop", "--password", "second")
    assert result.out == "smpp-shop: password changed\n"
    assert verify_password("second", stored(tmp_path, "smpp-shop").password_hash)
    assert "1 to 8" in refused(
        smppgw("account", "password", "smpp-shop", "--password", "123456789"), 2
    )


# -- senders ------------------------------------------------------------------------------
def test_sender_add_and_remove(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    assert smppgw("sender", "add", "smpp-shop", "5:MyShop").out == "smpp-shop: senders 5:MyShop\n"
    smppgw("sender", "add", "smpp-shop", "1:33612345678")
    result = smppgw("sender", "remove", "smpp-shop", "5:MyShop", "--json")
    assert [s["address"] for s in result.json()["senders"]] == ["33612345678"]
    assert "is not a sender" in refused(smppgw("sender", "remove", "smpp-shop", "5:Other"))


@pytest.mark.parametrize("bad", ["MyShop", "x:MyShop", "5:", "1:2:3:4"])
def test_malformed_sender_is_a_usage_error(smppgw: Cli, bad: str) -> None:
    assert "TON:ADDR" in refused(smppgw("sender", "add", "smpp-shop", bad), 2)


def test_sender_the_ledger_refuses(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    assert "TON must be 1, 3 or 5" in refused(smppgw("sender", "add", "smpp-shop", "2:123"))


# -- credits ------------------------------------------------------------------------------
def test_credits_add_and_show(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    result = smppgw("credits", "add", "smpp-shop", "12.5", "--note", "invoice 7", "--key", "inv-7")
    assert result.out.startswith("smpp-shop: +12.5 credits, balance 12.5 (entry ")
    entry = smppgw("credits", "add", "smpp-shop", "0.1", "--json").json()
    assert (entry["amount"], entry["amount_milli"], entry["balance_after"]) == ("0.1", 100, "12.6")
    assert entry["idempotency_key"].startswith("cli:")

    shown = smppgw("credits", "show", "smpp-shop").out.splitlines()
    assert shown[0] == "smpp-shop: balance 12.6 credits"
    assert shown[1].split() == ["ID", "TIME", "KIND", "AMOUNT", "BALANCE", "MESSAGE/NOTE"]
    assert shown[2].split()[2:4] == ["credit", "+0.1"]  # newest first
    assert shown[3].split()[2:] == ["credit", "+12.5", "12.5", "invoice", "7"]

    data = smppgw("credits", "show", "smpp-shop", "--limit", "1", "--json").json()
    assert (data["balance"], data["balance_milli"]) == ("12.6", 12600)
    assert [e["amount_milli"] for e in data["journal"]] == [100]


def test_credits_add_replayed_key_credits_once(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    first = smppgw("credits", "add", "smpp-shop", "5", "--key", "retry-1", "--json").json()
    again = smppgw("credits", "add", "smpp-shop", "5", "--key", "retry-1", "--json").json()
    assert again == first
    assert smppgw("credits", "show", "smpp-shop", "--json").json()["balance"] == "5"
    line = refused(smppgw("credits", "add", "smpp-shop", "6", "--key", "retry-1"))
    assert "retry-1" in line


@pytest.mark.parametrize("amount", ["0", "-1", "abc", "1e3", "0.0001", "NaN"])
def test_bad_amounts_are_usage_errors(smppgw: Cli, amount: str) -> None:
    smppgw("account", "create", "smpp-shop")
    line = refused(smppgw("credits", "add", "smpp-shop", amount), 2)
    assert "AMOUNT" in line


# -- recharge -----------------------------------------------------------------------------
def test_recharge_amount_not_allowed_lists_the_allowed_ones(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    line = refused(smppgw("recharge", "set", "smpp-shop", "--threshold", "10", "--amount", "300"))
    assert line == (
        "smppgw: recharge amount 300 is not allowed: "
        "choose one of 100, 200, 250, 500, 1000, 5000, 10000 credits"
    )


def test_recharge_set_and_off(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    result = smppgw("recharge", "set", "smpp-shop", "--threshold", "10", "--amount", "250")
    assert result.out == (
        "smpp-shop: add 250 credits when the balance falls to 10 or below, "
        "at most 1 time a UTC day\n"
    )
    args = ["--threshold", "0.5", "--amount", "1000", "--daily-cap", "3", "--json"]
    data = smppgw("recharge", "set", "smpp-shop", *args).json()
    assert data["recharge"] == {
        "threshold": "0.5",
        "threshold_milli": 500,
        "amount": "1000",
        "amount_milli": 1_000_000,
        "daily_cap": 3,
    }
    assert smppgw("recharge", "off", "smpp-shop").out == "smpp-shop: auto-recharge off\n"
    assert smppgw("account", "show", "smpp-shop", "--json").json()["recharge"] is None


def test_recharge_needs_its_options(smppgw: Cli) -> None:
    line = refused(smppgw("recharge", "set", "smpp-shop", "--amount", "100"), 2)
    assert "--threshold" in line


# -- tariff -------------------------------------------------------------------------------
def test_tariff_show(smppgw: Cli) -> None:
    lines = smppgw("tariff", "show").out.splitlines()
    assert lines[0].split() == ["PREFIX", "COUNTRY", "CREDITS"]
    assert [line.split()[0] for line in lines[1:]] == ["33", "44", "447", "91"]
    assert smppgw("tariff", "show", "--prefix", "44").out.count("\n") == 3
    data = smppgw("tariff", "show", "--number", "+447700900123", "--json").json()
    assert data["rates"] == [
        {"prefix": "447", "country": "GB mobile", "credits": "0.6", "credits_milli": 600}
    ]
    assert "no rate for 1555" in refused(smppgw("tariff", "show", "--number", "1555"))


def test_broken_tariff_is_one_line(smppgw: Cli, tmp_path: Path) -> None:
    (tmp_path / "tariff.csv").write_text("prefix,country,credits\n33,FR,cheap\n")
    line = refused(smppgw("tariff", "show"))
    assert line.startswith(f"smppgw: {tmp_path}/tariff.csv:2: ")


# -- the ledger schema --------------------------------------------------------------------
def test_db_upgrade(smppgw: Cli) -> None:
    first = smppgw("db", "upgrade", "--json").json()
    assert first["applied"]
    assert smppgw("db", "upgrade").out == "schema is up to date\n"


def test_commands_create_a_fresh_sqlite_ledger(config_path: Path, tmp_path: Path) -> None:
    config_path.write_text(f'[ledger]\nurl = "sqlite:///{tmp_path}/var/new/l.db"\n')
    assert cli.main(["--config", str(config_path), "account", "list"]) == 0
    assert (tmp_path / "var" / "new" / "l.db").is_file()


# -- errors -------------------------------------------------------------------------------
def test_unknown_account_is_one_line(smppgw: Cli) -> None:
    for argv in (
        ["account", "show", "smpp-x"],
        ["account", "disable", "smpp-x"],
        ["credits", "add", "smpp-x", "1"],
        ["credits", "show", "smpp-x"],
        ["recharge", "off", "smpp-x"],
        ["sender", "add", "smpp-x", "5:Shop"],
    ):
        assert refused(smppgw(*argv)) == "smppgw: account smpp-x: no such account"


def test_account_exists_and_invalid_data(smppgw: Cli) -> None:
    smppgw("account", "create", "smpp-shop")
    assert refused(smppgw("account", "create", "smpp-shop")).endswith("already exists")
    assert "system_id 'Shop'" in refused(smppgw("account", "create", "Shop"))
    assert "@" in refused(smppgw("account", "create", "smpp-b", "--contact", "nobody"))


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["account"],
        ["account", "show"],
        ["account", "create", "smpp-a", "--max-binds", "0"],
        ["credits", "show", "smpp-a", "--limit", "x"],
        ["account", "create", "smpp-a", "--password", "pass word"],
        ["tariff", "show", "--prefix", "1", "--number", "1"],
    ],
)
def test_usage_errors_exit_2_with_one_line(smppgw: Cli, argv: list[str]) -> None:
    assert "see: smppgw" in refused(smppgw(*argv), 2)


def test_config_error_exits_2(smppgw: Cli, config_path: Path) -> None:
    config_path.write_text('[upstream]\nwindow = "ten"\n')
    line = refused(smppgw("account", "list"), 2)
    assert line == f'smppgw: {config_path}: upstream.window: expected an integer, got "ten"'
    line = refused(smppgw("serve"), 2)
    assert line.endswith('upstream.window: expected an integer, got "ten"')


def test_unexpected_exception_is_one_line(smppgw: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(*_: object) -> admin.SchemaUpgrade:
        raise RuntimeError("kaput\nsecond line")

    monkeypatch.setattr(admin, "upgrade_schema", boom)
    assert (
        refused(smppgw("db", "upgrade"))
        == "smppgw: unexpected error: RuntimeError: kaput second line"
    )


def test_ledger_unavailable_is_one_line(
    config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")
    config_path.write_text(f'[ledger]\nurl = "sqlite:///{tmp_path}/blocker/l.db"\n')
    code = cli.main(["--config", str(config_path), "account", "list"])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "account" in capsys.readouterr().out
    assert cli.main(["recharge", "set", "--help"]) == 0
    assert "10000" in capsys.readouterr().out


# -- which configuration ------------------------------------------------------------------
def test_default_config_file_is_used_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tariff.csv").write_text(TARIFF)
    (tmp_path / "config" / "smppgw.toml").write_text('[ledger]\nurl = "sqlite:///../var/x.db"\n')
    monkeypatch.chdir(tmp_path)
    assert cli.main(["account", "create", "smpp-a"]) == 0
    assert (tmp_path / "var" / "x.db").is_file()


def test_builtin_defaults_without_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["account", "list"]) == 0
    assert (tmp_path / "var" / "smppgw.db").is_file()


def test_env_overrides_the_ledger(
    smppgw: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_URL_ENV, f"sqlite:///{tmp_path}/env.db")
    assert smppgw("account", "create", "smpp-env").code == 0
    assert (tmp_path / "env.db").is_file()


# -- serve ----------------------------------------------------------------------------------
def test_serve_runs_app_serve_with_the_config(
    smppgw: Cli, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.app

    calls: list[tuple[Config, bool]] = []

    async def fake_serve(config: Config, *, demo: bool = False) -> None:
        calls.append((config, demo))

    monkeypatch.setattr(gateway.app, "serve", fake_serve)
    assert smppgw("serve", "--demo").code == 0
    assert smppgw("serve").code == 0
    assert [(c.source, demo) for c, demo in calls] == [(config_path, True), (config_path, False)]


# -- the installed entry point ------------------------------------------------------------
def test_installed_console_script(config_path: Path) -> None:
    script = Path(sys.executable).parent / "smppgw"
    env = {k: v for k, v in os.environ.items() if k != LEDGER_URL_ENV}
    base = [str(script), "--config", str(config_path)]

    created = subprocess.run(
        [*base, "account", "create", "smpp-sub", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert len(json.loads(created.stdout)["password"]) == 8

    missing = subprocess.run(
        [*base, "account", "show", "smpp-nope"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr == "smppgw: account smpp-nope: no such account\n"


def test_config_may_follow_the_subcommand(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tariff", "show", "--prefix", "44", "--config", str(config_path)]) == 0
    assert "GB" in capsys.readouterr().out
    missing = tmp_path / "absent.toml"
    assert cli.main(["serve", "--config", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"smppgw: {missing}: file not found"]
