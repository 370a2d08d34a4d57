"""A short fuzz run (5,000 random and mutated PDUs) against a live gateway process, while a
normal client submits: the rules of ``benchmarks/fuzz.py`` hold (no crash, no traceback,
no stuck session, every reply a valid PDU, no debit without its ESME_ROK, the audit
clean, the normal client served). The long run and its figures: docs/protocol.md."""

from __future__ import annotations

import argparse

from benchmarks.fuzz import broken, run
from tests.integration.harness import in_thread


async def test_short_fuzz_run_breaks_no_rule() -> None:
    opts = argparse.Namespace(
        pdus=5_000,
        workers=4,
        batch=100,
        batches=20,
        corpus=3_000,
        seed=7,
        break_p=0.1,
        stuck_s=15.0,
        settle_s=2.0,
    )
    result = await in_thread(run, opts)
    assert broken(result) == [], result
    assert result["pdus_sent"] == 5_000
    assert result["replies"] > 500  # the PDUs reached the gateway and were answered
    assert result["connections"] > 4  # some links were broken and made again
    assert result["normal_client"]["submits"] > 0
