"""Sending over HTTP: one text from one sender to a list of receivers, as submit_sm does.

Each receiver becomes the submit_sm an SMPP client would send
(:mod:`gateway.policy.jobs`) and is decided by the gateway's own
:class:`~gateway.policy.submit.Submitter`: the same checks, the same price, the same
atomic debit through the group-commit batcher, then the same outbox and forwarder. A
receiver refused there is refused in the answer, with the SMPP status and the reason the
metrics count; the others are sent.

With an idempotency key, message ``i`` of the job is debited under
``api:jobs:{account}:{key}:{i}``: a retry of the same job answers the first message ids
and charges nothing more, however many retries run at once; a message changed at any
position is a :class:`~gateway.admin.errors.KeyReused`.

Imported by the API alone (like :mod:`gateway.admin.demo`): it needs the submit path and
the logging stack, which the CLI never loads.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from gateway.admin import inputs
from gateway.admin.errors import InvalidInput, KeyReused, Unavailable, action
from gateway.admin.scope import ADMIN, Scope, visible_account
from gateway.policy.jobs import encode_text, sender_of, submit_pdu
from gateway.smpp import CommandStatus

if TYPE_CHECKING:
    from gateway.policy.submit import Submitter
    from ledger.store import Store

#: Most receivers of one job: a larger list is several requests (each answers in one go).
MAX_RECEIVERS = 1000
#: Most characters of one text; the Submitter refuses what needs more than
#: ``[pricing] max_parts`` segments, this only keeps a request's work bounded.
MAX_TEXT = 10_000
#: Longest sender: source_addr is a 21-octet C string.
MAX_SENDER = 20

_RECEIVER = re.compile(r"\+?([0-9]{1,20})")


class SendingUnavailable(Unavailable):
    """This API runs without the gateway's submit path (no submitter), so it cannot send."""

    code = "sending_unavailable"


@dataclass(frozen=True, slots=True)
class Job:
    """What to send: ``message`` from ``sender`` to each of ``receivers``.

    ``coding`` is ``gsm7``, ``ucs2`` or None (GSM 03.38 when the text allows it).
    ``receipt`` asks the upstream for a delivery receipt (its state shows in the history).
    ``category`` (credit packages): verification, marketing or general; None: the
    account's default category.
    ``callback_url`` (checked by ``inputs.callback_url``) is where each sent message's
    final outcome is POSTed (``gateway.delivery.callbacks``); it implies ``receipt``.
    """

    sender: str
    receivers: tuple[str, ...]
    message: str
    coding: str | None = None
    receipt: bool = False
    category: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class JobMessage:
    """What became of one receiver: sent (``message_id``) or refused (``reason``).

    ``status`` is the submit_sm_resp status the same submit over SMPP would have got;
    ``segments`` and ``cost`` (milli-credits) are the price once known.
    """

    receiver: str
    status: CommandStatus
    message_id: str | None
    segments: int
    cost: int
    reason: str | None
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        """True when the message was debited and handed to the forwarder."""
        return self.status is CommandStatus.ESME_ROK


@dataclass(frozen=True, slots=True)
class JobResult:
    """Every receiver of a job, in the order given."""

    system_id: str
    messages: tuple[JobMessage, ...]

    @property
    def replayed(self) -> bool:
        """True when every message sent was the answer to an earlier request's key."""
        sent = [m for m in self.messages if m.accepted]
        return bool(sent) and all(m.replayed for m in sent)


def _receivers(receivers: tuple[str, ...]) -> tuple[str, ...]:
    """Each receiver as international digits without '+'; InvalidInput for a list that
    cannot be one (empty, too long, or an entry that is no phone number at all)."""
    if not 1 <= len(receivers) <= MAX_RECEIVERS:
        raise InvalidInput(f"receivers: give 1 to {MAX_RECEIVERS} numbers")
    digits = []
    for r in receivers:
        m = _RECEIVER.fullmatch(r)
        if m is None:
            raise InvalidInput(
                f"receivers: {r!r} is not an international number (e.g. +33612345678)"
            )
        digits.append(m.group(1))
    return tuple(digits)


def _check(job: Job) -> tuple[tuple[str, ...], int, bytes]:
    if not 1 <= len(job.sender) <= MAX_SENDER or not job.sender.isprintable():
        raise InvalidInput(f"sender: 1 to {MAX_SENDER} printable characters")
    try:
        job.sender.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidInput(f"sender: {job.sender!r} cannot be an SMPP source address") from None
    if not 1 <= len(job.message) <= MAX_TEXT:
        raise InvalidInput(f"message: 1 to {MAX_TEXT} characters")
    receivers = _receivers(job.receivers)
    if job.category is not None:
        inputs.category(job.category)
    try:
        data_coding, content = encode_text(job.message, job.coding)
    except ValueError as e:
        raise InvalidInput(f"message: {e}") from None
    return receivers, data_coding, content


@action
async def send_job(
    store: Store,
    submitter: Submitter | None,
    system_id: str,
    job: Job,
    *,
    key: str | None = None,
    scope: Scope = ADMIN,
) -> JobResult:
    """Send ``job`` from the account; each receiver is one submit_sm's decision.

    ``key`` (a client's idempotency key, checked) makes a retry answer the first result.
    Refused whole, nothing sent: a malformed job (:class:`InvalidInput`), an account
    outside ``scope`` (:class:`AccountNotFound`), no submitter
    (:class:`SendingUnavailable`), or a key used for another job (:class:`KeyReused`, for
    the messages that differ; a receiver added at the end of a job is sent as new).
    """
    receivers, data_coding, content = _check(job)
    account = await visible_account(store, scope, system_id)
    if submitter is None:
        raise SendingUnavailable(
            "sending needs the gateway's submit path: this API serves without it"
        )
    ton, npi = sender_of(account, job.sender)
    log = structlog.get_logger("smppgw.api").bind(system_id=system_id, via="http")
    pdus = [
        submit_pdu(
            sender=(ton, npi, job.sender),
            receiver=r,
            data_coding=data_coding,
            content=content,
            # Without a receipt the outcome would never be final: a callback asks for one.
            receipt=job.receipt or job.callback_url is not None,
        )
        for r in receivers
    ]
    # Submitted together, the debits share group commits, as a client's window does.
    outcomes = await asyncio.gather(
        *(
            submitter.submit(
                account,
                pdu,
                log.bind(destination=pdu.destination_addr),
                key=None if key is None else f"api:jobs:{system_id}:{key}:{i}",
                category=job.category or "",
            )
            for i, pdu in enumerate(pdus)
        )
    )
    if key is not None and any(o.reason == "idempotency_conflict" for o in outcomes):
        raise KeyReused(key)
    if job.callback_url is not None:
        # Before the answer: every message the client is told of has its callback. A
        # crash before this point leaves the client without an answer, and its retry
        # (same Idempotency-Key: same messages) registers them; a replay keeps the first.
        sent = [o.message_id for o in outcomes if o.status == CommandStatus.ESME_ROK]
        await store.add_callbacks(system_id, job.callback_url, sent)
    return JobResult(
        system_id,
        tuple(
            JobMessage(
                receiver=r,
                status=CommandStatus(o.status),
                message_id=o.message_id or None,
                segments=o.segments,
                cost=o.cost,
                reason=o.reason or None,
                replayed=o.replayed,
            )
            for r, o in zip(job.receivers, outcomes, strict=True)
        ),
    )
