"""gateway.config secrets: inline, ``KEY_env`` or ``KEY_file``, exactly one; never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, world_readable_secrets

SECRET = "s3Cr.t!"  # 7 characters: fits the upstream password's 8


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "tariff.csv").write_text("prefix,country,credits\n")
    (tmp_path / "api.key").write_text("not a real key; the loader only checks it exists\n")
    (tmp_path / "api.crt").write_text("nor a real certificate\n")
    path = tmp_path / "smppgw.toml"
    path.write_text(body)
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert SECRET not in message
    return message.removeprefix(f"{path}: ")


def test_each_secret_is_read_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[upstream]\npassword_env = "UP"\n'
        '[smtp]\nusername = "gw"\npassword_env = "MAIL"\n'
        '[api]\ntls_cert = "api.crt"\ntls_key = "api.key"\ntls_key_password_env = "KEYPASS"\n',
    )
    config = load_config(path, env={"UP": SECRET, "MAIL": "mail-pw", "KEYPASS": "key-pw"})
    assert config.upstream.password == SECRET
    assert config.smtp.password == "mail-pw"
    assert config.api.tls_key_password == "key-pw"
    assert config.inline_secrets == ()
    for shown in (repr(config), str(config)):
        assert SECRET not in shown and "mail-pw" not in shown and "key-pw" not in shown


def test_a_secret_file_relative_to_the_config_loses_one_trailing_newline(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "up").write_text(SECRET + "\n")
    (tmp_path / "secrets" / "mail").write_text("  spaced \n\n")  # only one newline goes
    path = write(
        tmp_path,
        '[upstream]\npassword_file = "secrets/up"\n'
        '[smtp]\nusername = "gw"\npassword_file = "secrets/mail"\n',
    )
    config = load_config(path, env={})
    assert config.upstream.password == SECRET
    assert config.smtp.password == "  spaced \n"
    assert config.inline_secrets == ()


def test_inline_secrets_are_named_and_empty_ones_are_not(tmp_path: Path) -> None:
    path = write(tmp_path, f'[upstream]\npassword = "{SECRET}"\n[smtp]\npassword = ""\n')
    assert load_config(path, env={}).inline_secrets == ("upstream.password",)


@pytest.mark.parametrize(
    ("body", "env", "expected"),
    [
        (
            f'[upstream]\npassword = "{SECRET}"\npassword_env = "UP"\n',
            {"UP": SECRET},
            "upstream.password: give only one of upstream.password, upstream.password_env",
        ),
        (
            '[upstream]\npassword_env = "UP"\npassword_file = "x"\n',
            {"UP": SECRET},
            "upstream.password_env: give only one of upstream.password_env, upstream.password_file",
        ),
        (
            '[upstream]\npassword_env = "UP"\n',
            {},
            "upstream.password_env: environment variable UP is not set",
        ),
        (
            '[upstream]\npassword_env = "UP"\n',
            {"UP": ""},
            "upstream.password_env: environment variable UP is empty",
        ),
        (
            "[upstream]\npassword_env = 3\n",
            {},
            "upstream.password_env: expected an environment variable name"
            " (a non-empty string), got 3",
        ),
        (
            '[upstream]\npassword_env = "UP"\n',
            {"UP": SECRET * 2},
            "upstream.password_env: must be at most 8 characters, got 14",
        ),
        (
            '[smtp]\npassword_envv = "UP"\n',
            {},
            "smtp.password_envv: unknown key (expected one of: enabled, host, port, security,"
            " username, password, from_address, from_name, reply_to, timeout_s, ca_file,"
            " helo_name, bind_address, password_env, password_file);"
            ' did you mean "password_env"?',
        ),
        (
            '[api]\ntls_key_password_env = "K"\n',
            {"K": SECRET},
            "api.tls_key_password: needs api.tls_key (the key it unlocks)",
        ),
    ],
)
def test_bad_secret_settings_are_one_line_errors_without_the_secret(
    tmp_path: Path, body: str, env: dict[str, str], expected: str
) -> None:
    assert error_of(write(tmp_path, body), env) == expected


def test_a_missing_or_empty_secret_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[upstream]\npassword_file = "nowhere"\n')
    assert error_of(path) == f"upstream.password_file: file not found: {tmp_path}/nowhere"
    (tmp_path / "empty").write_text("\n")
    path = write(tmp_path, '[upstream]\npassword_file = "empty"\n')
    assert error_of(path) == f"upstream.password_file: {tmp_path}/empty is empty"
    (tmp_path / "binary").write_bytes(b"\xff\xfe" + SECRET.encode())
    path = write(tmp_path, '[upstream]\npassword_file = "binary"\n')
    assert error_of(path) == f"upstream.password_file: {tmp_path}/binary: not UTF-8 text"


def test_world_readable_is_reported_only_for_inline_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, f'[upstream]\npassword = "{SECRET}"\n')
    path.chmod(0o644)
    assert world_readable_secrets(load_config(path, env={})) == (0o644, ("upstream.password",))
    path.chmod(0o640)  # the group may read it (the gateway's group): not "anyone"
    assert world_readable_secrets(load_config(path, env={})) is None
    path = write(tmp_path, '[upstream]\npassword_env = "UP"\n')
    path.chmod(0o644)
    assert world_readable_secrets(load_config(path, env={"UP": SECRET})) is None
