"""Configuration: one TOML file -> frozen dataclasses, validated strictly.

The file has one table per dataclass below (``[server]``, ``[ledger]``, ``[pricing]``,
``[upstream]``, ``[simulator]``, ``[logging]``, ``[smtp]``, ``[api]``, ``[delivery]``,
``[packages]``) and two arrays of tables (``[[upstreams]]``, ``[[routes]]``; see
``gateway.config_delivery``). Every table and every key is optional; a missing one keeps
its default. Anything else is an error: an unknown table or key, a value of the wrong
type (``true`` is not an integer), a value outside its range or its list of choices, a
file that does not exist. Each error is a
``ConfigError`` whose message is one line naming the file, the key and the problem::

    config/smppgw.toml: upstream.window: expected an integer, got "ten"

Validation is generic (``gateway.config_validation.build``): it walks each dataclass's
fields and type hints, and the few limits (ranges, lengths, files that must exist, e-mail
addresses) are declared next to the field as ``metadata``. Adding a setting is adding one
annotated field.

Relative paths in the file (``pricing.tariff``, the file of a ``sqlite:///`` ledger URL)
are resolved against the directory of the config file, so a config works whatever the
current directory is. ``default_config()`` has no file, so its relative paths resolve
against the current directory. ``SMPPGW_LEDGER_URL``, when set, replaces ``ledger.url``
(a relative SQLite path in it is resolved against the current directory: it comes from
the shell, not from the file).

Secrets (``upstream.password``, ``smtp.password``, ``api.tls_key_password``: the fields
declared ``repr=False``) may be given inline, or as ``KEY_env = "VAR"`` (read from that
environment variable) or ``KEY_file = "/path"`` (the file's text, one trailing newline
dropped; relative to the config file): exactly one of the three. A secret is never
echoed by an error, never in ``repr`` and never logged; ``Config.inline_secrets`` names
those written in the file itself, so ``serve`` can warn when others may read it.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from gateway.config_delivery import DeliveryConfig as DeliveryConfig
from gateway.config_delivery import RouteConfig as RouteConfig
from gateway.config_delivery import UpstreamConfig as UpstreamConfig
from gateway.config_delivery import check_delivery, links
from gateway.config_fields import (
    AT_LEAST_1,
    CREDIT_LIMIT,
    EMAIL,
    FILE,
    PORT,
    POSITIVE,
    limits,
)
from gateway.config_validation import ConfigError as ConfigError
from gateway.config_validation import Context, build, resolve, show, suggest
from ledger.money import MILLI
from ledger.rules.limits import (
    DEFAULT_MAX_BALANCE_CREDITS,
    DEFAULT_MAX_CREDIT_CREDITS,
    LedgerLimits,
)

#: Environment variable that replaces ``ledger.url`` (CI, tests, containers).
LEDGER_URL_ENV = "SMPPGW_LEDGER_URL"
_SQLITE_PREFIX = "sqlite:///"

DestinationCheck = Literal["valid", "possible", "prefix"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LogFormat = Literal["json", "console"]
WindowMode = Literal["throttle", "backpressure"]
#: Final states a simulated delivery receipt may report (SMPP 3.4 Appendix B).
ReceiptStat = Literal["DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"]
#: How the SMTP connection is protected: not at all, upgraded with STARTTLS, or TLS from
#: the first byte ("implicit TLS", RFC 8314).
SmtpSecurity = Literal["none", "starttls", "tls"]
#: The categories of credit packages (``ledger.models.Category``).
PackageCategory = Literal["verification", "marketing", "general"]


_limits = limits
_PORT, _POSITIVE, _AT_LEAST_1, _FILE, _EMAIL = PORT, POSITIVE, AT_LEAST_1, FILE, EMAIL
_CREDIT_LIMIT = CREDIT_LIMIT


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The SMPP server clients (ESMEs) bind to."""

    host: str = "127.0.0.1"
    port: int = field(default=2775, metadata=_PORT)
    #: Largest command_length accepted; bigger PDUs are refused with generic_nack.
    max_pdu_size: int = field(default=4096, metadata=_limits(ge=64, le=1_048_576))
    #: Close a session that sent nothing for this long (enquire_link counts).
    inactivity_timeout_s: float = field(default=150.0, metadata=_POSITIVE)
    #: How long to wait for a client's response (deliver_sm_resp ...).
    response_timeout_s: float = field(default=10.0, metadata=_POSITIVE)
    #: Requests a session may have outstanding towards the client.
    window: int = field(default=10, metadata=_AT_LEAST_1)
    #: submit_sm a session may have unanswered before the server stops reading from it
    #: (TCP backpressure); a client that still sends 16 times as many gets ESME_RMSGQFUL.
    max_submit_inflight: int = field(default=64, metadata=_AT_LEAST_1)
    #: This gateway's name among those sharing the ledger; "" = "<hostname>:<port>".
    #: Stable across restarts so a restarted gateway takes back its own unsent messages.
    gateway_id: str = field(default="", metadata=_limits(max_len=100))
    #: TLS listener; off unless a port is given (then tls_cert and tls_key are required).
    tls_port: int | None = field(default=None, metadata=_PORT)
    tls_cert: Path | None = field(default=None, metadata=_FILE)
    tls_key: Path | None = field(default=None, metadata=_FILE)
    #: Failed binds (unknown system_id, wrong password, address not allowed, disabled)
    #: from one client address within ``bind_failure_window_s`` that block it; 0 = off.
    bind_max_failures: int = field(default=5, metadata=_limits(ge=0))
    bind_failure_window_s: float = field(default=60.0, metadata=_POSITIVE)
    #: How long a blocked address's binds get ESME_RBINDTHROTTLED without any hashing.
    bind_backoff_s: float = field(default=60.0, metadata=_POSITIVE)
    #: Failed binds for one existing system_id, from any address, within
    #: ``bind_system_id_window_s`` that block it for ``bind_system_id_backoff_s``: its
    #: binds get ESME_RBINDTHROTTLED without hashing, except from an address that bound
    #: it successfully within ``bind_known_address_s``. 0 = off.
    bind_system_id_max_failures: int = field(default=20, metadata=_limits(ge=0))
    bind_system_id_window_s: float = field(default=60.0, metadata=_POSITIVE)
    bind_system_id_backoff_s: float = field(default=60.0, metadata=_POSITIVE)
    bind_known_address_s: float = field(default=86_400.0, metadata=_POSITIVE)
    #: Password checks (scrypt) one client address may have waiting or running at once;
    #: one more gets ESME_RBINDTHROTTLED without hashing. 0 = no bound. 1 by default,
    #: fewer than the two hashing threads: one address never holds them all.
    bind_hashes_per_address: int = field(default=4, metadata=_limits(ge=0))
    #: deliver_sm a receiver may leave unanswered (response_timeout_s each) in a row
    #: before it is closed and its account's receipts go to its other receivers.
    receiver_max_unanswered: int = field(default=3, metadata=_AT_LEAST_1)
    #: Answer every refused credential (unknown system_id, wrong password, address not
    #: allowed, disabled) with ESME_RBINDFAIL after one hash, so that neither the status
    #: nor the time tells which: against account enumeration, at the cost of the spec's
    #: distinct statuses and a hash per refusal.
    uniform_bind_refusals: bool = False
    #: Seconds a connection may stay unbound, whatever it sends (enquire_link included).
    bind_timeout_s: float = field(default=30.0, metadata=_POSITIVE)
    #: Client connections this gateway holds at once (both listeners), and from one
    #: address; a connection beyond either is closed at once, before any PDU is read.
    max_connections: int = field(default=10_000, metadata=_AT_LEAST_1)
    max_connections_per_address: int = field(default=200, metadata=_AT_LEAST_1)
    #: Networks of the load balancers that send a PROXY protocol header (v1 or v2) first
    #: on both listeners. A connection from one of them must start with a header, whose
    #: client address then stands for the connection everywhere; a header from any
    #: other address closes the connection. Empty: no PROXY protocol.
    proxy_protocol_from: tuple[str, ...] = field(default=(), metadata=_limits(networks=True))
    #: Seconds a trusted balancer has to send its whole PROXY header.
    proxy_header_timeout_s: float = field(default=5.0, metadata=_POSITIVE)
    #: CA certificates (PEM) the TLS listener checks client certificates against. Set,
    #: the listener asks every client for a certificate (optional: binds for accounts
    #: without a pinned certificate go on without one); unset, it asks for none.
    tls_client_ca: Path | None = field(default=None, metadata=_FILE)
    #: Octets a session may hold undecoded (received) or unsent (written, the client not
    #: reading); beyond either the session is closed (``session.buffer_full``).
    max_session_buffer: int = field(default=1_048_576, metadata=_limits(ge=65_536))
    #: submit_sm (and data_sm, submit_multi) one account may have in progress at once on
    #: this gateway, all its sessions together; 0 = no limit. Beyond it:
    #: ``account_window_mode``.
    account_submit_window: int = field(default=0, metadata=_limits(ge=0))
    #: "throttle": answer ESME_RTHROTTLED at once; "backpressure": hold the request until
    #: a slot frees (the session's reading pauses as its unanswered requests pile up).
    account_window_mode: WindowMode = "throttle"
    #: A bound session older than this is unbound cleanly (unbind, then close); the
    #: client binds again. 0 = never.
    max_session_age_s: float = field(default=86_400.0, metadata=_limits(ge=0))


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    """Where accounts and money live."""

    #: ``sqlite:///PATH`` (relative to the config file) or ``postgresql://...``.
    url: str = "sqlite:///var/smppgw.db"
    #: Most debits committed in one transaction (group commit).
    batch_max: int = field(default=256, metadata=_AT_LEAST_1)
    #: Largest single credit, in whole credits (``credits add`` and every other front end).
    max_credit: int = field(default=DEFAULT_MAX_CREDIT_CREDITS, metadata=_CREDIT_LIMIT)
    #: Largest balance a credit or a transfer may make, in whole credits.
    max_balance: int = field(default=DEFAULT_MAX_BALANCE_CREDITS, metadata=_CREDIT_LIMIT)
    #: Days a message (and its receipts) stays in the history; 0 = forever. The journal
    #: is never pruned.
    history_retention_days: int = field(default=0, metadata=_limits(ge=0, le=36_500))

    def limits(self) -> LedgerLimits:
        """The amount limits to open the ledger with, in milli-credits."""
        return LedgerLimits(
            max_credit=self.max_credit * MILLI, max_balance=self.max_balance * MILLI
        )


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """What a message costs and which destinations are accepted."""

    tariff: Path = field(default=Path("tariff.csv"), metadata=_FILE)
    #: How hard destinations are checked: full numbering plan, plausible length, or
    #: only a tariff prefix.
    destination_check: DestinationCheck = "valid"
    #: Most segments of one concatenated message.
    max_parts: int = field(default=6, metadata=_limits(ge=1, le=255))
    #: What packs of credits cost (CSV, ``gateway/policy/price_list.py``); optional.
    price_list: Path | None = field(default=None, metadata=_FILE)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """The built-in upstream SMSC, for demos and tests."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = field(default=2776, metadata=_PORT)
    dlr_delay_ms: int = field(default=100, metadata=_limits(ge=0))
    dlr_stat: ReceiptStat = "DELIVRD"


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """Log lines: level and format (see gateway.observability.logs)."""

    level: LogLevel = "info"
    format: LogFormat = "json"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Outbound mail to account holders (new passwords, balance alerts); off by default."""

    enabled: bool = False
    host: str = "localhost"
    #: Absent: the standard port of ``security`` (25, 587 or 465; see gateway.mail.sender).
    port: int | None = field(default=None, metadata=_limits(ge=1, le=65535))
    security: SmtpSecurity = "starttls"
    #: Credentials for SMTP AUTH; both or neither, and never over an unprotected link.
    username: str = ""
    # repr=False: a logged or printed Config never shows the SMTP password.
    password: str = field(default="", repr=False)
    #: The From address of every mail; required when enabled.
    from_address: str = field(default="", metadata=_EMAIL)
    #: Display name shown with the From address ("" = the bare address).
    from_name: str = ""
    #: Where account holders' replies go ("" = to the From address).
    reply_to: str = field(default="", metadata=_EMAIL)
    #: Seconds each SMTP step (connect, a command, the data) may take.
    timeout_s: float = field(default=30.0, metadata=_POSITIVE)
    #: PEM bundle of the CAs that may sign the server's certificate (absent: the system's).
    ca_file: Path | None = field(default=None, metadata=_FILE)
    #: The name sent in EHLO ("" = this machine's fully qualified name).
    helo_name: str = ""
    #: Where account holders bind, as a new-password mail tells them ("host:port");
    #: "" = ``server.host:server.port``, which is right only when that is a public name.
    bind_address: str = ""


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """The management HTTP API and the metrics endpoint (see docs/api.md); off by default."""

    enabled: bool = False
    #: Loopback by default: put a TLS-terminating proxy, or tls_cert/tls_key, in front of
    #: anything wider.
    host: str = "127.0.0.1"
    port: int = field(default=8775, metadata=_PORT)
    #: HTTPS: both or neither (PEM certificate chain and private key).
    tls_cert: Path | None = field(default=None, metadata=_FILE)
    tls_key: Path | None = field(default=None, metadata=_FILE)
    #: The passphrase of an encrypted tls_key ("" = the key is not encrypted).
    # repr=False: a secret (see "Secrets" in docs/configuration.md).
    tls_key_password: str = field(default="", repr=False)
    #: ``/metrics`` without a token (Prometheus scrapes it); false: an admin token.
    metrics_public: bool = True
    #: Requests with a missing or bad token a client address may make per minute; past
    #: that it gets 429 until a minute has passed since the first of them.
    auth_failures_per_minute: int = field(default=10, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class PackagesConfig:
    """Credit packages: how long they last, and which service_type means which category."""

    #: Calendar months a package bought now stays valid.
    validity_months: int = field(default=12, metadata=_limits(ge=1, le=120))
    #: A submit_sm service_type and the category its messages have (``OTP =
    #: "verification"``; matched exactly, then ignoring case); others: the account's.
    service_types: Mapping[str, PackageCategory] = field(default_factory=dict)
    #: How often ``serve`` writes off what is left of expired packages.
    sweep_interval_s: float = field(default=60.0, metadata=_POSITIVE)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration. ``source`` is the file it came from (None: defaults)."""

    server: ServerConfig = field(default_factory=ServerConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    packages: PackagesConfig = field(default_factory=PackagesConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    #: ``[[upstreams]]`` (empty: the one ``[upstream]``); see ``links``.
    upstreams: tuple[UpstreamConfig, ...] = ()
    #: ``[[routes]]``, in file order (gateway.delivery.routing picks among them).
    routes: tuple[RouteConfig, ...] = ()
    source: Path | None = None
    #: The secrets written in the file itself (``"upstream.password"`` ...), not read from
    #: the environment or a file of their own.
    inline_secrets: tuple[str, ...] = ()

    def links(self) -> list[UpstreamConfig]:
        """The upstreams to connect to: ``[[upstreams]]``, or ``[upstream]`` as "default"."""
        return links(self.upstream, self.upstreams)


#: Arrays of tables (``[[upstreams]]``): the dataclass of each element.
_LIST_SECTIONS: dict[str, type[Any]] = {"upstreams": UpstreamConfig, "routes": RouteConfig}
_SECTIONS: dict[str, type[Any]] = {
    f.name: f.default_factory  # type: ignore[misc]
    for f in fields(Config)
    if f.default_factory is not MISSING
}
_ALL_SECTIONS = [*_SECTIONS, *_LIST_SECTIONS]


# -- public entry points ------------------------------------------------------------------
def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve the TOML file at ``path``.

    ``env`` defaults to ``os.environ``; ``SMPPGW_LEDGER_URL`` and the variables named by
    ``*_env`` secret keys are read from it.
    Raises ConfigError (one line: file, key, problem).
    """
    where = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: TOML syntax error: {e}") from None
    except OSError as e:
        raise ConfigError(f"{where}: cannot read: {e.strerror or e}") from None
    source = Path(path).resolve()
    return _make(data, where=where, base=source.parent, source=source, env=env)


def default_config(*, env: Mapping[str, str] | None = None) -> Config:
    """The built-in defaults, relative paths resolved against the current directory.

    Files are not required to exist here: nothing asked for them yet. The consumer
    that opens them (the tariff loader, the TLS context) reports a missing one.
    """
    return _make({}, where="<defaults>", base=Path.cwd(), source=None, env=env, check_files=False)


# -- reading a file (the generic validator is gateway.config_validation) -----------------
def _make(
    data: dict[str, Any],
    *,
    where: str,
    base: Path,
    source: Path | None,
    env: Mapping[str, str] | None,
    check_files: bool = True,
) -> Config:
    environ = env if env is not None else os.environ
    ctx = Context(where=where, base=base, env=environ)
    for name in data:
        if name not in _SECTIONS and name not in _LIST_SECTIONS:
            raise ctx.error(name, f"unknown section{suggest(name, _ALL_SECTIONS)}")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ctx.error(name, f"expected a table, got {show(table)}")
        sections[name] = build(cls, table, name, ctx)
    for name, cls in _LIST_SECTIONS.items():
        tables = data.get(name, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ctx.error(name, f"expected an array of tables ([[{name}]]), got {show(tables)}")
        sections[name] = tuple(build(cls, t, f"{name}[{i}]", ctx) for i, t in enumerate(tables))
    ledger = sections["ledger"]
    sections["ledger"] = replace(ledger, url=_resolve_ledger_url(ledger.url, ctx.base))
    config = _apply_env(
        Config(**sections, source=source, inline_secrets=tuple(ctx.inline)), environ
    )
    _check_relations(config, ctx)
    check_delivery(
        config.upstream,
        config.upstreams,
        config.routes,
        config.delivery,
        both_forms="upstream" in data and "upstreams" in data,
        simulator=config.simulator.enabled,
        error=ctx.error,
    )
    if check_files:
        _check_files(config, ctx)
    return config


def _check_files(config: Config, ctx: Context) -> None:
    """Every set path field marked ``must_exist`` names an existing file.

    Done last so that a typo in a value is reported before a missing default file.
    """
    tables = [(name, getattr(config, name)) for name in _SECTIONS]
    for name in _LIST_SECTIONS:
        tables += [(f"{name}[{i}]", t) for i, t in enumerate(getattr(config, name))]
    for name, section in tables:
        for f in fields(section):
            path = getattr(section, f.name)
            if f.metadata.get("must_exist") and path is not None and not path.is_file():
                raise ctx.error(f"{name}.{f.name}", f"file not found: {path}")


def _check_relations(config: Config, ctx: Context) -> None:
    """Rules that involve two settings at once."""
    server = config.server
    if server.tls_port is not None and (server.tls_cert is None or server.tls_key is None):
        raise ctx.error("server.tls_port", "needs server.tls_cert and server.tls_key")
    if server.tls_client_ca is not None and server.tls_port is None:
        raise ctx.error("server.tls_client_ca", "needs server.tls_port (the TLS listener)")
    api = config.api
    if (api.tls_cert is None) != (api.tls_key is None):
        given, missing = ("tls_cert", "tls_key") if api.tls_cert else ("tls_key", "tls_cert")
        raise ctx.error(f"api.{given}", f"needs api.{missing} too")
    if api.tls_key_password and api.tls_key is None:
        raise ctx.error("api.tls_key_password", "needs api.tls_key (the key it unlocks)")
    if config.ledger.max_credit > config.ledger.max_balance:
        raise ctx.error(
            "ledger.max_credit",
            f"must not exceed ledger.max_balance ({config.ledger.max_balance})",
        )
    _check_smtp(config.smtp, ctx)


def _check_smtp(smtp: SmtpConfig, ctx: Context) -> None:
    """What makes a usable mail setup: a sender, a host, credentials only over TLS."""
    if smtp.enabled and not smtp.from_address:
        raise ctx.error("smtp.from_address", "required when smtp.enabled is true")
    if smtp.enabled and not smtp.host:
        raise ctx.error("smtp.host", "required when smtp.enabled is true")
    if bool(smtp.username) != bool(smtp.password):
        given, missing = ("username", "password") if smtp.username else ("password", "username")
        raise ctx.error(f"smtp.{given}", f"needs smtp.{missing} too")
    if smtp.username and smtp.security == "none":
        # AUTH PLAIN/LOGIN over an unprotected link hands the password to the network.
        raise ctx.error(
            "smtp.username", 'credentials need smtp.security "starttls" or "tls", not "none"'
        )


# -- paths and the environment ------------------------------------------------------------
def _resolve_ledger_url(url: str, base: Path) -> str:
    """Make the file of a ``sqlite:///`` URL absolute; other URLs are left alone.

    The form is SQLAlchemy's: ``sqlite:///rel/path.db`` is relative, ``sqlite:////abs``
    absolute. The result is always ``sqlite:///`` followed by an absolute path.
    """
    if not url.startswith(_SQLITE_PREFIX):
        return url
    rest = url[len(_SQLITE_PREFIX) :]
    file, sep, query = rest.partition("?")
    if file == ":memory:" or not file or file.startswith("/"):
        return url
    return f"{_SQLITE_PREFIX}{resolve(Path(file), base)}{sep}{query}"


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    """``SMPPGW_LEDGER_URL`` replaces ``ledger.url`` (relative SQLite paths: from cwd)."""
    url = env.get(LEDGER_URL_ENV)
    if not url:
        return config
    return replace(config, ledger=replace(config.ledger, url=_resolve_ledger_url(url, Path.cwd())))


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or None (other backends, ``:memory:``)."""
    if not url.startswith(_SQLITE_PREFIX):
        return None
    file = url[len(_SQLITE_PREFIX) :].partition("?")[0]
    return None if file in ("", ":memory:") else Path(file)


def world_readable_secrets(config: Config) -> tuple[int, tuple[str, ...]] | None:
    """``(mode, keys)`` when the config file holds secrets inline and anyone may read it.

    None when it does not, or when the config has no file (defaults).
    """
    if config.source is None or not config.inline_secrets:
        return None
    try:
        mode = stat.S_IMODE(config.source.stat().st_mode)
    except OSError:
        return None  # gone since it was read: nothing left to protect
    return (mode, config.inline_secrets) if mode & stat.S_IROTH else None


def exposed_ledger_files(url: str) -> list[tuple[Path, int]]:
    """The files of a ``sqlite:///`` ledger (main, -wal, -shm) that others than their owner
    may access, with their permission bits; empty for other backends and private files."""
    file = sqlite_file(url)
    if file is None:
        return []
    from ledger.backends.sqlite import exposed_files  # only SQLite ledgers have files

    return exposed_files(file)
