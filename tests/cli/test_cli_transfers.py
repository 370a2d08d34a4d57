"""``credits transfer``, amount limits, ``account set|close|show`` binds and ``history``,
driven in-process on both stores (the ledger suite's ``store_url``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import cli
from gateway.config import LEDGER_URL_ENV
from ledger.models import DebitRequest
from ledger.store import open_store
from tests.cli.test_cli import TARIFF, Run, refused
from tests.ledger.conftest import pg_session_schema, pg_url, store_url
from tests.ledger.ledger_helpers import message

__all__ = ["pg_session_schema", "pg_url", "store_url"]

Cli = Callable[..., Run]


@pytest.fixture
def smppgw(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """``smppgw --config <tmp> ARGS...`` on each store, with small amount limits."""
    return ledger_cli(store_url, tmp_path, monkeypatch, capsys)


def ledger_cli(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """The CLI on ``store_url`` (schema upgraded), max_credit 1000, max_balance 5000."""
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    (tmp_path / "tariff.csv").write_text(TARIFF)
    config = tmp_path / "smppgw.toml"
    config.write_text(
        f'[ledger]\nurl = "{store_url}"\nmax_credit = 1000\nmax_balance = 5000\n'
        "history_retention_days = 30\n"
    )

    def run(*argv: str) -> Run:
        code = cli.main(["--config", str(config), *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return Run(code, captured.out, captured.err)

    assert run("db", "upgrade").code == 0
    return run


def ok(result: Run) -> str:
    assert result.code == 0, result
    assert result.err == ""
    return result.out


def accounts(smppgw: Cli) -> None:
    for sid, owner in (("smpp-a", "acme"), ("smpp-b", "acme"), ("smpp-x", "other")):
        ok(smppgw("account", "create", sid, "--owner", owner, "--password", "pw"))
    ok(smppgw("credits", "add", "smpp-a", "100", "--key", "seed"))


def test_transfer_and_replay(smppgw: Cli) -> None:
    accounts(smppgw)
    out = ok(smppgw("credits", "transfer", "smpp-a", "smpp-b", "12.5", "--key", "t1"))
    assert out.startswith("moved 12.5 credits from smpp-a (balance 87.5) to smpp-b (balance 12.5)")
    assert "key t1" in out
    again = smppgw("credits", "transfer", "smpp-a", "smpp-b", "12.5", "--key", "t1", "--json")
    data: dict[str, Any] = again.json()
    assert (data["amount"], data["source_balance"], data["target_balance"]) == (
        "12.5",
        "87.5",
        "12.5",
    )
    assert (data["amount_milli"], data["idempotency_key"]) == (12_500, "t1")
    shown = ok(smppgw("credits", "show", "smpp-b"))
    assert "transfer_in" in shown and "from smpp-a" in shown
    assert "to smpp-b" in ok(smppgw("credits", "show", "smpp-a"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["smpp-a", "smpp-x", "1"],
            "smpp-a (owner 'acme') and smpp-x (owner 'other') do not belong",
        ),
        (["smpp-a", "smpp-a", "1"], "cannot transfer from smpp-a to itself"),
        (["smpp-a", "smpp-none", "1"], "account smpp-none: no such account"),
        (["smpp-a", "smpp-b", "100.001"], "smpp-a has 100 credits, less than the 100.001"),
        (["smpp-a", "smpp-b", "1", "--key", "seed"], "key seed was already used"),
    ],
)
def test_each_refusal_is_one_line_and_moves_nothing(
    smppgw: Cli, argv: list[str], message: str
) -> None:
    accounts(smppgw)
    line = refused(smppgw("credits", "transfer", *argv))
    assert message in line
    assert json.loads(ok(smppgw("credits", "show", "smpp-a", "--json")))["balance"] == "100"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "must be more than 0"),
        ("-1", "not a plain decimal"),
        ("0.0001", "not a whole number of milli-credits"),
        ("1e21", "not a plain decimal"),
    ],
)
def test_amounts_that_are_not_money_are_usage_errors(
    smppgw: Cli, amount: str, message: str
) -> None:
    accounts(smppgw)
    assert message in refused(smppgw("credits", "transfer", "smpp-a", "smpp-b", amount), 2)


def test_disabled_target_is_refused(smppgw: Cli) -> None:
    accounts(smppgw)
    ok(smppgw("account", "disable", "smpp-b"))
    assert "account smpp-b is disabled" in refused(
        smppgw("credits", "transfer", "smpp-a", "smpp-b", "1")
    )


def test_limits_from_the_configuration(smppgw: Cli) -> None:
    accounts(smppgw)
    huge = "1" + "0" * 21
    for amount in (huge, "1000.001"):
        line = refused(smppgw("credits", "add", "smpp-b", amount))
        assert "more than the largest allowed, 1000 (ledger.max_credit)" in line
    for key in ("c1", "c2", "c3", "c4", "c5"):
        ok(smppgw("credits", "add", "smpp-b", "980", "--key", key))  # 4900
    line = refused(smppgw("credits", "add", "smpp-b", "100.001"))
    assert "would take smpp-b to 5000.001" in line and "ledger.max_balance" in line
    ok(smppgw("credits", "add", "smpp-a", "1"))
    line = refused(smppgw("credits", "transfer", "smpp-a", "smpp-b", "100.001"))
    assert "largest balance allowed, 5000" in line
    ok(smppgw("credits", "transfer", "smpp-a", "smpp-b", "100"))


def test_account_set_show_and_close(smppgw: Cli, store_url: str) -> None:
    accounts(smppgw)
    out = ok(
        smppgw(
            "account", "set", "smpp-b", "--contact", "ops@acme.example", "--throughput", "9",
            "--max-binds", "4", "--default-category", "verification", "--owner", "Acme",
        )
    )  # fmt: skip
    assert "updated account smpp-b" in out
    for line in ("owner        Acme", "throughput   9 msg/s", "max binds    4", "verification"):
        assert line in out
    ok(smppgw("account", "set", "smpp-b", "--owner", "acme"))
    assert "nothing to change" in refused(smppgw("account", "set", "smpp-b"))
    assert "invalid _category value" not in refused(
        smppgw("account", "set", "smpp-b", "--default-category", "promo"), 2
    )

    async def bind() -> None:
        store = await open_store(store_url)
        try:
            await store.register_gateway("gw-1", address="h:2775")
            await store.acquire_bind(
                "smpp-b", gateway_id="gw-1", session_id="s1", kind="trx", max_binds=4,
                peer="198.51.100.4",
            )  # fmt: skip
        finally:
            await store.close()

    asyncio.run(bind())
    shown = ok(smppgw("account", "show", "smpp-b"))
    assert "binds        1" in shown and "198.51.100.4" in shown and "gw-1" in shown
    data = json.loads(ok(smppgw("account", "show", "smpp-b", "--json")))
    assert [b["peer"] for b in data["binds"]] == ["198.51.100.4"]
    assert data["default_category"] == "verification"

    line = refused(smppgw("account", "close", "smpp-a"))
    assert "still holds 100 credits: transfer or spend it before closing" in line
    ok(smppgw("credits", "transfer", "smpp-a", "smpp-b", "100"))
    assert ok(smppgw("account", "close", "smpp-a")) == "smpp-a: closed\n"
    assert "status       closed" in ok(smppgw("account", "show", "smpp-a"))
    assert "closed account stays closed" in refused(smppgw("account", "enable", "smpp-a"))


def test_history(smppgw: Cli, store_url: str) -> None:
    accounts(smppgw)

    async def debits() -> None:
        store = await open_store(store_url)
        try:
            for i, dest in enumerate(["33612345678", "447700900123", "33712345678"]):
                msg = message(f"m{i}", "smpp-a", cost=1_000, destination=dest)
                await store.debit_batch([DebitRequest(f"k{i}", msg)])
        finally:
            await store.close()

    asyncio.run(debits())
    out = ok(smppgw("history", "smpp-a"))
    header, *rows = out.splitlines()
    assert header.split() == [
        "TIME", "MESSAGE_ID", "DEST", "SENDER", "SEG", "COST", "DRAWN", "FROM", "STATE",
        "UPSTREAM_ID", "RECEIPT",
    ]  # fmt: skip
    assert [r.split()[1] for r in rows] == ["m2", "m1", "m0"]
    assert rows[0].split()[2:9] == ["33712345678", "Shop", "1", "1", "credits", "accepted", "-"]
    page = smppgw("history", "smpp-a", "--dest", "+33", "--limit", "1", "--json").json()
    assert [m["message_id"] for m in page["messages"]] == ["m2"]
    text = ok(smppgw("history", "smpp-a", "--dest", "33", "--limit", "1"))
    assert f"more: --before {page['next_before']}" in text
    rest = smppgw(
        "history", "smpp-a", "--dest", "33", "--before", page["next_before"], "--json"
    ).json()
    assert [m["message_id"] for m in rest["messages"]] == ["m0"] and rest["next_before"] is None
    assert ok(smppgw("history", "smpp-a", "--status", "delivered")) == "no messages\n"
    assert ok(smppgw("history", "smpp-a", "--since", "2999-01-01")) == "no messages\n"
    assert "is not one of accepted" in refused(smppgw("history", "smpp-a", "--status", "lost"), 2)
    assert "not a date or time" in refused(smppgw("history", "smpp-a", "--since", "today"), 2)
    assert "no such account" in refused(smppgw("history", "smpp-none"))
    assert "goes with `history prune`" in refused(smppgw("history", "smpp-a", "--days", "3"), 2)
    pruned = ok(smppgw("history", "prune"))  # the configured 30 days
    assert pruned.startswith("deleted 0 messages and 0 receipts created before ")
    assert smppgw("history", "prune", "--days", "1", "--json").json()["messages"] == 0
