"""``alert set|show|clear``, driven in-process on both stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_cli import Run, refused
from tests.cli.test_cli_transfers import ledger_cli
from tests.ledger.conftest import pg_session_schema, pg_url, store_url

__all__ = ["pg_session_schema", "pg_url", "store_url"]

Cli = Callable[..., Run]


@pytest.fixture
def smppgw(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """``smppgw --config <tmp> ARGS...`` on each store, max_balance 5000 credits."""
    run = ledger_cli(store_url, tmp_path, monkeypatch, capsys)
    assert (
        run("account", "create", "smpp-a", "--password", "pw", "--contact", "ops@acme.example").code
        == 0
    )
    assert run("credits", "add", "smpp-a", "100").code == 0
    return run


def ok(result: Run) -> str:
    assert result.code == 0, result
    assert result.err == ""
    return result.out


def test_set_show_clear(smppgw: Cli) -> None:
    out = ok(smppgw("alert", "set", "smpp-a", "--below", "50"))
    assert out == "smpp-a: mail the contact once when the credit balance falls below 50 (armed)\n"
    shown = ok(smppgw("alert", "show", "smpp-a"))
    assert shown.splitlines() == [
        "smpp-a: alerts to ops@acme.example",
        "  mail the contact once when the credit balance falls below 50 (armed)",
    ]
    data = smppgw("alert", "show", "smpp-a", "--json").json()
    assert data["contact_email"] == "ops@acme.example"
    [alert] = data["alerts"]
    assert (alert["category"], alert["below"], alert["below_milli"], alert["armed"]) == (
        None,
        "50",
        50_000,
        True,
    )
    # Replacing it with a threshold above the balance: it starts disarmed.
    assert "disarmed until the balance is back at 200.5 or above" in ok(
        smppgw("alert", "set", "smpp-a", "--below", "200.5")
    )
    assert (
        ok(smppgw("alert", "clear", "smpp-a"))
        == "smpp-a: cleared the alert on the credit balance\n"
    )
    cleared = smppgw("alert", "clear", "smpp-a", "--json").json()
    assert cleared == {"system_id": "smpp-a", "category": None, "cleared": False}
    assert "no low-balance alert" in ok(smppgw("alert", "show", "smpp-a"))


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["smpp-none", "--below", "5"], "account smpp-none: no such account", 1),
        (["smpp-a", "--below", "5001"], "more than the largest balance allowed, 5000", 1),
        (["smpp-a", "--below", "0"], "must be more than 0", 2),
        (["smpp-a", "--below", "0.0001"], "not a whole number of milli-credits", 2),
        (["smpp-a", "--below", "5", "--category", "promo"], "promo", 2),
        (["smpp-a"], "--below", 2),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    smppgw: Cli, argv: list[str], message: str, code: int
) -> None:
    assert message in refused(smppgw("alert", "set", *argv), code)
    assert smppgw("alert", "show", "smpp-a", "--json").json()["alerts"] == []
