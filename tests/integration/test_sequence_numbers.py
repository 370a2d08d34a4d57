"""A reused sequence_number against a real gateway over a raw socket (issue 9).

Two submit_sm with the same sequence_number in one write used to be debited twice and
forwarded twice while the client got one answer, with a traceback on stderr. Now the
second is refused before any check or debit: exactly one debit, one forwarded message,
two answers, a ``pdu.duplicate_sequence`` log line, and no exception anywhere.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import structlog

from gateway.smpp import BindTransmitter, Pdu, PduReader, SubmitSm, SubmitSmResp, decode, encode
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import EntryKind, MessageState
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

FR = "33612345678"


def _submit(seq: int, text: bytes) -> SubmitSm:
    return SubmitSm(
        sequence_number=seq,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=FR,
        short_message=text,
    )


def _bind_and_send(port: int, system_id: str, payload: bytes, answers_wanted: int) -> list[Pdu]:
    """Bind a transmitter, write ``payload`` in one sendall, return the answers to it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            encode(BindTransmitter(sequence_number=1, system_id=system_id, password=PASSWORD))
        )
        reader = PduReader()
        answers: list[Pdu] = []

        def read_until(count: int) -> None:
            while len(answers) < count:
                data = s.recv(65536)
                assert data, "the gateway closed the connection"
                reader.feed(data)
                answers.extend(decode(f) for f in reader.frames())

        read_until(1)
        assert answers[0].command_status == S.ESME_ROK
        s.sendall(payload)
        read_until(1 + answers_wanted)
        return answers[1:]


async def test_duplicate_sequence_in_one_write_is_charged_and_forwarded_once(
    store: Store, tmp_path: Path
) -> None:
    await make_account(store, "smpp-dupseq", credits="10")
    loop_errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    try:
        config = gateway_config(f"sqlite:///{tmp_path}/ledger.db")
        async with running_gateway(config, store) as gw:
            assert gw.endpoints is not None and gw.forwarder is not None
            assert gw.simulator is not None
            gw.simulator.keep_ids = True  # record what reaches the upstream
            payload = encode(_submit(77, b"first")) + encode(_submit(77, b"second"))
            with structlog.testing.capture_logs() as logs:
                answers = await in_thread(
                    _bind_and_send, gw.endpoints.port, "smpp-dupseq", payload, 2
                )
                ok_ids = [
                    a.message_id for a in answers if isinstance(a, SubmitSmResp) and a.message_id
                ]
                assert len(ok_ids) == 1
                for _ in range(250):
                    if (await store.get_message(ok_ids[0])).state == MessageState.FORWARDED:
                        break
                    await asyncio.sleep(0.02)
                await gw.forwarder.drain(5)
            forwarded = list(gw.simulator.stats.submitted_messages)
            upstream_submits = gw.simulator.stats.submits
    finally:
        loop.set_exception_handler(None)

    # Two answers, both for seq 77: the refusal of the second, and the first's ESME_ROK.
    assert all(isinstance(a, SubmitSmResp) and a.sequence_number == 77 for a in answers)
    statuses = sorted(a.command_status for a in answers)
    assert statuses == [S.ESME_ROK, S.ESME_RSYSERR]
    ok = next(a for a in answers if a.command_status == S.ESME_ROK)
    assert isinstance(ok, SubmitSmResp) and ok.message_id

    # Exactly one debit (1 credit to France), and it is the message that was answered.
    debits = [e for e in await store.journal("smpp-dupseq", limit=100) if e.kind == EntryKind.DEBIT]
    assert len(debits) == 1
    assert (await store.get_account("smpp-dupseq")).balance == 9_000
    assert (await store.get_message(ok.message_id)).system_id == "smpp-dupseq"
    # Exactly one message upstream: the first one.
    assert forwarded == [b"first"]
    assert upstream_submits == 1

    events = [e["event"] for e in logs]
    dup = [e for e in logs if e["event"] == "pdu.duplicate_sequence"]
    assert len(dup) == 1 and dup[0]["seq"] == 77 and dup[0]["status"] == "0x8"
    assert events.count("submit.debited") == 1
    assert "request.failed" not in events
    assert loop_errors == [], "no exception reached the event loop"
