"""``package buy|list|show``, driven in-process on both stores."""

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
    """``smppgw --config <tmp> ARGS...`` on each store, with one account, smpp-a."""
    run = ledger_cli(store_url, tmp_path, monkeypatch, capsys)
    assert run("account", "create", "smpp-a", "--password", "pw").code == 0
    return run


def ok(result: Run) -> str:
    assert result.code == 0, result
    assert result.err == ""
    return result.out


def test_buy_list_show(smppgw: Cli) -> None:
    out = ok(smppgw("package", "buy", "smpp-a", "verification", "1000", "--key", "k1"))
    assert out.startswith("bought PKG")
    assert "(1000 verification, verification): 1000 of 1000 messages left" in out
    again = smppgw("package", "buy", "smpp-a", "verification", "1000", "--key", "k1", "--json")
    ok(smppgw("package", "buy", "smpp-a", "general", "200", "--name", "spare"))
    listed = ok(smppgw("package", "list", "smpp-a")).splitlines()
    assert listed[0] == (
        "smpp-a: messages left in valid packages: verification 1000, marketing 0, general 200"
    )
    assert listed[1].split() == [
        "ID", "NAME", "CATEGORY", "TOTAL", "REMAINING", "EXPIRES", "STATUS"
    ]  # fmt: skip
    assert len(listed) == 4
    assert listed[2].split()[1:3] == ["spare", "general"]  # newest first
    data = smppgw("package", "list", "smpp-a", "--json").json()
    assert [p["package_id"] for p in data["packages"]][1] == again.json()["package_id"]
    assert data["remaining"][0] == {
        "category": "verification",
        "remaining": "1000",
        "remaining_milli": 1_000_000,
    }
    first = data["packages"][1]
    assert (first["total"], first["remaining"], first["status"]) == ("1000", "1000", "valid")
    shown = ok(smppgw("package", "show", first["package_id"])).splitlines()
    assert shown[0].startswith(first["package_id"])
    assert shown[-1].split()[2:5] == ["package", "1000", "1000"]
    # Paging: one a page, the cursor printed under a full one.
    page = ok(smppgw("package", "list", "smpp-a", "--limit", "1")).splitlines()
    assert page[-1].startswith("more: --before ")
    cursor = page[-1].removeprefix("more: --before ")
    rest = smppgw("package", "list", "smpp-a", "--limit", "1", "--before", cursor, "--json")
    assert [p["name"] for p in rest.json()["packages"]] == ["1000 verification"]
    assert rest.json()["next_before"] is None


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["buy", "smpp-none", "general", "100"], "account smpp-none: no such account", 1),
        (["buy", "smpp-a", "general", "150"], "units of 100 messages, not 150", 1),
        (["buy", "smpp-a", "general", "0"], "must be at least 1", 2),
        (["buy", "smpp-a", "general", "ten"], "not an integer", 2),
        (["buy", "smpp-a", "promo", "100"], "promo", 2),
        (["buy", "smpp-a", "general", "100", "--name", "x" * 65], "at most 64", 1),
        (["list", "smpp-none"], "account smpp-none: no such account", 1),
        (["list", "smpp-a", "--before", "nonsense"], "not a package page cursor", 1),
        (["show", "PKG0000"], "package PKG0000: no such package", 1),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    smppgw: Cli, argv: list[str], message: str, code: int
) -> None:
    assert message in refused(smppgw("package", *argv), code)
    assert smppgw("package", "list", "smpp-a", "--json").json()["packages"] == []


def test_a_key_reused_for_another_purchase_is_refused(smppgw: Cli) -> None:
    ok(smppgw("package", "buy", "smpp-a", "general", "100", "--key", "k1"))
    line = refused(smppgw("package", "buy", "smpp-a", "general", "200", "--key", "k1"))
    assert "key k1 was already used for a different operation" in line
    assert len(smppgw("package", "list", "smpp-a", "--json").json()["packages"]) == 1
