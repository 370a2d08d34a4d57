"""``smppgw bench``: wrong command lines are one line and exit 2, before any connection;
a server that is not there is one line and exit 1."""

from __future__ import annotations

import socket

import pytest

from gateway import cli

OK = ["127.0.0.1:2775", "--system-id", "smpp-a"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "the following arguments are required: HOST:PORT, --system-id"),
        (["localhost", "--system-id", "a"], "expected HOST:PORT (port 1-65535), not 'localhost'"),
        (["h:99999", "--system-id", "a"], "expected HOST:PORT (port 1-65535), not 'h:99999'"),
        ([*OK, "--window", "0"], "--window: must be at least 1, got 0"),
        ([*OK, "--binds", "two"], "--binds: not an integer: 'two'"),
        ([*OK, "--rate", "-5"], "--rate: must be a number of at least 0, got -5"),
        ([*OK, "--rate", "nan"], "--rate: must be a number of at least 0, got nan"),
        ([*OK, "--mix", "gsm8=1"], "unknown message kind 'gsm8' (kinds: gsm7, ucs2, long,"),
        ([*OK, "--mix", "gsm7=0"], "weight of gsm7 must be positive, not 0"),
        ([*OK, "--to", "FR=2,XX"], "no mobile numbers known for country 'XX'"),
        ([*OK, "--source", "SMPPGW"], "a sender is TON:ADDR"),
        ([*OK, "--bind-type", "rx"], "--bind-type: invalid BindType value: 'rx'"),
        ([*OK, "--count", "5", "--duration", "1"], "not allowed with argument --count"),
        (
            [*OK, "--bind-type", "tx", "--receipts"],
            "--receipts with --bind-type tx needs --rx-binds N (a receiver)",
        ),
    ],
)
def test_bad_command_lines_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["bench", *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smppgw: "), captured.err
    assert says in lines[0]
    assert lines[0].endswith("(see: smppgw bench --help)")


def test_nobody_listening_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = cli.main(["bench", f"127.0.0.1:{port}", "--system-id", "a", "--count", "1"])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.splitlines()
    assert lines == [lines[0]] and lines[0].startswith("smppgw: "), captured.err
    assert "cannot connect" in lines[0]
    assert "Traceback" not in captured.out + captured.err


def test_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--binds", "--window", "--rate", "--receipts", "--mix", "--to",
                   "--check-ledger", "--json FILE"):  # fmt: skip
        assert option in out
