"""Configuration of delivery: the upstream SMSCs, the routes to them, expiry and refunds.

Tables of ``gateway.config`` (validated by its generic validator):

- ``[upstream]``: one SMSC, the whole story of a gateway with one upstream; it is named
  ``"default"`` (``ledger.models.DEFAULT_UPSTREAM``).
- ``[[upstreams]]``: several SMSCs, each with a unique ``name``. Give either form, not
  both. ``links()`` is the list the gateway connects to, whichever form was used.
- ``[[routes]]``: destination prefix (and optionally account, category) -> an ordered
  list of upstream names; the rule that reads them is ``gateway.delivery.routing``.
- ``[delivery]``: validity limit, the refund policy for undelivered messages, how long
  a throttled link pauses, how long an MO waits for its account's receiver.

``check_delivery`` holds the rules that involve several of these at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from gateway.config_fields import AT_LEAST_1, FILE, PORT, POSITIVE, limits
from ledger.models import DEFAULT_UPSTREAM, Category
from ledger.rules.receipts import MAX_UPSTREAM_NAME

#: ``ledger.rules.receipts.RECEIPT_ID_FORMS``, as the config spells them.
ReceiptIdForm = Literal["auto", "same", "decimal", "hex"]


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """One SMSC messages are forwarded to (the built-in simulator by default)."""

    #: How routes, logs, metrics and the ledger name it (``[[upstreams]]``; ``[upstream]``
    #: is always "default").
    name: str = field(default=DEFAULT_UPSTREAM, metadata=limits(max_len=MAX_UPSTREAM_NAME))
    host: str = "127.0.0.1"
    port: int = field(default=2776, metadata=PORT)
    system_id: str = field(default="smppgw", metadata=limits(max_len=15))  # C-Octet String 16
    # repr=False: a logged or printed Config never shows the upstream password.
    password: str = field(default="", repr=False, metadata=limits(max_len=8))  # C-Octet 9
    system_type: str = field(default="", metadata=limits(max_len=12))  # C-Octet String of 13
    #: Transceiver binds kept up at once toward this SMSC (each with its own window).
    binds: int = field(default=1, metadata=limits(ge=1, le=64))
    #: submit_sm this gateway may have unanswered on one bind.
    window: int = field(default=10, metadata=AT_LEAST_1)
    #: submit_sm per second this gateway sends to it over all its binds; 0 = no limit.
    throughput: float = field(default=0.0, metadata=limits(ge=0))
    #: Connect with TLS; the server's certificate is checked against ``tls_ca_file`` (or
    #: the system's CAs) and ``host``.
    tls: bool = False
    tls_ca_file: Path | None = field(default=None, metadata=FILE)
    #: How its receipts spell the id its submit_sm_resp gave (``auto``: any spelling,
    #: ambiguous for a hex counter receipted in decimal; see docs/delivery.md).
    receipt_ids: ReceiptIdForm = "auto"
    enquire_link_interval_s: float = field(default=30.0, metadata=POSITIVE)
    response_timeout_s: float = field(default=10.0, metadata=POSITIVE)
    reconnect_min_s: float = field(default=0.5, metadata=POSITIVE)
    reconnect_max_s: float = field(default=30.0, metadata=POSITIVE)


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One route: messages to ``prefix`` (and the account, category if given) go to the
    first live upstream of ``upstreams``."""

    #: Destination prefix in international digits ("" = every destination).
    prefix: str = field(default="", metadata=limits(max_len=21))
    #: Only this account's messages (system_id); "" = any account.
    account: str = field(default="", metadata=limits(max_len=16))
    #: Only messages of this category (verification, marketing, general); "" = any.
    category: str = ""
    #: Upstream names, in the order they are tried.
    upstreams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """What happens to a message the upstreams cannot take, or did not deliver."""

    #: Longest a message waits to be forwarded, whatever validity_period it asked for;
    #: past its validity (or this) it is refunded and reported EXPIRED.
    max_validity_s: float = field(default=172_800.0, metadata=POSITIVE)
    #: Refund a message the upstream took but reports undelivered (a final receipt other
    #: than DELIVRD). Default false: the upstream charged us for it.
    undelivered_refund: bool = False
    #: How long a link stops sending after ESME_RTHROTTLED; doubled while it goes on, up
    #: to ``throttle_pause_max_s``, and reset by the next accepted submit.
    throttle_pause_s: float = field(default=0.5, metadata=POSITIVE)
    throttle_pause_max_s: float = field(default=10.0, metadata=POSITIVE)
    #: An MO (message from a handset) no receiver of its account took within this many
    #: seconds is not delivered any more (it stays in the ledger).
    mo_max_age_s: float = field(default=604_800.0, metadata=POSITIVE)


def links(upstream: UpstreamConfig, upstreams: Sequence[UpstreamConfig]) -> list[UpstreamConfig]:
    """The upstreams to connect to: ``[[upstreams]]``, or ``[upstream]`` named "default"."""
    if upstreams:
        return list(upstreams)
    return [replace(upstream, name=DEFAULT_UPSTREAM)]


_CATEGORIES = frozenset(c.value for c in Category)


def check_delivery(
    upstream: UpstreamConfig,
    upstreams: Sequence[UpstreamConfig],
    routes: Sequence[RouteConfig],
    delivery: DeliveryConfig,
    *,
    both_forms: bool,
    simulator: bool,
    error: Callable[[str, str], Exception],
) -> None:
    """Raise ``error(key, problem)`` for the first rule that several settings break."""
    if both_forms:
        raise error("upstreams", "give [upstream] or [[upstreams]], not both")
    if upstreams and simulator:
        raise error(
            "simulator.enabled",
            "the built-in simulator stands in for [upstream]; set it false to use [[upstreams]]",
        )
    if not upstreams and upstream.name != DEFAULT_UPSTREAM:
        raise error(
            "upstream.name", f'[upstream] is "{DEFAULT_UPSTREAM}"; name them in [[upstreams]]'
        )
    seen: set[str] = set()
    for i, u in enumerate(links(upstream, upstreams)):
        key = f"upstreams[{i}]" if upstreams else "upstream"
        if not u.name or not u.name.isprintable():
            raise error(f"{key}.name", "must be 1 or more printable characters")
        if u.name in seen:
            raise error(f"{key}.name", f'"{u.name}" is used by another upstream')
        seen.add(u.name)
        if u.reconnect_min_s > u.reconnect_max_s:
            raise error(
                f"{key}.reconnect_min_s",
                f"must not exceed {key}.reconnect_max_s ({u.reconnect_max_s:g})",
            )
        if u.tls_ca_file is not None and not u.tls:
            raise error(f"{key}.tls_ca_file", f"needs {key}.tls = true")
    for i, r in enumerate(routes):
        key = f"routes[{i}]"
        if r.prefix and not r.prefix.isdigit():
            raise error(f"{key}.prefix", f"expected digits (international form), got {r.prefix!r}")
        if r.category and r.category not in _CATEGORIES:
            raise error(f"{key}.category", f"expected one of {', '.join(sorted(_CATEGORIES))}")
        if not r.upstreams:
            raise error(f"{key}.upstreams", "name at least one upstream")
        for name in r.upstreams:
            if name not in seen:
                raise error(f"{key}.upstreams", f'no upstream is named "{name}"')
    if delivery.throttle_pause_s > delivery.throttle_pause_max_s:
        raise error(
            "delivery.throttle_pause_s",
            f"must not exceed delivery.throttle_pause_max_s ({delivery.throttle_pause_max_s:g})",
        )
