"""gateway.config: the shipped file loads; every class of error names file, key, problem."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import (
    LEDGER_URL_ENV,
    Config,
    ConfigError,
    default_config,
    load_config,
    sqlite_file,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "smppgw.toml"


def write(tmp_path: Path, body: str, *, tariff: bool = True) -> Path:
    """A config file in tmp_path (with the tariff file it refers to by default)."""
    if tariff:
        (tmp_path / "tariff.csv").write_text("prefix,country,credits\n")
    path = tmp_path / "smppgw.toml"
    path.write_text(body)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# -- what loads -------------------------------------------------------------------------
def test_shipped_config_loads_with_embedded_defaults(tmp_path: Path) -> None:
    # A copy next to a tariff, so the test does not depend on config/tariff.csv.
    conf_dir = tmp_path / "config"
    conf_dir.mkdir()
    shutil.copy(SHIPPED, conf_dir / "smppgw.toml")
    (conf_dir / "tariff.csv").write_text("prefix,country,credits\n")

    config = load_config(conf_dir / "smppgw.toml", env={})

    assert config.source == conf_dir / "smppgw.toml"
    assert config.ledger.url == f"sqlite:///{tmp_path}/var/smppgw.db"
    assert sqlite_file(config.ledger.url) == tmp_path / "var" / "smppgw.db"
    assert config.pricing.tariff == conf_dir / "tariff.csv"
    assert config.simulator.enabled
    assert (config.upstream.host, config.upstream.port) == (
        config.simulator.host,
        config.simulator.port,
    )
    assert config.logging.format == "json"


def test_shipped_config_states_every_default(tmp_path: Path) -> None:
    """The file documents the defaults: loading it equals the built-in values, but for
    the HTTP API, which the shipped file turns on (built in, it is off, so a gateway
    started without a file opens no HTTP port)."""
    conf_dir = tmp_path / "config"
    conf_dir.mkdir()
    shutil.copy(SHIPPED, conf_dir / "smppgw.toml")
    (conf_dir / "tariff.csv").write_text("")
    loaded = load_config(conf_dir / "smppgw.toml", env={})
    built_in = Config()
    for section in (
        "server", "pricing", "upstream", "simulator", "logging", "smtp", "api", "packages"
    ):  # fmt: skip
        got, want = getattr(loaded, section), getattr(built_in, section)
        if section == "pricing":
            got = type(got)(Path("tariff.csv"), got.destination_check, got.max_parts)
        if section == "api":
            assert got.enabled and not want.enabled
            got = replace(got, enabled=False)
        assert got == want, section
    assert loaded.ledger.batch_max == built_in.ledger.batch_max
    for key in ("max_credit", "max_balance", "history_retention_days"):
        assert getattr(loaded.ledger, key) == getattr(built_in.ledger, key), key


def test_ledger_limits_are_credits_and_checked(tmp_path: Path) -> None:
    from ledger.rules.limits import LedgerLimits

    config = load_config(write(tmp_path, "[ledger]\nmax_credit = 50\nmax_balance = 70\n"), env={})
    assert config.ledger.limits() == LedgerLimits(max_credit=50_000, max_balance=70_000)
    assert Config().ledger.limits() == LedgerLimits()
    assert "ledger.max_credit: must not exceed ledger.max_balance (40)" in error_of(
        write(tmp_path, "[ledger]\nmax_credit = 50\nmax_balance = 40\n")
    )
    assert "ledger.max_balance: must be at most" in error_of(
        write(tmp_path, "[ledger]\nmax_balance = 100000000000000000000\n")
    )
    assert "ledger.max_credit: must be at least 1" in error_of(
        write(tmp_path, "[ledger]\nmax_credit = 0\n")
    )
    assert "ledger.history_retention_days: must be at least 0" in error_of(
        write(tmp_path, "[ledger]\nhistory_retention_days = -1\n")
    )


def test_empty_file_gives_defaults_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={})
    assert config.server.port == 2775
    assert config.server.tls_port is None
    assert config.ledger.url == f"sqlite:///{tmp_path}/var/smppgw.db"
    assert config.pricing.tariff == tmp_path / "tariff.csv"


def test_values_are_converted(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    config = load_config(
        write(
            tmp_path,
            "[server]\ninactivity_timeout_s = 5\ntls_port = 3550\n"
            'tls_cert = "c.pem"\ntls_key = "k.pem"\n'
            '[ledger]\nurl = "postgresql://u@db/ledger"\n',
        ),
        env={},
    )
    assert config.server.inactivity_timeout_s == 5.0
    assert isinstance(config.server.inactivity_timeout_s, float)
    assert config.server.tls_cert == cert
    assert config.ledger.url == "postgresql://u@db/ledger"
    assert sqlite_file(config.ledger.url) is None


def test_absolute_and_memory_sqlite_urls_are_kept(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path}/x.db", "sqlite:///:memory:"):
        config = load_config(write(tmp_path, f'[ledger]\nurl = "{url}"\n'), env={})
        assert config.ledger.url == url


def test_default_config_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = default_config(env={})
    assert config.source is None
    assert config.ledger.url == f"sqlite:///{tmp_path}/var/smppgw.db"
    assert config.pricing.tariff == tmp_path / "tariff.csv"  # not required to exist


# -- the environment --------------------------------------------------------------------
def test_env_overrides_ledger_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[ledger]\nurl = "sqlite:///file.db"\nbatch_max = 7\n')
    config = load_config(path, env={LEDGER_URL_ENV: "postgresql://ci@localhost/ci"})
    assert config.ledger.url == "postgresql://ci@localhost/ci"
    assert config.ledger.batch_max == 7


def test_env_relative_sqlite_path_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv(LEDGER_URL_ENV, "sqlite:///ci.db")
    assert load_config(write(conf, "")).ledger.url == f"sqlite:///{work}/ci.db"
    assert default_config().ledger.url == f"sqlite:///{work}/ci.db"


def test_empty_env_value_is_ignored(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={LEDGER_URL_ENV: ""})
    assert config.ledger.url == f"sqlite:///{tmp_path}/var/smppgw.db"


# -- every class of error ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[upstream]\nwindow = "ten"', 'upstream.window: expected an integer, got "ten"'),
        ("[upstream]\nwindow = true", "upstream.window: expected an integer, got true"),
        ("[upstream]\nwindow = 1.5", "upstream.window: expected an integer, got 1.5"),
        ("[server]\ninactivity_timeout_s = true", "expected a number, got true"),
        ('[server]\nresponse_timeout_s = "10s"', 'expected a number, got "10s"'),
        ("[server]\nhost = 127", "server.host: expected a string, got 127"),
        ("[simulator]\nenabled = 1", "simulator.enabled: expected true or false, got 1"),
        ("[pricing]\ntariff = 3", "pricing.tariff: expected a file path (a string), got 3"),
        ("[server]\nport = [1]", "server.port: expected an integer, got [1]"),
    ],
)
def test_wrong_type(tmp_path: Path, body: str, expected: str) -> None:
    assert error_of(write(tmp_path, body)).endswith(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[pricing]\ndestination_check = "strict"', 'one of "valid", "possible", "prefix"'),
        ('[logging]\nlevel = "INFO"', 'logging.level: expected one of "debug"'),
        ('[logging]\nformat = "text"', 'logging.format: expected one of "json", "console"'),
        ('[simulator]\ndlr_stat = "delivrd"', 'simulator.dlr_stat: expected one of "DELIVRD"'),
    ],
)
def test_bad_enum_value(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[server]\nport = 65536", "server.port: must be at most 65535, got 65536"),
        ("[server]\nport = -1", "server.port: must be at least 0, got -1"),
        ("[upstream]\nport = 70000", "upstream.port: must be at most 65535"),
        ("[server]\ntls_port = 99999", "server.tls_port: must be at most 65535"),
        ("[server]\ninactivity_timeout_s = 0", "must be greater than 0, got 0"),
        ("[upstream]\nresponse_timeout_s = -1.5", "must be greater than 0, got -1.5"),
        ("[server]\nwindow = 0", "server.window: must be at least 1, got 0"),
        ("[upstream]\nwindow = 0", "upstream.window: must be at least 1, got 0"),
        ("[pricing]\nmax_parts = 256", "pricing.max_parts: must be at most 255"),
        ("[simulator]\ndlr_delay_ms = -1", "simulator.dlr_delay_ms: must be at least 0"),
        ('[upstream]\npassword = "123456789"', "upstream.password: must be at most 8 characters"),
        ("[server]\ninactivity_timeout_s = inf", "expected a number, got Infinity"),
        (
            "[upstream]\nreconnect_min_s = 60.0",
            "upstream.reconnect_min_s: must not exceed upstream.reconnect_max_s (30)",
        ),
        ("[server]\ntls_port = 3550", "server.tls_port: needs server.tls_cert and server.tls_key"),
    ],
)
def test_out_of_range(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path, body))


def test_unknown_section_suggests(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[servr]\nport = 1"))
    assert message.startswith(f"{tmp_path}/smppgw.toml: servr: unknown section")
    assert 'did you mean "server"?' in message


def test_unknown_key_names_section_and_suggests(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[upstream]\nsystemid = "x"'))
    assert "upstream.systemid: unknown key" in message
    assert 'did you mean "system_id"?' in message


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "server = 3")).endswith("server: expected a table, got 3")


def test_missing_tariff_file(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "", tariff=False))
    expected = f"pricing.tariff: file not found: {tmp_path}/tariff.csv"
    assert message == f"{tmp_path}/smppgw.toml: {expected}"


def test_missing_tls_file(tmp_path: Path) -> None:
    body = '[server]\ntls_port = 1\ntls_cert = "nope.pem"\ntls_key = "nope.key"\n'
    assert "server.tls_cert: file not found" in error_of(write(tmp_path, body))


def test_value_errors_are_reported_before_missing_files(tmp_path: Path) -> None:
    body = '[upstream]\nwindow = "ten"'
    assert "upstream.window" in error_of(write(tmp_path, body, tariff=False))


def test_missing_config_file(tmp_path: Path) -> None:
    assert error_of(tmp_path / "absent.toml") == f"{tmp_path}/absent.toml: file not found"


def test_toml_syntax_error(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[server]\nport = = 3\n"))
    assert "TOML syntax error" in message
    assert "line 2" in message


def test_message_names_the_file_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", '[upstream]\nwindow = "ten"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/smppgw.toml", env={})
    assert str(info.value) == 'config/smppgw.toml: upstream.window: expected an integer, got "ten"'


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={})
    with pytest.raises(AttributeError):
        config.server.port = 1  # type: ignore[misc]


def test_upstream_password_is_not_in_the_repr(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[upstream]\npassword = "hunter2"\n'), env={})
    assert config.upstream.password == "hunter2"
    assert "hunter2" not in repr(config)


# -- [smtp] ---------------------------------------------------------------------------------
def test_smtp_is_off_by_default_and_every_key_loads(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, ""), env={}).smtp.enabled
    (tmp_path / "ca.pem").write_text("")
    body = (
        '[smtp]\nenabled = true\nhost = "smtp.example.com"\nport = 2525\nsecurity = "tls"\n'
        'username = "gw"\npassword = "s3cret"\nfrom_address = "noreply@gw.example"\n'
        'from_name = "Example SMS"\nreply_to = "support@gw.example"\ntimeout_s = 10\n'
        'ca_file = "ca.pem"\nhelo_name = "gw1.example"\nbind_address = "smpp.gw.example:2775"\n'
    )
    smtp = load_config(write(tmp_path, body), env={}).smtp
    assert (smtp.enabled, smtp.host, smtp.port, smtp.security) == (
        True,
        "smtp.example.com",
        2525,
        "tls",
    )
    assert (smtp.username, smtp.password) == ("gw", "s3cret")
    assert (smtp.from_address, smtp.from_name, smtp.reply_to) == (
        "noreply@gw.example",
        "Example SMS",
        "support@gw.example",
    )
    assert smtp.timeout_s == 10.0
    assert smtp.ca_file == tmp_path / "ca.pem"
    assert (smtp.helo_name, smtp.bind_address) == ("gw1.example", "smpp.gw.example:2775")


NO_AT = "smtp.from_address: not an e-mail address (no '@')"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('from_address = "noreply"', f'{NO_AT}: "noreply"'),
        ('from_address = "@gw.example"', "smtp.from_address: not an e-mail address (nothing"),
        ('from_address = "a b@gw.example"', "smtp.from_address: not one bare e-mail address"),
        ('reply_to = "Ops <ops@gw.example>"', "smtp.reply_to: not one bare e-mail address"),
        ('reply_to = "a@x.example,b@x.example"', "smtp.reply_to: not one bare e-mail address"),
        ("enabled = true", "smtp.from_address: required when smtp.enabled is true"),
        ('enabled = true\nfrom_address = "a@b.example"\nhost = ""', "smtp.host: required"),
        ('username = "gw"', "smtp.username: needs smtp.password too"),
        ('password = "pw"', "smtp.password: needs smtp.username too"),
        (
            'username = "gw"\npassword = "pw"\nsecurity = "none"',
            'smtp.username: credentials need smtp.security "starttls" or "tls", not "none"',
        ),
        ('security = "ssl"', 'smtp.security: expected one of "none", "starttls", "tls", got "ssl"'),
        ("port = 0", "smtp.port: must be at least 1, got 0"),
        ("port = 65536", "smtp.port: must be at most 65535, got 65536"),
        ("timeout_s = 0", "smtp.timeout_s: must be greater than 0, got 0"),
        ('ca_file = "absent.pem"', "smtp.ca_file: file not found: "),
    ],
)  # fmt: skip
def test_smtp_errors_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path, f"[smtp]\n{body}\n"))


@pytest.mark.parametrize("section", ["smtp", "upstream"])
def test_a_password_is_never_shown_even_when_mistyped(tmp_path: Path, section: str) -> None:
    message = error_of(write(tmp_path, f"[{section}]\npassword = 73519246\n"))
    assert message.endswith(f"{section}.password: expected a string (the value is not shown)")
    assert "73519246" not in message


def test_smtp_password_is_not_in_the_repr(tmp_path: Path) -> None:
    body = '[smtp]\nusername = "gw"\npassword = "hunter2"\n'
    config = load_config(write(tmp_path, body), env={})
    assert config.smtp.password == "hunter2"
    assert "hunter2" not in repr(config)


def test_proxy_protocol_networks(tmp_path: Path) -> None:
    body = '[server]\nproxy_protocol_from = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]\n'
    config = load_config(write(tmp_path, body))
    assert config.server.proxy_protocol_from == ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7")
    assert load_config(write(tmp_path, "")).server.proxy_protocol_from == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            '"10.0.0.0/8"',
            'server.proxy_protocol_from: expected an array of strings, got "10.0.0.0/8"',
        ),
        ("[10]", "server.proxy_protocol_from: expected an array of strings, got [10]"),
        (
            '["10.0.0.5/8"]',
            'server.proxy_protocol_from: "10.0.0.5/8" has host bits set (did you mean 10.0.0.0/8?)',
        ),
        ('["haproxy"]', 'server.proxy_protocol_from: not an IP network: "haproxy"'),
    ],
)
def test_proxy_protocol_networks_refused(tmp_path: Path, value: str, expected: str) -> None:
    message = error_of(write(tmp_path, f"[server]\nproxy_protocol_from = {value}\n"))
    assert message.endswith(expected), message


def test_a_client_ca_needs_the_tls_listener(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    body = '[server]\ntls_client_ca = "ca.pem"\n'
    assert error_of(write(tmp_path, body)).endswith(
        "server.tls_client_ca: needs server.tls_port (the TLS listener)"
    )


def test_packages_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[packages]\nvalidity_months = 6\nservice_types = { OTP = "verification" }\n',
    )
    packages = load_config(path, env={}).packages
    assert (packages.validity_months, dict(packages.service_types)) == (6, {"OTP": "verification"})
    assert Config().packages.service_types == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('service_types = { OTP = "promo" }', "packages.service_types.OTP: expected one of"),
        ("service_types = { OTP = 1 }", "packages.service_types.OTP: expected one of"),
        ('service_types = "OTP"', "packages.service_types: expected a table"),
        ("validity_months = 0", "packages.validity_months: must be at least 1"),
        ("validity_months = 121", "packages.validity_months: must be at most 120"),
    ],
)
def test_packages_refusals(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path, f"[packages]\n{body}\n"))
