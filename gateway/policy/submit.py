"""The submit_sm policy: may this account send this message, what does it cost, debit it.

Checks run cheapest first and stop at the first refusal; nothing touches the ledger until
the message is known to be sendable and priced. The debit goes through the group-commit
batcher, and the message is handed to the forwarder only after its transaction committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.observability.metrics import Metrics
from gateway.policy.addresses import (
    NPI_E164,
    TON_INTERNATIONAL,
    international_number,
    source_address,
)
from gateway.policy.concat import ConcatError, ConcatPart, ConcatTracker, concat_part
from gateway.policy.ids import MessageIdGenerator
from gateway.policy.pricing import PricingError, Quote, quote
from gateway.policy.retry import until_decided
from gateway.policy.smpp_time import format_absolute, parse_time
from gateway.policy.tariff import Tariff
from gateway.smpp import CommandStatus, SubmitSm
from ledger import InvalidRequest, LedgerError, LedgerUnavailable
from ledger.batcher import DebitBatcher
from ledger.models import (
    Account,
    DebitRequest,
    DebitResult,
    DebitStatus,
    OutboundMessage,
    milli_to_credits,
)
from ledger.rules.packages import map_service_type

S = CommandStatus
#: A debit that took longer than this to learn its fate (each attempt may wait for the
#: ledger's timeouts) is not handed to the forwarder: the ledger holds it ACCEPTED and the
#: adoption sweep forwards it. The forwarder remembers what a sweep sent for longer than
#: this (``gateway.delivery.custody.LINGER_S``), which is what makes a late hand-over of
#: the same message impossible to send twice.
HANDOVER_WINDOW_S = 60.0

#: esm_class bits 2-5 give the message type; an ESME may only submit the default type.
_ESM_TYPE_MASK = 0x3C
#: registered_delivery bits 1-0 (SMPP 3.4 §5.2.17): 0 none, 1 final outcome, 2 failure
#: only; 3 is reserved.
_RECEIPT_BITS = 0x03
_RECEIPT_RESERVED = 0x03


def utc_now() -> datetime:
    """The default clock of the time fields."""
    return datetime.now(UTC)


def check_times(schedule: str, validity: str, now: datetime) -> tuple[str, str] | Refusal:
    """schedule_delivery_time and validity_period as forwarded (relative ones made
    absolute UTC, so a delayed forward does not restart them), or the refusal:
    ESME_RINVSCHED for a malformed schedule or one after the expiry, ESME_RINVEXPIRY for
    a malformed validity period or one already over."""
    try:
        at = parse_time(schedule, now)
    except ValueError as e:
        return Refusal(
            S.ESME_RINVSCHED, "schedule_delivery_time", {"value": schedule, "why": str(e)}
        )
    try:
        until = parse_time(validity, now)
    except ValueError as e:
        return Refusal(S.ESME_RINVEXPIRY, "validity_period", {"value": validity, "why": str(e)})
    if until is not None and until <= now:
        return Refusal(S.ESME_RINVEXPIRY, "validity_period", {"value": validity, "why": "past"})
    if at is not None and until is not None and at >= until:
        return Refusal(
            S.ESME_RINVSCHED, "schedule_delivery_time", {"value": schedule, "why": "after expiry"}
        )
    if schedule.endswith("R") and at is not None:
        schedule = format_absolute(at)
    if validity.endswith("R") and until is not None:
        validity = format_absolute(until)
    return schedule, validity


DEBIT_STATUS: dict[DebitStatus, CommandStatus] = {
    DebitStatus.INSUFFICIENT_CREDIT: S.ESME_RNOCREDIT,
    DebitStatus.UNKNOWN_ACCOUNT: S.ESME_RSUBMITFAIL,
    DebitStatus.ACCOUNT_DISABLED: S.ESME_RSUBMITFAIL,
    DebitStatus.IDEMPOTENCY_CONFLICT: S.ESME_RSUBMITFAIL,
    # The account's messages/second, counted in the ledger across every gateway.
    DebitStatus.THROTTLED: S.ESME_RTHROTTLED,
}


class Outbox(Protocol):
    """Where debited messages go (the forwarder)."""

    def enqueue(self, message: OutboundMessage) -> None:
        """Forward ``message`` upstream; it is already durable in the ledger."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a submit_sm is refused before pricing: its status, a short reason code, and
    the keys its ``submit.refused`` line carries beside them (the address, TON, NPI)."""

    status: int
    reason: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """The submit_sm_resp to send: status and (on success) our message_id.

    ``reason`` names a refusal as the metrics count it (``sender_not_registered``,
    ``insufficient_credit`` ...); ``segments`` and ``cost`` are the price once known (a
    refusal for credit has one). ``replayed`` is True when the caller's idempotency key
    had been debited before: ``message_id`` is then that first message's, and nothing
    was charged or forwarded again.
    """

    status: int
    message_id: str = ""
    reason: str = ""
    segments: int = 0
    cost: int = 0
    replayed: bool = False


class Submitter:
    """Validates, prices and debits submit_sm PDUs for bound accounts."""

    def __init__(
        self,
        tariff: Tariff,
        batcher: DebitBatcher,
        outbox: Outbox,
        ids: MessageIdGenerator,
        *,
        gateway_id: str = "",
        destination_check: str = "valid",
        max_parts: int = 6,
        metrics: Metrics | None = None,
        service_types: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.tariff = tariff
        self.batcher = batcher
        self.outbox = outbox
        self.ids = ids
        self.gateway_id = gateway_id
        self.destination_check = destination_check
        self.max_parts = max_parts
        self.metrics = metrics or Metrics()
        #: ``[packages] service_types``: which category a service_type's messages have.
        self.service_types = dict(service_types or {})
        self.clock = clock
        #: What the unfinished long messages declared (a total that changes is refused).
        self.concat = ConcatTracker()

    def check(self, account: Account, pdu: SubmitSm) -> SubmitSm | Refusal:
        """The PDU with its addresses in the form the gateway uses (international
        destination and numeric sender as TON 1 / NPI 1 digits), or the first reason this
        account may not send it."""
        checked = self._check(account, pdu)
        return checked if isinstance(checked, Refusal) else checked[0]

    def _check(
        self, account: Account, pdu: SubmitSm
    ) -> tuple[SubmitSm, ConcatPart | None] | Refusal:
        """:meth:`check`, with the long-message part it read on the way (read once)."""
        if pdu.esm_class & _ESM_TYPE_MASK:
            return Refusal(S.ESME_RINVESMCLASS, "esm_class_not_default_type")
        if pdu.registered_delivery & _RECEIPT_BITS == _RECEIPT_RESERVED:
            return Refusal(
                S.ESME_RINVREGDLVFLG, "registered_delivery", {"value": pdu.registered_delivery}
            )
        if pdu.replace_if_present_flag > 1:
            return Refusal(
                S.ESME_RINVREPFLAG,
                "replace_if_present_flag",
                {"value": pdu.replace_if_present_flag},
            )
        times = (pdu.schedule_delivery_time, pdu.validity_period)
        if times != ("", ""):
            checked_times = check_times(*times, self.clock())
            if isinstance(checked_times, Refusal):
                return checked_times
            if checked_times != times:
                pdu = replace(
                    pdu,
                    schedule_delivery_time=checked_times[0],
                    validity_period=checked_times[1],
                )
        try:
            part = concat_part(pdu)
        except ConcatError as e:
            return Refusal(e.status, "concatenation", {"why": str(e)})
        src = (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr)
        source = source_address(*src, country=account.default_country)
        if source is None:
            return Refusal(S.ESME_RINVSRCADR, "source_form", _address_keys(*src))
        if not account.may_send_from(*source):
            return Refusal(S.ESME_RINVSRCADR, "sender_not_registered", _address_keys(*src))
        dst = (pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr)
        destination = international_number(
            *dst, country=account.default_country, mode=self.destination_check
        )
        if destination is None:
            return Refusal(S.ESME_RINVDSTADR, "destination", _address_keys(*dst))
        if source == src and dst == (TON_INTERNATIONAL, NPI_E164, destination):
            return pdu, part  # already in the gateway's form: no copy on the common path
        international = replace(
            pdu,
            source_addr_ton=source[0],
            source_addr_npi=source[1],
            source_addr=source[2],
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_E164,
            destination_addr=destination,
        )
        return international, part

    async def submit(
        self,
        account: Account,
        pdu: SubmitSm,
        log: Any,
        *,
        key: str | None = None,
        category: str = "",
    ) -> SubmitOutcome:
        """Decide one submit_sm; the ledger is written before this returns ESME_ROK.

        ``key`` is the debit's idempotency key when the caller has one of its own (the
        HTTP API's ``Idempotency-Key``); without it each message is its own debit
        (``submit:<message_id>``). A key debited before answers the first message again.
        ``category`` (credit packages) is the caller's; without it the service_type's
        (``[packages] service_types``), else the account's default, decided by the ledger.
        """
        pending = self.prepare(account, pdu, log, key=key, category=category)
        if isinstance(pending, SubmitOutcome):
            return pending
        return await self.debit(pending)

    async def debit(self, pending: PendingDebit, *, attempt: int = 1) -> SubmitOutcome:
        """Debit a prepared submit (see :meth:`prepare`) and settle it."""
        try:
            result = await until_decided(
                lambda: self.batcher.debit(pending.request), attempt=attempt
            )
        except LedgerError as e:
            return self.failed(pending, e)
        return self.settle(pending, result)

    def prepare(
        self,
        account: Account,
        pdu: SubmitSm,
        log: Any,
        *,
        key: str | None = None,
        category: str = "",
    ) -> PendingDebit | SubmitOutcome:
        """Everything before the debit, synchronously: the checks, the price, the
        message to debit; or the refusal to answer at once.

        The server hands ``PendingDebit.request`` to the batcher itself (no task per
        submit_sm) and calls :meth:`settle` or :meth:`failed` with what it got.
        """
        checked = self._check(account, pdu)
        if isinstance(checked, Refusal):
            self.metrics.submit_refused(checked.reason, checked.status)
            log.info(
                "submit.refused",
                status=f"0x{checked.status:x}",
                reason=checked.reason,
                **checked.detail,
            )
            return SubmitOutcome(checked.status, reason=checked.reason)
        # From here on the message is the one the gateway prices, stores and forwards:
        # the upstream gets the international form, whatever form the client used.
        pdu, part = checked
        try:
            q = quote(pdu, self.tariff, max_parts=self.max_parts)
        except PricingError as e:
            self.metrics.submit_refused("pricing", e.status)
            log.info("submit.refused", status=f"0x{e.status:x}", reason=str(e))
            return SubmitOutcome(e.status, reason="pricing")
        loop_time = asyncio.get_running_loop().time()
        if part is not None:
            try:
                self.concat.check(account.system_id, pdu.destination_addr, part, loop_time)
            except ConcatError as e:
                self.metrics.submit_refused("concatenation", e.status)
                log.info(
                    "submit.refused", status=f"0x{e.status:x}", reason="concatenation", why=str(e)
                )
                return SubmitOutcome(e.status, reason="concatenation")
        message_id = self.ids.next()
        # The price travels with the decision that follows (debited or refused), so that
        # line alone says what the message was; the pricing step itself is debug.
        log = log.bind(
            message_id=message_id,
            destination=pdu.destination_addr,
            country=q.rate.country,
            segments=q.segments,
        )
        log.debug("submit.priced", cost=milli_to_credits(q.cost))
        message = OutboundMessage(
            message_id=message_id,
            system_id=account.system_id,
            source_addr=pdu.source_addr,
            destination_addr=pdu.destination_addr,
            segments=q.segments,
            cost=q.cost,
            registered_delivery=pdu.registered_delivery,
            pdu_body=pdu.body(),
            owner=self.gateway_id,
            category=category or map_service_type(pdu.service_type, self.service_types),
        )
        request = DebitRequest(key or f"submit:{message_id}", message)
        return PendingDebit(account, pdu, q, part, message, request, key, log, loop_time)

    def failed(self, pending: PendingDebit, error: BaseException) -> SubmitOutcome:
        """The answer to a debit the ledger did not decide (``error`` raised by the
        batcher, after any retries). Re-raises what is a bug here (InvalidRequest) or not
        a ledger error at all."""
        log = pending.log
        if isinstance(error, InvalidRequest) or not isinstance(error, LedgerError):
            # A request the ledger cannot represent (a zero price) is a bug here, not the
            # ledger being down: let it reach the per-request handler (ESME_RSYSERR).
            raise error
        self._forget_part(pending)
        if isinstance(error, LedgerUnavailable) and error.outcome_unknown:
            # It may have been debited: never promise "nothing debited" (0x404). If it
            # was, the ledger holds it ACCEPTED and the forwarder finds it there.
            self.metrics.submit_refused("outcome_unknown", S.ESME_RSYSERR)
            log.error("submit.outcome_unknown", status=f"0x{S.ESME_RSYSERR:x}", reason=repr(error))
            return SubmitOutcome(S.ESME_RSYSERR, reason="outcome_unknown")
        reason = "ledger_unavailable" if isinstance(error, LedgerUnavailable) else "ledger_error"
        self.metrics.submit_refused(reason, S.ESME_RLEDGERDOWN)
        log.error("submit.refused", status=f"0x{S.ESME_RLEDGERDOWN:x}", reason=repr(error))
        return SubmitOutcome(S.ESME_RLEDGERDOWN, reason=reason)

    def settle(self, pending: PendingDebit, result: DebitResult) -> SubmitOutcome:
        """The answer to a decided debit; a debited message goes to the forwarder (it is
        committed already)."""
        log, q, message_id, key = (
            pending.log,
            pending.quote,
            pending.message.message_id,
            pending.key,
        )
        for entry in result.recharges:
            log.info(
                "recharge.fired",
                amount=milli_to_credits(entry.amount),
                balance_after=milli_to_credits(entry.balance_after),
            )
        # DUPLICATE of our own key: a retry after an unknown COMMIT found that the first
        # attempt had landed. It is this very message, debited once: forward it.
        debited = result.status is DebitStatus.OK or (
            result.status is DebitStatus.DUPLICATE and result.message_id == message_id
        )
        if result.status is DebitStatus.DUPLICATE and key is not None and not debited:
            # The caller's key was debited before, for this same content: that message
            # is the answer. It was charged and handed to the forwarder then; not again.
            log.info("submit.duplicate", original_message_id=result.message_id)
            return SubmitOutcome(
                S.ESME_ROK, result.message_id, segments=q.segments, cost=q.cost, replayed=True
            )
        if not debited:
            self._forget_part(pending)
            status = DEBIT_STATUS.get(result.status, S.ESME_RSUBMITFAIL)
            self.metrics.submit_refused(result.status.value, status)
            log.info(
                "submit.refused",
                status=f"0x{status:x}",
                reason=result.status.value,
                cost=milli_to_credits(q.cost),
                balance=milli_to_credits(result.balance_after),
            )
            return SubmitOutcome(
                status, reason=result.status.value, segments=q.segments, cost=q.cost
            )
        self.metrics.submit_debited(q.cost, len(result.recharges))
        # Per message: counted by the metrics; the line is for following one message.
        log.debug(
            "submit.debited",
            cost=milli_to_credits(q.cost),
            balance_after=milli_to_credits(result.balance_after),
        )
        if asyncio.get_running_loop().time() - pending.started <= HANDOVER_WINDOW_S:
            self.outbox.enqueue(pending.message)
        return SubmitOutcome(S.ESME_ROK, message_id, segments=q.segments, cost=q.cost)

    def _forget_part(self, pending: PendingDebit) -> None:
        if pending.part is not None:
            # Not charged, not sent: the client may send this part again.
            self.concat.forget(
                pending.account.system_id, pending.pdu.destination_addr, pending.part
            )


@dataclass(frozen=True, slots=True)
class PendingDebit:
    """A checked, priced submit_sm and the debit that decides it (``Submitter.prepare``)."""

    account: Account
    #: The PDU in the gateway's form (international destination, checked times).
    pdu: SubmitSm
    quote: Quote
    #: Which part of a long message it is (None: not segmented by the client).
    part: ConcatPart | None
    message: OutboundMessage
    request: DebitRequest
    #: The caller's own idempotency key (None: the message's).
    key: str | None
    log: Any
    #: Loop time when it was prepared (the forwarder hand-over window counts from it).
    started: float


def _address_keys(ton: int, npi: int, addr: str) -> dict[str, object]:
    """The log keys of a refused address: what the client sent, as it sent it."""
    return {"address": addr, "ton": ton, "npi": npi}
