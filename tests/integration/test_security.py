"""Issue 12 at start-up: a real gateway from a real config file warns about a secret any
local user may read and about a ledger file others may read, and a secret read from the
environment appears in no log line and no ``--json`` output."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway import cli
from gateway.app import Gateway
from gateway.config import LEDGER_URL_ENV, load_config
from gateway.observability.logs import configure_logging
from tests.integration.harness import TARIFF

SECRET = "Zq7#wK2p"  # 8 characters: the upstream password's limit


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line the gateway writes, rendered as in production (JSON)."""
    stream = io.StringIO()
    configure_logging("debug", "json", stream, cache=False)
    yield stream
    structlog.reset_defaults()


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def write_config(tmp_path: Path, upstream: str) -> Path:
    path = tmp_path / "smppgw.toml"
    path.write_text(
        f'[server]\nport = 0\n[ledger]\nurl = "sqlite:///{tmp_path}/l.db"\n'
        f'[pricing]\ntariff = "{TARIFF}"\n[simulator]\nport = 0\n'
        f'[upstream]\nsystem_id = "smppgw"\n{upstream}\n'
    )
    return path


async def start_and_stop(path: Path, env: dict[str, str]) -> None:
    gateway = Gateway(load_config(path, env=env))
    await gateway.start()
    assert gateway.upstream is not None
    await gateway.upstream.wait_bound()  # the password was sent upstream
    await gateway.stop()


async def test_an_inline_secret_in_a_world_readable_file_is_warned_about(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    path = write_config(tmp_path, f'password = "{SECRET}"')
    path.chmod(0o644)
    await start_and_stop(path, env={})
    [warning] = [e for e in events(log_lines) if e["event"] == "config.secret_world_readable"]
    assert warning["level"] == "warning"
    assert warning["path"] == str(path)
    assert warning["mode"] == "0644"
    assert warning["keys"] == ["upstream.password"]
    assert SECRET not in log_lines.getvalue()


async def test_a_private_config_or_a_secret_from_the_environment_is_not_warned_about(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    private = write_config(tmp_path, f'password = "{SECRET}"')
    private.chmod(0o600)
    await start_and_stop(private, env={})
    from_env = write_config(tmp_path, 'password_env = "SMPPGW_TEST_UPSTREAM"')
    from_env.chmod(0o644)
    await start_and_stop(from_env, env={"SMPPGW_TEST_UPSTREAM": SECRET})
    logged = events(log_lines)
    assert [e["event"] for e in logged].count("gateway.started") == 2
    assert "config.secret_world_readable" not in {e["event"] for e in logged}
    assert SECRET not in log_lines.getvalue()


async def test_a_ledger_file_others_may_read_is_warned_about_at_start(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    path = write_config(tmp_path, "")
    path.chmod(0o600)
    await start_and_stop(path, env={})
    assert "ledger.file_exposed" not in {e["event"] for e in events(log_lines)}
    db = tmp_path / "l.db"
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    db.chmod(0o640)
    await start_and_stop(path, env={})
    exposed = [e for e in events(log_lines) if e["event"] == "ledger.file_exposed"]
    assert exposed[0] == {**exposed[0], "path": str(db), "mode": "0640", "level": "warning"}


def test_a_secret_from_the_environment_is_in_no_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    monkeypatch.setenv("SMPPGW_TEST_UPSTREAM", SECRET)
    monkeypatch.setenv("SMPPGW_TEST_SMTP", SECRET)
    path = write_config(tmp_path, 'password_env = "SMPPGW_TEST_UPSTREAM"')
    with path.open("a") as f:
        f.write('[smtp]\nusername = "gw"\npassword_env = "SMPPGW_TEST_SMTP"\n')
    outputs = []
    for argv in (
        ["account", "create", "smpp-a", "--allow-ip", "10.0.0.1"],
        ["account", "show", "smpp-a"],
        ["account", "list"],
        ["credits", "show", "smpp-a"],
        ["token", "list"],
    ):
        assert cli.main(["--config", str(path), "--json", *argv]) == 0, argv
        captured = capsys.readouterr()
        json.loads(captured.out)
        outputs.append(captured.out + captured.err)
    assert all(SECRET not in out for out in outputs)
    assert os.environ["SMPPGW_TEST_UPSTREAM"] == SECRET  # it was there to be leaked
