"""``smppgw account set --submit-window / --max-session-age`` and ``account show``
(issue 9, per-account limits), on each store."""

from __future__ import annotations

import json

from tests.cli.test_cli import refused
from tests.cli.test_cli_transfers import Cli, ok, smppgw
from tests.ledger.conftest import pg_session_schema, pg_url, store_url

__all__ = ["pg_session_schema", "pg_url", "smppgw", "store_url"]


def test_an_accounts_own_limits_are_set_shown_and_given_back(smppgw: Cli) -> None:
    ok(smppgw("account", "create", "smpp-busy", "--password", "pw"))
    shown = ok(smppgw("account", "show", "smpp-busy"))
    assert "window       the gateway's ([server])" in shown
    assert "session age  the gateway's ([server])" in shown
    out = ok(
        smppgw("account", "set", "smpp-busy", "--submit-window", "8", "--max-session-age", "0")
    )
    assert "window       8 submits at once" in out and "session age  never ends" in out
    data = json.loads(ok(smppgw("account", "show", "smpp-busy", "--json")))
    assert (data["submit_window"], data["max_session_age_s"]) == (8, 0)
    # Not a number, or below 0: refused by the parser, nothing written.
    line = refused(smppgw("account", "set", "smpp-busy", "--submit-window", "-3"), 2)
    assert "must be at least 0" in line
    ok(smppgw("account", "set", "smpp-busy", "--max-session-age", "default"))
    data = json.loads(ok(smppgw("account", "show", "smpp-busy", "--json")))
    assert (data["submit_window"], data["max_session_age_s"]) == (8, None)
