"""Structured logs: one JSON object per line (or readable lines for a terminal).

Every line has ``timestamp`` (ISO 8601, UTC), ``level`` and ``event`` first, then the
context: keys bound with ``structlog.contextvars.bind_contextvars`` (the server binds
``system_id`` and ``peer`` per connection), keys bound on the logger, and the call's own
keys. Events are dotted names from the catalogue in docs/log-events.md (``EVENTS``).

Passwords never reach a log line: a processor drops every key named ``password``
(any case) wherever it was bound. It is defence in depth; callers must not pass them.

Speed: the level filter is compiled into the logger class
(``make_filtering_bound_logger``), so a filtered-out ``debug`` call costs one method
call; loggers are cached on first use, so ``configure_logging`` must run before the first
log call of a module-level logger for that logger to pick up the configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

#: Levels accepted by ``configure_logging``, lowest first.
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("json", "console")
#: Keys no log line may carry, compared case-insensitively.
SECRET_KEYS = frozenset({"password"})

#: The event catalogue (docs/log-events.md says which keys each one carries).
EVENTS: dict[str, str] = {
    "bind.accepted": "a client bound (transmitter, receiver or transceiver)",
    "bind.refused": "a bind was refused; `reason` says why",
    "bind.throttled": "a client address (reason address) or a system_id (reason system_id)"
    " failed too many binds; blocked for a back-off",
    "submit.priced": "a submit_sm passed the checks and was priced",
    "submit.debited": "the ledger committed the debit; the client got ESME_ROK",
    "submit.refused": "a submit_sm was answered with an error `status`",
    "message.forwarded": "the upstream accepted a message and gave its id",
    "message.rejected_upstream": "the upstream refused a message permanently",
    "message.refunded": "a message's cost was given back",
    "message.expired": "a message's validity ended before an upstream took it; refunded next",
    "message.resend": "a submit_sm written but unanswered is sent again (at-least-once)",
    "message.rerouted": "a temporary refusal: the message goes to the route's next live upstream",
    "mo.stored": "a message from a handset was stored for the account owning it",
    "mo.unrouted": "a message from a handset matched no account's number or keyword",
    "mo.unpriced": "a priced message from a handset was delivered unpriced: no credit",
    "mo.retried": "the upstream sent a stored message from a handset again; kept once",
    "mo.store_failed": "a message from a handset could not be stored; the upstream retries",
    "mo.relayed": "a receiver acknowledged a message from a handset",
    "mo.not_acknowledged": "a receiver did not answer a message from a handset; it stays",
    "mo.refused_by_client": "a receiver refused a message from a handset; it stays pending",
    "mo.pending_unreadable": "pending messages from handsets could not be read",
    "mo.push_failed": "pushing messages from handsets failed unexpectedly",
    "mo.ack_unrecorded": "an acknowledged message from a handset could not be recorded",
    "upstream.throttled": "an upstream answered ESME_RTHROTTLED; its link pauses",
    "config.reloaded": "SIGHUP: routes, tariff and log level read again from the config file",
    "config.reload_failed": "SIGHUP: the config file could not be applied; nothing changed",
    "receipt.relayed": "the client's session acknowledged a delivery receipt",
    "receipt.stored": "an upstream receipt was matched and kept until the client takes it",
    "recharge.fired": "auto-recharge credited an account",
    "upstream.bound": "the gateway bound to the upstream SMSC",
    "upstream.disconnected": "the upstream connection was lost; reconnecting",
    "simulator.in_use": "the built-in simulator is the upstream (demo, not production)",
    "session.closed": "a client connection ended",
    "pdu.rejected": "a PDU could not be decoded or was not allowed in the session state",
    "receipt.ack_unrecorded": "a client acknowledged a receipt but the ledger did not record it",
    "receipt.push_failed": "an unexpected failure while delivering receipts; retried by the sweep",
    "submit.outcome_unknown": "the ledger lost the link during COMMIT; answered ESME_RSYSERR",
    "pdu.refused": "a request not allowed in the session state, or beyond the hard cap",
    "pdu.duplicate_sequence": "a request reused a pending request's sequence_number; refused",
    "bind.release_failed": "a closed session's bind slot could not be released yet",
    "account.refresh_failed": "a bound session could not re-read its account; kept the old copy",
    "gateway.heartbeat_failed": "the heartbeat could not be written; binds expire if it lasts",
    "gateway.unregister_failed": "at stop, this gateway could not remove its binds",
    "forwarder.adopt_failed": "the sweep for messages of dead gateways could not read the ledger",
    "gateway.started": "the gateway listens",
    "api.started": "the management HTTP API listens",
    "gateway.stopping": "SIGINT or SIGTERM received; graceful stop begins",
    "gateway.stopped": "every part stopped; the process exits 0",
    "connection.refused": "a connection beyond max_connections(_per_address) was closed at once",
    "session.bind_deadline": "a connection still unbound after bind_timeout_s was closed",
    "proxy.header_refused": "a trusted balancer's connection began without a valid PROXY header",
    "proxy.header_timeout": "a trusted balancer sent no complete PROXY header in time",
    "proxy.untrusted_header": "a PROXY header came from an address not in proxy_protocol_from",
    "connection.failed": "a connection failed before its session began (TLS handshake, reset)",
    "connection.accept_failed": "accepting a connection failed (out of descriptors ...)",
    "receiver.stuck": "a receiver left deliver_sm unanswered too often and was closed",
    "session.evicted": "the account changed so the bound session may not stay; unbound",
    "tls.reloaded": "SIGHUP: a TLS listener (SMPP or API) serves the files' pair from now on",
    "tls.reload_failed": "SIGHUP: the certificate or key could not be loaded; the old pair serves",
    "ledger.migrated": "schema migrations applied at start",
    "demo.account_created": "serve --demo created the demo account",
    "demo.account_present": "serve --demo found the demo account already there",
    "session.closing": "the gateway is closing a connection",
    "session.unbound": "a session ended by unbind",
    "pdu.unsolicited_response": "a response matched none of our requests and was dropped",
    "request.failed": "an unexpected failure while handling a request; the client got ESME_RSYSERR",
    "submit.duplicate": "an idempotency key was replayed: original id returned, nothing charged",
    "message.retry": "forwarding will be retried (temporary upstream status, lost link or timeout)",
    "message.refund_failed": "a refund could not be written; kept ACCEPTED for the next start",
    "forward.failed": "an unexpected failure while forwarding; the message row stays durable",
    "forward.record_failed": "upstream ids could not be written yet; retried",
    "forwarder.recovered": "at start, messages still ACCEPTED were queued for forwarding",
    "mo.dropped": "a mobile-originated message from the upstream; acknowledged and dropped",
    "receipt.unparsable": "an upstream receipt had no usable id; acknowledged",
    "receipt.unmatched": (
        "an upstream receipt named an id we never forwarded, in any spelling, after a grace"
        " period; acknowledged"
    ),
    "receipt.not_acknowledged": "a client did not answer a receipt; it stays pending",
    "receipt.refused_by_client": "a client answered a receipt with an error; retried later",
    "receipt.pending_unreadable": "pending receipts could not be read from the ledger",
    "upstream.connect_failed": "connecting or binding to the upstream failed",
    "upstream.reconnecting": "the next upstream attempt is scheduled (backoff with jitter)",
    "upstream.bind_refused": "the upstream refused our bind",
    "upstream.deliver_failed": "an upstream deliver_sm failed here; answered RX_T_APPN",
    "history.pruned": "the retention sweep deleted messages older than the history keeps",
    "history.prune_failed": "the retention sweep could not reach the ledger; tried again later",
    "package.expired": "the expiry sweep wrote off what was left of a credit package",
    "package.expiry_failed": "the expiry sweep could not reach the ledger; tried again later",
    "config.secret_world_readable": "the config file holds a secret inline and anyone may read it",
    "ledger.file_exposed": "a SQLite ledger file is readable by others than its owner",
    "mail.sent": "the SMTP server accepted a mail to an account holder",
    "mail.failed": "a mail to an account holder was not sent; `temporary` says if a retry may",
    "alert.sent": "a low-balance alert or recharge notice was mailed to the account's contact",
    "alert.unsent": "a low-balance alert fired but was not mailed ([smtp] off, no contact)",
    "alert.failed": "a low-balance alert mail failed; retried later when `temporary`",
    "alert.scan_failed": "the low-balance alert task could not reach the ledger",
    "query.refused": "a query_sm was answered with an error `status`",
    "cancel.refused": "a cancel_sm was answered with an error `status`",
    "cancel.failed": "a cancel_sm could not refund (ledger); the message is forwarded as it was",
    "message.cancelled": "a message not yet forwarded was cancelled (cancel_sm) and refunded",
    "message.cancelled_by_address": (
        "cancel_sm without a message_id cancelled and refunded the account's unsent"
        " messages from one source to one destination"
    ),
    "replace.refused": "a replace_sm was answered with an error `status`",
    "replace.failed": "replace_sm not recorded (ledger); the message goes out as it was",
    "message.replaced": "replace_sm gave a message not yet forwarded new content, repriced",
    "message.lookup_failed": "the ledger could not be read for query_sm, cancel_sm or replace_sm",
    "submit_multi.refused": "a submit_multi was refused with `status`; nothing was debited",
    "submit_multi.debited": "a submit_multi's accepted destinations, debited in one transaction",
    "session.max_age": "a session reached max_session_age_s and is unbound cleanly",
    "session.buffer_full": "a client does not read our answers: too many octets unsent, dropped",
    "pdu.ignored": "a PDU without a response reached the application and was dropped",
    "upstream.ignored": "the upstream sent outbind or alert_notification; not used",
    "callback.sent": "a receipt callback of an HTTP job was POSTed and answered 2xx",
    "callback.failed": "a receipt callback POST failed; retried after `retry_in_s`",
    "callback.abandoned": "a receipt callback failed its last attempt and was given up",
    "callback.round_failed": "the receipt callback task could not reach the ledger",
}


def drop_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Processor: remove every key named ``password`` (any case) from the event."""
    for key in [k for k in event_dict if k.lower() in SECRET_KEYS]:
        del event_dict[key]
    return event_dict


def _render_json(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> str:
    """Processor: the event as one JSON line, ``timestamp``, ``level`` and ``event`` first."""
    head = {k: event_dict.pop(k) for k in ("timestamp", "level", "event") if k in event_dict}
    # default=str: an unexpected object (a Path, an enum) is logged, never crashes a log call.
    return json.dumps({**head, **event_dict}, default=str, ensure_ascii=False)


def _processors(fmt: str, stream: TextIO) -> list[Processor]:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        drop_secrets,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if fmt == "console":
        colors = bool(getattr(stream, "isatty", lambda: False)())
        return [*shared, structlog.dev.ConsoleRenderer(colors=colors)]
    return [*shared, structlog.processors.format_exc_info, _render_json]


def configure_logging(
    level: str = "info", fmt: str = "json", stream: TextIO = sys.stdout, *, cache: bool = True
) -> None:
    """Send structlog events at ``level`` or above to ``stream`` as ``fmt`` lines.

    ``level`` is one of LEVELS, ``fmt`` one of FORMATS (ValueError otherwise). May be
    called again; loggers already cached keep their old configuration, so tests that
    reconfigure or use ``structlog.testing.capture_logs`` afterwards pass ``cache=False``.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=_processors(fmt, stream),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        context_class=dict,
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=cache,
    )


def get_logger(name: str, **context: Any) -> FilteringBoundLogger:
    """A logger whose lines carry ``logger_name=name`` and ``context``.

    Lazy: safe at module level, configured by the first log call after
    ``configure_logging``. (The key is not ``logger``: structlog reserves that name.)
    """
    return cast(FilteringBoundLogger, structlog.get_logger(logger_name=name, **context))
