"""Micro-benchmark of the SMPP core's hot path: codec and sans-IO session, no sockets.

What it times (best of ``--repeat`` rounds, microseconds per operation):

- ``decode submit_sm``: ``decode()`` of one 160-octet GSM submit_sm frame with a TLV;
- ``encode submit_sm_resp``: ``encode()`` of a submit_sm_resp carrying a message_id;
- ``encode deliver_sm``: ``encode()`` of a delivery receipt (deliver_sm, three TLVs);
- ``session 1000 submit_sm``: an SMSC-role session, bound TX, receives 1000 submit_sm
  frames in one chunk and answers each with a submit_sm_resp (the shell's loop: answer
  what came out, feed ``b""`` again while reading was paused), per message.

Each checkout named on the command line is measured in its own interpreter
(``PYTHONPATH=<checkout>``); rounds alternate between checkouts, so a change in the
machine's load spreads over all of them:

    python benchmarks/codec.py                      # this checkout only
    python benchmarks/codec.py . /path/to/main      # this checkout against main

A checkout from before ``gateway/smpp/`` (``gateway/pdu.py`` + ``gateway/session.py``)
is measured through its own module names. Figures are for this machine at this moment.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROUNDS_PER_CALL = 5


def _api(tree: Path) -> dict[str, Any]:
    """The names the benchmark needs, from the layout ``tree`` has.

    Chosen by the files, not by trying imports: an editable install of another checkout
    would otherwise supply the module the measured one lacks.
    """
    if (tree / "gateway" / "smpp").is_dir():
        codec = session = importlib.import_module("gateway.smpp")
    else:  # a checkout from before gateway/smpp/
        codec = importlib.import_module("gateway.pdu")
        session = importlib.import_module("gateway.session")
    for module in (codec, session):
        where = Path(module.__file__ or "").resolve()
        assert where.is_relative_to(tree), f"{module.__name__} comes from {where}, not {tree}"
    return {"codec": codec, "session": session}


def _best(fn: Callable[[], object], number: int) -> float:
    """Best microseconds per call over ROUNDS_PER_CALL rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(ROUNDS_PER_CALL):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def measure(tree: Path) -> dict[str, float]:
    """One round of every figure, in this interpreter, of the checkout ``tree``."""
    api = _api(tree)
    c, s = api["codec"], api["session"]
    submit = c.SubmitSm(
        sequence_number=7,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="33612345678",
        registered_delivery=1,
        short_message=b"x" * 160,
        tlvs=(c.Tlv(0x0204, b"\x00\x01"),),
    )
    frame = c.encode(submit)
    resp = c.SubmitSmResp(sequence_number=7, message_id="0a1b2c3d4e5f6a7b")
    receipt = c.DeliverSm(
        sequence_number=9,
        source_addr="33612345678",
        destination_addr="SMPPGW",
        esm_class=0x04,
        short_message=b"id:0a1b2c3d4e5f6a7b sub:001 dlvrd:001 submit date:2501011200 "
        b"done date:2501011201 stat:DELIVRD err:000 text:xxxxxxxxxxxxxxxxxxxx",
        tlvs=(
            c.Tlv(0x001E, b"0a1b2c3d4e5f6a7b\x00"),
            c.Tlv(0x0427, b"\x02"),
            c.Tlv(0x0423, b"\x03\x00\x00"),
        ),
    )
    decode, encode = c.decode, c.encode
    assert encode(decode(frame)) == frame

    chunk = b"".join(encode(c.with_sequence(submit, n)) for n in range(1, 1001))

    def session_round() -> None:
        sess = s.Session(s.Role.SMSC)
        bind = c.BindTransmitter(sequence_number=1, system_id="esme", password="pw")  # noqa: S106 — bench data
        sess.receive_data(encode(bind), 0.0)
        sess.send(c.response_to(bind, system_id="smppgw"), 0.0)
        sess.data_to_send()
        answered = 0
        events = sess.receive_data(chunk, 0.0)
        while events:
            for ev in events:
                if isinstance(ev, s.RequestReceived):
                    sess.send(c.response_to(ev.pdu, message_id="0a1b2c3d4e5f6a7b"), 0.0)
                    answered += 1
            sess.data_to_send()
            events = sess.receive_data(b"", 0.0)
        assert answered == 1000, answered

    return {
        "decode submit_sm": _best(lambda: decode(frame), 20_000),
        "encode submit_sm_resp": _best(lambda: encode(resp), 50_000),
        "encode deliver_sm": _best(lambda: encode(receipt), 20_000),
        "session 1000 submit_sm": _best(session_round, 10) / 1000,
    }


def main() -> None:
    """Measure every checkout given, alternating rounds, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="*", default=["."], help="trees to measure")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per checkout")
    parser.add_argument("--one", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one))))
        return
    trees = [str(Path(t).resolve()) for t in args.checkouts]
    results: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    for _ in range(args.repeat):
        for tree in trees:
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run(  # noqa: S603 — this interpreter on this file
                [sys.executable, __file__, "--one", tree],
                env=env,
                cwd=tree,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[tree].append(json.loads(out))
    names = list(results[trees[0]][0])
    width = max(len(n) for n in names)
    print(f"{'us/op (median of rounds)':<{width}}  " + "  ".join(f"{t[-24:]:>24}" for t in trees))
    for name in names:
        cells = []
        for tree in trees:
            values = [r[name] for r in results[tree]]
            cells.append(
                f"{statistics.median(values):>13.2f} [{min(values):.2f}-{max(values):.2f}]"
            )
        print(f"{name:<{width}}  " + "  ".join(f"{c:>24}" for c in cells))


if __name__ == "__main__":
    main()
