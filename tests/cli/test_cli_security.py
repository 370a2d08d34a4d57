"""Issue 12 at the command line: the ledger's file mode, secrets kept out of ``--json``,
and allowlist input (host bits, catch-alls)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import Cli, Run, config_path, smppgw

__all__ = ["config_path", "smppgw"]  # fixtures shared with test_cli


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def refusal(result: Run, code: int) -> str:
    """The single stderr line of a refused command (nothing on stdout)."""
    assert result.code == code, result
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith("smppgw: ")
    return line


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- files ---------------------------------------------------------------------------------
def test_a_ledger_the_cli_creates_is_0600_with_its_wal(smppgw: Cli, tmp_path: Path) -> None:
    assert smppgw("account", "create", "smpp-a", "--allow-ip", "10.0.0.1").code == 0
    db = tmp_path / "l.db"
    assert oct(mode(db)) == "0o600"
    wal = tmp_path / "l.db-wal"
    if wal.exists():  # SQLite may have checkpointed and removed it on close
        assert oct(mode(wal)) == "0o600"


def test_a_wider_ledger_file_is_warned_about_on_stderr_not_in_json(
    smppgw: Cli, tmp_path: Path
) -> None:
    assert smppgw("account", "create", "smpp-a", "--allow-ip", "10.0.0.1").code == 0
    db = tmp_path / "l.db"
    db.chmod(0o644)
    listed = smppgw("--json", "account", "list")
    assert listed.code == 0
    # stdout stays one JSON document; the warning goes to stderr.
    assert [a["system_id"] for a in listed.json()["accounts"]] == ["smpp-a"]
    assert f"smppgw: warning: {db} is mode 0644" in listed.err
    assert mode(db) == 0o644  # the operator's file is not changed behind their back


# -- allowlist input -----------------------------------------------------------------------
def allowlist(smppgw: Cli) -> list[str]:
    shown = smppgw("--json", "account", "show", "smpp-a")
    assert shown.code == 0
    ips: list[str] = shown.json()["allowed_ips"]
    return ips


def test_host_bits_are_refused_with_the_network_they_would_mean(smppgw: Cli) -> None:
    assert smppgw("account", "create", "smpp-a").code == 0
    line = refusal(smppgw("account", "allow-ip", "smpp-a", "10.0.0.5/24"), 1)
    assert line == (
        "smppgw: 10.0.0.5/24 has host bits set: did you mean 10.0.0.0/24?"
        " use --normalise to store that"
    )
    assert allowlist(smppgw) == []  # nothing written
    done = smppgw("account", "allow-ip", "smpp-a", "10.0.0.5/24", "--normalise")
    assert done.out == "smpp-a: allowed IPs 10.0.0.0/24\n"
    # A network without host bits, and a bare address, need no flag.
    assert smppgw("account", "allow-ip", "smpp-a", "192.0.2.0/24").code == 0
    assert smppgw("account", "allow-ip", "smpp-a", "2001:db8::7").code == 0
    assert allowlist(smppgw) == ["10.0.0.0/24", "192.0.2.0/24", "2001:db8::7/128"]


@pytest.mark.parametrize(("network", "family"), [("0.0.0.0/0", "IPv4"), ("::/0", "IPv6")])
def test_a_catch_all_needs_any_and_is_marked_by_show(
    smppgw: Cli, network: str, family: str
) -> None:
    assert smppgw("account", "create", "smpp-a").code == 0
    line = refusal(smppgw("account", "allow-ip", "smpp-a", network), 1)
    assert line == (
        f"smppgw: {network} allows binds from every {family} address:"
        " use --any if that is what you mean"
    )
    assert allowlist(smppgw) == []
    assert smppgw("account", "allow-ip", "smpp-a", network, "--any").code == 0
    assert allowlist(smppgw) == [network]
    shown = smppgw("account", "show", "smpp-a").out
    assert f"allowed IPs  {network} (ANY: every {family} address)\n" in shown


def test_a_catch_all_with_host_bits_needs_both_flags(smppgw: Cli) -> None:
    assert smppgw("account", "create", "smpp-a").code == 0
    assert "use --normalise" in refusal(smppgw("account", "allow-ip", "smpp-a", "10.0.0.1/0"), 1)
    only = smppgw("account", "allow-ip", "smpp-a", "10.0.0.1/0", "--normalise")
    assert "use --any" in refusal(only, 1)
    both = smppgw("account", "allow-ip", "smpp-a", "10.0.0.1/0", "--normalise", "--any")
    assert both.code == 0
    assert allowlist(smppgw) == ["0.0.0.0/0"]


def test_create_applies_the_same_rule_to_every_allow_ip(smppgw: Cli, tmp_path: Path) -> None:
    line = refusal(smppgw("account", "create", "smpp-a", "--allow-ip", "10.0.0.5/24"), 1)
    assert "did you mean 10.0.0.0/24?" in line
    assert "0.0.0.0/0" in refusal(
        smppgw("account", "create", "smpp-a", "--allow-ip", "0.0.0.0/0"), 1
    )
    assert "no such account" in refusal(smppgw("account", "show", "smpp-a"), 1)  # not created
    created = smppgw(
        "account", "create", "smpp-a", "--allow-ip", "10.0.0.5/24", "--allow-ip", "::/0",
        "--normalise", "--any",
    )  # fmt: skip
    assert created.code == 0
    assert allowlist(smppgw) == ["10.0.0.0/24", "::/0"]


def test_what_is_no_address_stays_a_usage_error(smppgw: Cli) -> None:
    assert smppgw("account", "create", "smpp-a").code == 0
    assert "not an IP address" in refusal(smppgw("account", "allow-ip", "smpp-a", "x"), 2)
