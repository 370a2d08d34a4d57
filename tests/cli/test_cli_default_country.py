"""``smppgw account set --default-country`` and ``account show`` (issue 9), on each store."""

from __future__ import annotations

import json

from tests.cli.test_cli import refused
from tests.cli.test_cli_transfers import Cli, ok, smppgw
from tests.ledger.conftest import pg_session_schema, pg_url, store_url

__all__ = ["pg_session_schema", "pg_url", "smppgw", "store_url"]


def test_default_country_is_set_shown_and_cleared(smppgw: Cli) -> None:
    ok(smppgw("account", "create", "smpp-kannel", "--password", "pw"))
    shown = ok(smppgw("account", "show", "smpp-kannel"))
    assert "country      - (international numbers only)" in shown
    out = ok(smppgw("account", "set", "smpp-kannel", "--default-country", "fr"))
    assert "updated account smpp-kannel" in out and "country      FR" in out
    data = json.loads(ok(smppgw("account", "show", "smpp-kannel", "--json")))
    assert data["default_country"] == "FR"
    # A code that is not a region: one line, exit 1, nothing written.
    line = refused(smppgw("account", "set", "smpp-kannel", "--default-country", "UK"))
    assert "'UK' is not an ISO 3166-1 alpha-2 region code" in line
    assert "country      FR" in ok(smppgw("account", "show", "smpp-kannel"))
    ok(smppgw("account", "set", "smpp-kannel", "--default-country", "none"))
    data = json.loads(ok(smppgw("account", "show", "smpp-kannel", "--json")))
    assert data["default_country"] == ""
