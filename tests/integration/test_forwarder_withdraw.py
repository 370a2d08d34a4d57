"""The forwarder gives a message back (cancel_sm, replace_sm) only while it has never
been handed to the upstream, and a restored version is the only one that goes out, even
when a worker was already waiting with the old one for the link to come back."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from gateway.simulator import UpstreamSimulator
from tests.integration.forwarding import rig


async def test_withdraw_restore_sends_only_the_new_version(tmp_path: Path) -> None:
    sim = UpstreamSimulator(keep_ids=True)
    async with rig(tmp_path, sim) as r:
        fwd = r.forwarder(workers=4)
        fwd.start()
        await sim.stop()  # the link goes: workers wait for it with what they took
        await asyncio.sleep(0.2)
        outcome = await r.submit(r.submitter(fwd))
        mid = outcome.message_id
        await asyncio.sleep(0.1)  # a worker has taken it and waits for the link
        assert fwd.withdraw(mid)
        assert not fwd.withdraw(mid)  # once
        record = await r.store.get_message(mid)
        new = replace(record.outbound("gw1"), pdu_body=record.pdu_body)
        fwd.restore(new)  # another worker takes this one and waits too
        await asyncio.sleep(0.1)
        await sim.start()
        await asyncio.wait_for(r.upstream.wait_bound(), 10)
        await r.until_recorded(fwd, mid)
        assert sim.stats.submits == 1  # the old entry was skipped
        assert not fwd.withdraw(mid)  # handed over: too late now


async def test_withdraw_refuses_what_is_not_held_or_already_sent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        fwd = r.forwarder(workers=2)
        fwd.start()
        assert not fwd.withdraw("unknown")
        outcome = await r.submit(r.submitter(fwd))
        await r.until_recorded(fwd, outcome.message_id)
        assert not fwd.withdraw(outcome.message_id)
