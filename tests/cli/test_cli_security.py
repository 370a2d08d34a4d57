"""Issue 12 at the command line: the ledger's file mode, secrets kept out of ``--json``,
and allowlist input (host bits, catch-alls)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway import cli
from gateway.config import LEDGER_URL_ENV

TARIFF = "prefix,country,credits\n33,FR,1.0\n"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Run]


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


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
