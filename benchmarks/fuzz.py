"""Fuzz a live gateway with random and mutated PDUs while a normal client submits.

``--pdus`` frames (default 1,000,000) go to one ``smppgw serve`` (SQLite ledger, built-in
upstream simulator) from ``--workers`` parallel connections (default 8) on 127.0.0.1:
PDUs of every SMPP 3.4 kind with random fields, and the same mutated (bits flipped, cut,
lengthened, a command_length that lies, another command_id, spliced, plain noise, a
sequence number reused), in batches; most connections bind first, some fuzz the unbound
state. Meanwhile a normal client on 127.0.0.2 submits one message at a time. Prints one
JSON object:

- the gateway: alive at the end, exit status, tracebacks on stderr, error log lines;
- every reply: decoded as a valid PDU or counted in ``invalid_replies``;
- stuck sessions: after each batch a probe (enquire_link, then 8 KB of them if the first
  was swallowed by a frame left partial) must be answered or the connection closed within
  ``--stuck-s``; at the end no server socket may be left open;
- money: every debit in the journal (fuzz and normal accounts) is of a message whose
  ESME_ROK reached its client (``unanswered_debits``), and the audit is clean;
- the normal client's statuses and latency (p50, p99, max in ms).

    nice -n 10 .venv/bin/python benchmarks/fuzz.py --pdus 1000000

Bind throttling is off for the run (``bind_max_failures = 0``): fuzzed binds from
127.0.0.1 would otherwise block the fuzzers' own binds for a minute at a time. Figures
are for this machine at this moment; never assert on the speed ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks.measure import cpu_seconds  # noqa: E402
from gateway.smpp import (  # noqa: E402
    PDU_CLASSES,
    RESPONSE_BIT,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    CommandId,
    CommandStatus,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    PduError,
    PduReader,
    QuerySm,
    ReplaceSm,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    UnbindResp,
    UnsuccessSme,
    decode,
    encode,
)
from gateway.smpp.fields import Kind  # noqa: E402

FUZZ_ID, NORMAL_ID = "smpp-fuzz", "smpp-normal"
PASSWORD = "fuzz1234"  # noqa: S105 — the benchmark accounts, on a throw-away ledger
FR = "33612345678"
_PROBE_BASE = 0x7FFF0000
_TAGS = (0x0005, 0x001E, 0x0204, 0x020A, 0x020C, 0x020E, 0x020F, 0x0424, 0x0427, 0x1400)
_STRINGS = ("", "SMPPGW", FR, "+33612345678", "0612345678", FUZZ_ID, "x" * 20, "\xff\x01")


# -- what is sent ---------------------------------------------------------------------------
def _value(rng: random.Random, kind: Kind, max_length: int) -> Any:
    if kind is Kind.U8:
        return rng.choice((0, 1, 2, 5, 0x40, rng.randrange(256)))
    if kind is Kind.CSTRING:
        if rng.random() < 0.7:
            return rng.choice(_STRINGS)[: max_length - 1]
        return "".join(chr(rng.randrange(1, 256)) for _ in range(rng.randrange(max_length)))
    if kind is Kind.SIZED_OCTETS:
        return rng.choice((b"hello", b"", bytes([5, 0, 3, 7, 2, 1]) + b"part", rng.randbytes(200)))
    if kind is Kind.DEST_ADDRESSES:
        return tuple(
            DestAddress(rng.choice((1, 1, 2)), 1, 1, rng.choice(_STRINGS)[:20])
            for _ in range(rng.randrange(4))
        )
    return tuple(
        UnsuccessSme(1, 1, rng.choice(_STRINGS)[:20], rng.randrange(1 << 32))
        for _ in range(rng.randrange(3))
    )


def random_pdu(rng: random.Random) -> Pdu:
    """A PDU of any declared kind, fields drawn at random (mostly plausible)."""
    cls = rng.choice(list(PDU_CLASSES.values()))
    values = {s.name: _value(rng, s.kind, s.max_length) for s in cls.spec.fields}
    tlvs = tuple(
        Tlv(rng.choice(_TAGS), rng.randbytes(rng.choice((1, 2, 3, 30))))
        for _ in range(rng.randrange(3))
    )
    return cls(sequence_number=rng.randrange(1, 1 << 31), tlvs=tlvs, **values)


def good_submit(rng: random.Random, seq: int = 0) -> SubmitSm:
    """A submit_sm the fuzz account may send: these get debited."""
    return SubmitSm(
        sequence_number=seq or rng.randrange(1, 1 << 31),
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=FR,
        registered_delivery=rng.choice((0, 1)),
        short_message=b"fuzz",
    )


def _with_length(frame: bytes, length: int) -> bytes:
    return struct.pack(">I", length & 0xFFFFFFFF) + frame[4:]


def mutate(rng: random.Random, frame: bytes, other: bytes) -> bytes:
    """``frame`` damaged one way or another."""
    how = rng.randrange(9)
    data = bytearray(frame)
    if how == 0:  # flip bits
        for _ in range(rng.randrange(1, 5)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data)
    if how == 1:  # cut, length fixed
        cut = rng.randrange(16, len(frame) + 1)
        return _with_length(frame[:cut], cut)
    if how == 2:  # lengthened with noise, length fixed
        more = frame + rng.randbytes(rng.randrange(1, 64))
        return _with_length(more, len(more))
    if how == 3:  # a command_length that lies
        return _with_length(frame, rng.choice((0, 15, 17, len(frame) + 5, 1 << 30)))
    if how == 4:  # another command_id
        cid = rng.choice([*map(int, CommandId), rng.randrange(1 << 32)])
        return frame[:4] + struct.pack(">I", cid) + frame[8:]
    if how == 5:  # spliced with another frame
        cut = rng.randrange(16, len(frame) + 1)
        spliced = frame[:cut] + other[16:]
        return _with_length(spliced, len(spliced))
    if how == 6:  # plain noise
        return rng.randbytes(rng.randrange(1, 80))
    if how == 7:  # the same frame twice: a sequence number reused
        return frame + frame
    return frame  # valid as it is


def _breaks_framing(frame: bytes) -> bool:
    """True when ``frame`` alone loses the framing or leaves a frame partial: what
    follows it on the connection is then garbage, or the gateway closes."""
    reader = PduReader()
    reader.feed(frame)
    try:
        list(reader.frames())
    except PduError:
        return True
    return reader.buffered > 0


@dataclass
class Corpus:
    """Frames to draw from: those that keep the framing, and those that break it."""

    framed: list[bytes]
    breaking: list[bytes]


def build_corpus(rng: random.Random, size: int) -> Corpus:
    """``size`` frames: random PDUs, mutated ones, and good submits."""
    pdus = [encode(random_pdu(rng)) for _ in range(size // 2)]
    corpus = Corpus([], [])
    for _ in range(size):
        r = rng.random()
        if r < 0.05:
            frame = encode(good_submit(rng))
        elif r < 0.45:
            frame = rng.choice(pdus)
        else:
            frame = mutate(rng, rng.choice(pdus), rng.choice(pdus))
        (corpus.breaking if _breaks_framing(frame) else corpus.framed).append(frame)
    return corpus


# -- one fuzzing connection --------------------------------------------------------------
@dataclass
class Totals:
    """What every connection saw, merged under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    connections: int = 0
    replies: Counter[str] = field(default_factory=Counter)
    invalid: list[str] = field(default_factory=list)
    stuck: int = 0
    seen_ok: set[str] = field(default_factory=set)
    closed_by_gateway: int = 0


class FuzzConnection:
    """One socket: a reader thread decodes every reply while batches go out."""

    def __init__(self, port: int, totals: Totals) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.totals = totals
        self.send_lock = threading.Lock()
        self.closed = threading.Event()
        self.probes: set[int] = set()
        self.probe_answered = threading.Condition()
        self.ok_ids: list[str] = []
        self.bound = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def send(self, data: bytes) -> bool:
        try:
            with self.send_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            self.closed.set()
            return False

    def _read(self) -> None:
        reader = PduReader(max_size=1 << 16)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    with self.totals.lock:
                        self.totals.closed_by_gateway += 1
                    return
                reader.feed(data)
                for frame in reader.frames():
                    self._reply(frame)
        except PduError as e:
            with self.totals.lock:
                self.totals.invalid.append(f"framing: {e}")
        except OSError:
            pass
        finally:
            self.closed.set()
            with self.probe_answered:
                self.probe_answered.notify_all()

    def _reply(self, frame: bytes) -> None:
        try:
            pdu = decode(frame)
        except PduError as e:
            with self.totals.lock:
                self.totals.invalid.append(f"{e}: {frame[:40].hex()}")
            return
        with self.totals.lock:
            self.totals.replies[type(pdu).__name__] += 1
        if pdu.command_id & RESPONSE_BIT and pdu.sequence_number == 1:
            self.bound.set()  # the answer to our bind (refused or not): go on
        if isinstance(pdu, SubmitSmResp | DataSmResp | SubmitMultiResp):
            if pdu.command_status == CommandStatus.ESME_ROK and pdu.message_id:
                self.ok_ids.append(pdu.message_id)
                with self.totals.lock:
                    self.totals.seen_ok.add(pdu.message_id)
        elif isinstance(pdu, EnquireLinkResp | UnbindResp) and pdu.sequence_number in self.probes:
            with self.probe_answered:
                self.probes.discard(pdu.sequence_number)
                self.probe_answered.notify_all()
        elif isinstance(pdu, DeliverSm):
            self.send(encode(DeliverSmResp(sequence_number=pdu.sequence_number)))
        elif isinstance(pdu, EnquireLink):
            self.send(encode(EnquireLinkResp(sequence_number=pdu.sequence_number)))
        elif isinstance(pdu, Unbind):
            self.send(encode(UnbindResp(sequence_number=pdu.sequence_number)))

    def probe(self, seq: int, padding: bool, timeout: float) -> bool:
        """True once ``seq``'s enquire_link is answered or the gateway closed the link."""
        with self.probe_answered:
            self.probes.add(seq)
        ping = encode(EnquireLink(sequence_number=seq))
        # A frame left partial swallows what follows; 8 KB of pings outlast any of them.
        if not self.send(ping * (512 if padding else 1)):
            return True
        deadline = time.monotonic() + timeout
        with self.probe_answered:
            while seq in self.probes and not self.closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.probe_answered.wait(left)
        return True

    def unbind(self, seq: int, timeout: float) -> bool:
        """True once the gateway answered an unbind (8 KB of them, the first swallowed
        perhaps by a partial frame) or closed the link within ``timeout``."""
        with self.probe_answered:
            self.probes.add(seq)
        self.send(encode(Unbind(sequence_number=seq)) * 512)
        deadline = time.monotonic() + timeout
        with self.probe_answered:
            while seq in self.probes and not self.closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.probe_answered.wait(left)
        return True

    def close(self) -> None:
        # shutdown first: close() alone leaves the socket open while the reader thread
        # is blocked in recv() on it, and the gateway would see no FIN.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.reader.join(5)
        self.sock.close()


def _dynamic(rng: random.Random, ids: list[str]) -> bytes:
    """query/cancel/replace of a message this connection got ESME_ROK for."""
    mid = rng.choice(ids)
    seq = rng.randrange(1, 1 << 31)
    pdu: Pdu = rng.choice(
        (
            QuerySm(sequence_number=seq, message_id=mid, source_addr_ton=5, source_addr="SMPPGW"),
            CancelSm(sequence_number=seq, message_id=mid),
            ReplaceSm(sequence_number=seq, message_id=mid, short_message=b"replaced"),
        )
    )
    return encode(pdu)


def fuzz_worker(port: int, corpus: Corpus, quota: int, seed: int, opts: Any, t: Totals) -> None:
    """Send ``quota`` frames over as many connections as it takes."""
    rng = random.Random(seed)  # noqa: S311 — fuzz input, not a secret
    sent = 0
    probe_seq = _PROBE_BASE + seed * 1000
    while sent < quota:
        conn = FuzzConnection(port, t)
        with t.lock:
            t.connections += 1
        if rng.random() < 0.9:
            bind_cls = rng.choice((BindTransceiver, BindTransmitter))
            conn.send(encode(bind_cls(sequence_number=1, system_id=FUZZ_ID, password=PASSWORD)))
            conn.bound.wait(opts.stuck_s)
        for _ in range(opts.batches):
            n = min(rng.randrange(1, opts.batch), quota - sent)
            frames = [rng.choice(corpus.framed) for _ in range(n)]
            broke = bool(corpus.breaking) and rng.random() < opts.break_p
            if broke:
                frames[-1] = rng.choice(corpus.breaking)  # the rest of the link is garbage
            if conn.ok_ids and rng.random() < 0.3:
                frames.append(_dynamic(rng, conn.ok_ids))
            if not conn.send(b"".join(frames)):
                break
            sent += n
            with t.lock:
                t.sent += n
            probe_seq += 1
            # After a frame that breaks the framing, the padded probe at once: a single
            # ping would only be swallowed by a partial frame.
            if not conn.probe(probe_seq, broke, opts.stuck_s):
                probe_seq += 1
                if not conn.probe(probe_seq, True, opts.stuck_s):
                    with t.lock:
                        t.stuck += 1
                    break
            if conn.closed.is_set() or sent >= quota:
                break
        # End as a client must: unbind, whose answer waits for every answer still owed
        # (a submit being debited); closing first would leave them nowhere to go.
        if not conn.closed.is_set() and not conn.unbind(probe_seq + 1, opts.stuck_s):
            with t.lock:
                t.stuck += 1
        probe_seq += 1
        conn.close()


# -- the normal client --------------------------------------------------------------------
def normal_client(port: int, stop: threading.Event, out: dict[str, Any]) -> None:
    """Bind TX from 127.0.0.2 and submit one message at a time until ``stop``."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    ids: set[str] = set()
    with socket.socket() as s:
        s.settimeout(30)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        reader = PduReader()

        def call(pdu: Pdu) -> Pdu:
            s.sendall(encode(pdu))
            while True:
                frame = reader.next_frame()
                if frame is not None:
                    got = decode(frame)
                    if got.command_id & RESPONSE_BIT and got.sequence_number == pdu.sequence_number:
                        return got
                    continue
                data = s.recv(65536)
                if not data:
                    raise ConnectionError("normal client closed by the gateway")
                reader.feed(data)

        bound = call(BindTransmitter(sequence_number=1, system_id=NORMAL_ID, password=PASSWORD))
        assert bound.command_status == 0, f"normal bind 0x{bound.command_status:x}"
        seq = 1
        rng = random.Random(0)  # noqa: S311 — message content, not a secret
        while not stop.is_set():
            seq += 1
            t0 = time.perf_counter()
            resp = call(replace(good_submit(rng, seq), registered_delivery=0))
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[resp.command_status] += 1
            if resp.command_status == 0:
                assert isinstance(resp, SubmitSmResp)
                ids.add(resp.message_id)
            time.sleep(0.01)
    lat = sorted(latencies)
    out.update(
        submits=len(lat),
        statuses={f"0x{k:x}": v for k, v in statuses.items()},
        ms={
            "p50": round(statistics.median(lat), 1) if lat else None,
            "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
            "max": round(lat[-1], 1) if lat else None,
        },
        ids=ids,
    )


# -- the gateway ----------------------------------------------------------------------------------
def _cli(config: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 — this interpreter running the gateway under test
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=REPO,
    )


def _open_server_sockets(port: int) -> int:
    """Server-side TCP sockets of ``port`` still open (ESTABLISHED or CLOSE_WAIT)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state in ("01", "08"):
                n += 1
                print(f"open server socket: {line.strip()}", file=sys.stderr)
    return n


async def _ledger_check(url: str, seen: dict[str, set[str]]) -> dict[str, Any]:
    from ledger import open_store
    from ledger.models import EntryKind

    store = await open_store(url)
    try:
        unanswered: list[str] = []
        debits = 0
        for system_id, ok in seen.items():
            for e in await store.journal(system_id, limit=10_000_000):
                if e.kind is EntryKind.DEBIT and e.message_id is not None:
                    debits += 1
                    base = e.message_id.split(".", 1)[0]  # submit_multi: M, M.1, M.2 ...
                    if base not in ok:
                        unanswered.append(e.message_id)
        audit = await store.audit()
        return {"debits": debits, "unanswered_debits": len(unanswered),
                "unanswered_sample": unanswered[:5], "audit_problems": len(audit)}  # fmt: skip
    finally:
        await store.close()


def run(opts: argparse.Namespace) -> dict[str, Any]:
    """One gateway, the fuzzers and the normal client; the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="smppgw-fuzz-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"sqlite:///{workdir / 'ledger.db'}"
    config = workdir / "smppgw.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nbind_max_failures = 0\n'
        "bind_timeout_s = 10\nmax_connections_per_address = 1000\n"
        f'[ledger]\nurl = "{url}"\n'
        f'[pricing]\ntariff = "{REPO / "config" / "tariff.csv"}"\n'
        '[simulator]\nport = 0\ndlr_delay_ms = 10\n[logging]\nlevel = "warning"\n'
    )
    _cli(config, "db", "upgrade")
    for system_id in (FUZZ_ID, NORMAL_ID):
        _cli(
            config, "account", "create", system_id, "--password", PASSWORD,
            "--allow-ip", "127.0.0.0/8", "--max-binds", "1000", "--sender", "5:SMPPGW",
        )  # fmt: skip
        _cli(config, "credits", "add", system_id, "1000000")
    out_log, err_log = workdir / "stdout.log", workdir / "stderr.log"
    with out_log.open("wb") as out_f, err_log.open("wb") as err_f:
        proc = subprocess.Popen(  # noqa: S603 — this interpreter running the gateway under test
            [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
            stdout=out_f,
            stderr=err_f,
            cwd=REPO,
        )
    try:
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        rng = random.Random(opts.seed)  # noqa: S311 — fuzz input, not a secret
        corpus = build_corpus(rng, opts.corpus)
        totals = Totals()
        stop = threading.Event()
        normal: dict[str, Any] = {}
        normal_thread = threading.Thread(target=normal_client, args=(port, stop, normal))
        normal_thread.start()
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        per = opts.pdus // opts.workers
        workers = [
            threading.Thread(
                target=fuzz_worker, args=(port, corpus, per, opts.seed + i, opts, totals)
            )
            for i in range(opts.workers)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.monotonic() - t0
        stop.set()
        normal_thread.join(60)
        cpu = cpu_seconds(proc.pid) - cpu0
        time.sleep(opts.settle_s)  # let the gateway notice the closed sockets
        left_open = _open_server_sockets(port)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        exit_status = proc.wait(30)
    seen = {FUZZ_ID: totals.seen_ok, NORMAL_ID: normal.get("ids", set())}
    money = asyncio.run(_ledger_check(url, seen))
    stderr = err_log.read_text(errors="replace")
    errors: Counter[str] = Counter()
    for line in out_log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "critical"):
            errors[entry.get("event", "?")] += 1
    normal.pop("ids", None)
    return {
        "pdus_sent": totals.sent,
        "corpus": {"framed": len(corpus.framed), "breaking": len(corpus.breaking)},
        "workers": opts.workers,
        "connections": totals.connections,
        "closed_by_gateway": totals.closed_by_gateway,
        "wall_s": round(wall, 1),
        "pdus_per_s": round(totals.sent / wall) if wall else None,
        "gateway_cpu_s": round(cpu, 1),
        "gateway_alive_at_end": alive,
        "gateway_exit_status": exit_status,
        "tracebacks": stderr.count("Traceback"),
        "error_log_lines": dict(errors),
        "replies": sum(totals.replies.values()),
        "reply_kinds": dict(totals.replies.most_common(8)),
        "invalid_replies": len(totals.invalid),
        "invalid_sample": totals.invalid[:3],
        "stuck_sessions": totals.stuck,
        "server_sockets_left_open": left_open,
        **money,
        "normal_client": normal,
    }


def main() -> int:
    """Run once; print the figures as one JSON line (exit 1 if a rule was broken)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pdus", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--batch", type=int, default=200, help="most frames in one write")
    p.add_argument("--batches", type=int, default=50, help="most batches per connection")
    p.add_argument("--corpus", type=int, default=20_000, help="distinct frames drawn from")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--break-p",
        type=float,
        default=0.1,
        help="batches ending in a frame that breaks the framing",
    )
    p.add_argument("--stuck-s", type=float, default=15.0, help="a probe's answer deadline")
    p.add_argument("--settle-s", type=float, default=3.0)
    opts = p.parse_args()
    result = run(opts)
    print(json.dumps(result), flush=True)
    return 0 if broken(result) == [] else 1


def broken(r: dict[str, Any]) -> list[str]:
    """The rules a run broke (empty: none)."""
    rules = {
        "gateway died": not r["gateway_alive_at_end"],
        "tracebacks": r["tracebacks"] > 0,
        "invalid replies": r["invalid_replies"] > 0,
        "stuck sessions": r["stuck_sessions"] > 0 or r["server_sockets_left_open"] > 0,
        "debits without their ESME_ROK": r["unanswered_debits"] > 0,
        "audit": r["audit_problems"] > 0,
        "internal errors": bool(r["error_log_lines"]),
        "normal client refused": set(r["normal_client"].get("statuses", {})) - {"0x0"} != set(),
    }
    return [name for name, bad in rules.items() if bad]


if __name__ == "__main__":
    sys.exit(main())
