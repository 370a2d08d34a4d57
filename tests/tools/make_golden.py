"""Regenerate tests/golden/pdus.json: SMPP PDUs encoded by two independent implementations.

Each vector below is written once, as the fields an SMPP 3.4 PDU should carry. It is then
encoded by

- python-smpplib (``smpplib.smpp.make_pdu(...).generate()``), and
- the npm ``smpp`` package (farhadi/node-smpp, through ``make_golden_node.js``),

and the bytes each library produced are stored beside the fields, so the codec tests compare
``gateway.smpp`` with implementations it shares no code with. This script never imports
``gateway``: the expected fields come from the vectors below, the bytes from the libraries.

Before writing, the two encodings of every vector are compared: they must be identical
except where the libraries are known to differ (``DIVERGENT`` below, e.g. node-smpp sends
no body at all in an error response, smpplib sends an empty C-string).

Usage (from the repository root; needs Node.js and npm once, never at test time):

    export NODE_PATH="$(bash ../shared/peers/setup.sh "$PWD/.peers-node")"
    .venv/bin/python tests/tools/make_golden.py          # rewrite tests/golden/pdus.json
    .venv/bin/python tests/tools/make_golden.py --check  # fail if the file is out of date
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import smpplib.smpp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE.parent / "golden" / "pdus.json"
NODE_SCRIPT = HERE / "make_golden_node.js"

Value = int | str | bytes | list[dict[str, int | str]]

#: command name -> command_id (SMPP 3.4 §5.1.2.1), written out here, not imported.
COMMAND_IDS: dict[str, int] = {
    "generic_nack": 0x80000000,
    "bind_receiver": 0x00000001,
    "bind_receiver_resp": 0x80000001,
    "bind_transmitter": 0x00000002,
    "bind_transmitter_resp": 0x80000002,
    "submit_sm": 0x00000004,
    "submit_sm_resp": 0x80000004,
    "deliver_sm": 0x00000005,
    "deliver_sm_resp": 0x80000005,
    "unbind": 0x00000006,
    "unbind_resp": 0x80000006,
    "bind_transceiver": 0x00000009,
    "bind_transceiver_resp": 0x80000009,
    "enquire_link": 0x00000015,
    "enquire_link_resp": 0x80000015,
    "query_sm": 0x00000003,
    "query_sm_resp": 0x80000003,
    "replace_sm": 0x00000007,
    "replace_sm_resp": 0x80000007,
    "cancel_sm": 0x00000008,
    "cancel_sm_resp": 0x80000008,
    "outbind": 0x0000000B,
    "submit_multi": 0x00000021,
    "submit_multi_resp": 0x80000021,
    "alert_notification": 0x00000102,
    "data_sm": 0x00000103,
    "data_sm_resp": 0x80000103,
}


@dataclass(frozen=True)
class T:
    """One TLV of a vector: SMPP name, tag, value kind and value."""

    name: str
    tag: int
    kind: str  # "u8" | "u16" | "cstring" | "octets"
    value: Value

    def raw(self) -> bytes:
        """The value octets the TLV must carry on the wire (SMPP 3.4 §5.3)."""
        if self.kind == "u8":
            assert isinstance(self.value, int)
            return self.value.to_bytes(1, "big")
        if self.kind == "u16":
            assert isinstance(self.value, int)
            return self.value.to_bytes(2, "big")
        if self.kind == "cstring":
            assert isinstance(self.value, str)
            return self.value.encode("latin-1") + b"\x00"
        assert isinstance(self.value, bytes)
        return self.value


@dataclass(frozen=True)
class Vector:
    """A PDU to encode, described once for both libraries."""

    name: str
    command: str
    sequence_number: int
    fields: dict[str, Value] = field(default_factory=dict)
    tlvs: tuple[T, ...] = ()
    command_status: int = 0
    sources: tuple[str, ...] = ("smpplib", "node")
    #: TLVs only node-smpp can emit (registered there with smpp.addTLV).
    vendor_tlvs: tuple[str, ...] = ()


def bind(**kw: Value) -> dict[str, Value]:
    """Every mandatory bind_* field (SMPP 3.4 §4.1.1), defaults overridden by ``kw``."""
    f: dict[str, Value] = {
        "system_id": "",
        "password": "",
        "system_type": "",
        "interface_version": 0x34,
        "addr_ton": 0,
        "addr_npi": 0,
        "address_range": "",
    }
    f.update(kw)
    return f


def sm(**kw: Value) -> dict[str, Value]:
    """Every mandatory submit_sm/deliver_sm field (SMPP 3.4 §4.4.1), sm_length implied."""
    f: dict[str, Value] = {
        "service_type": "",
        "source_addr_ton": 0,
        "source_addr_npi": 0,
        "source_addr": "",
        "dest_addr_ton": 0,
        "dest_addr_npi": 0,
        "destination_addr": "",
        "esm_class": 0,
        "protocol_id": 0,
        "priority_flag": 0,
        "schedule_delivery_time": "",
        "validity_period": "",
        "registered_delivery": 0,
        "replace_if_present_flag": 0,
        "data_coding": 0,
        "sm_default_msg_id": 0,
        "short_message": b"",
    }
    f.update(kw)
    return f


SC_IFV = T("sc_interface_version", 0x0210, "u8", 0x34)
GSM_TEXT = b"Hello \x00home"  # "Hello @home" in unpacked GSM 03.38: '@' is 0x00
UDH_8BIT_REF = bytes.fromhex("0500032a0201")  # concat, ref 0x2a, part 1 of 2
RECEIPT_TEXT = (
    b"id:0a1b2c3d4e5f sub:001 dlvrd:001 submit date:2501011200 "
    b"done date:2501011201 stat:DELIVRD err:000 text:Hello \x00home"
)
#: A long GSM text that cannot fit short_message (300 octets).
PAYLOAD = (b"The quick brown fox jumps over the lazy dog. " * 7)[:300]

VECTORS: tuple[Vector, ...] = (
    Vector(
        "bind_transmitter",
        "bind_transmitter",
        1,
        bind(system_id="smpp-demo", password="secret", system_type="VMA", addr_ton=1, addr_npi=1),
    ),
    Vector(
        "bind_receiver",
        "bind_receiver",
        2,
        bind(system_id="smpp-rx", password="pw12345", address_range="^336"),
    ),
    Vector(
        # Every C-string at its longest: 15 + NUL, 8 + NUL, 12 + NUL, 40 + NUL.
        "bind_transceiver_max_lengths",
        "bind_transceiver",
        3,
        bind(
            system_id="smpp-trx-000001",
            password="8charsPW",
            system_type="SMPPGW-12345",
            addr_ton=5,
            address_range="A" * 40,
        ),
    ),
    Vector("bind_transmitter_resp", "bind_transmitter_resp", 1, {"system_id": "smppgw"}, (SC_IFV,)),
    Vector("bind_receiver_resp", "bind_receiver_resp", 2, {"system_id": "smppgw"}, (SC_IFV,)),
    Vector("bind_transceiver_resp", "bind_transceiver_resp", 3, {"system_id": "SMSC"}, (SC_IFV,)),
    Vector(
        "bind_transmitter_resp_error",
        "bind_transmitter_resp",
        4,
        {"system_id": ""},
        command_status=0x0E,  # ESME_RINVPASWD
    ),
    Vector(
        "bind_transceiver_resp_error",
        "bind_transceiver_resp",
        5,
        {"system_id": ""},
        command_status=0x0D,  # ESME_RBINDFAIL
    ),
    Vector(
        "submit_sm_gsm",
        "submit_sm",
        10,
        sm(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            validity_period="000001000000000R",
            registered_delivery=1,
            short_message=GSM_TEXT,
        ),
    ),
    Vector(
        "submit_sm_ucs2",
        "submit_sm",
        11,
        sm(
            service_type="CMT",
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="447700900123",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            priority_flag=1,
            schedule_delivery_time="250101120000000+",
            validity_period="250102120000004+",
            data_coding=8,
            short_message="Привет, мир €".encode("utf-16-be"),
        ),
    ),
    Vector(
        "submit_sm_udh",
        "submit_sm",
        12,
        sm(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            esm_class=0x40,
            registered_delivery=1,
            short_message=UDH_8BIT_REF + b"first part of a concatenated message",
        ),
    ),
    Vector(
        "submit_sm_sar",
        "submit_sm",
        13,
        sm(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            short_message=b"second part, SAR TLVs",
        ),
        (
            T("sar_msg_ref_num", 0x020C, "u16", 0x1234),
            T("sar_total_segments", 0x020E, "u8", 3),
            T("sar_segment_seqnum", 0x020F, "u8", 2),
        ),
    ),
    Vector(
        "submit_sm_message_payload",
        "submit_sm",
        14,
        sm(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            registered_delivery=1,
        ),
        (
            T("user_message_reference", 0x0204, "u16", 42),
            T("message_payload", 0x0424, "octets", PAYLOAD),
        ),
    ),
    Vector(
        # Unknown (vendor) TLVs between and after known ones: kept, in order.
        "submit_sm_vendor_tlv",
        "submit_sm",
        15,
        sm(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            short_message=b"vendor TLVs",
        ),
        (
            T("sar_msg_ref_num", 0x020C, "u16", 7),
            T("vendor_1400", 0x1400, "octets", bytes.fromhex("deadbeef")),
            T("sar_total_segments", 0x020E, "u8", 2),
            T("sar_segment_seqnum", 0x020F, "u8", 1),
            T("vendor_1501", 0x1501, "octets", b""),
        ),
        sources=("node",),
        vendor_tlvs=("vendor_1400", "vendor_1501"),
    ),
    Vector("submit_sm_resp", "submit_sm_resp", 10, {"message_id": "0a1b2c3d4e5f"}),
    Vector(
        "submit_sm_resp_error",
        "submit_sm_resp",
        11,
        {"message_id": ""},
        command_status=0x58,  # ESME_RTHROTTLED
    ),
    Vector(
        "deliver_sm_receipt",
        "deliver_sm",
        20,
        sm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="33612345678",
            dest_addr_ton=5,
            destination_addr="SMPPGW",
            esm_class=0x04,
            short_message=RECEIPT_TEXT,
        ),
        (
            T("network_error_code", 0x0423, "octets", bytes.fromhex("030000")),
            T("message_state", 0x0427, "u8", 2),  # DELIVERED
            T("receipted_message_id", 0x001E, "cstring", "0a1b2c3d4e5f"),
        ),
    ),
    Vector("deliver_sm_resp", "deliver_sm_resp", 20, {"message_id": ""}),
    Vector(
        "deliver_sm_resp_error",
        "deliver_sm_resp",
        21,
        {"message_id": ""},
        command_status=0x64,  # ESME_RX_T_APPN
    ),
    Vector("enquire_link", "enquire_link", 30),
    Vector("enquire_link_resp", "enquire_link_resp", 30),
    Vector("unbind", "unbind", 31),
    Vector("unbind_resp", "unbind_resp", 31),
    Vector("generic_nack", "generic_nack", 77, command_status=0x03),  # ESME_RINVCMDID
    # --- the other SMPP 3.4 operations (smpplib has no submit_multi, cancel_sm,
    # replace_sm or outbind: those come from node-smpp alone) ---
    Vector(
        "query_sm",
        "query_sm",
        40,
        {
            "message_id": "0a1b2c3d4e5f",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SMPPGW",
        },
    ),
    Vector(
        "query_sm_resp",
        "query_sm_resp",
        40,
        {"message_id": "0a1b2c3d4e5f", "final_date": "", "message_state": 2, "error_code": 0},
    ),
    Vector(
        "data_sm",
        "data_sm",
        41,
        {
            "service_type": "",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SMPPGW",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "33612345678",
            "esm_class": 0,
            "registered_delivery": 1,
            "data_coding": 0,
        },
        (T("message_payload", 0x0424, "octets", PAYLOAD),),
    ),
    Vector("data_sm_resp", "data_sm_resp", 41, {"message_id": "0a1b2c3d4e60"}),
    Vector(
        "alert_notification",
        "alert_notification",
        42,
        {
            "source_addr_ton": 1,
            "source_addr_npi": 1,
            "source_addr": "33612345678",
            "esme_addr_ton": 5,
            "esme_addr_npi": 0,
            "esme_addr": "SMPPGW",
        },
    ),
    Vector(
        "submit_multi",
        "submit_multi",
        43,
        {
            "service_type": "",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SMPPGW",
            "dest_address": [
                {"dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": "33612345678"},
                {"dl_name": "customers"},
                {"dest_addr_ton": 2, "dest_addr_npi": 1, "destination_addr": "0612345678"},
            ],
            "esm_class": 0,
            "protocol_id": 0,
            "priority_flag": 0,
            "schedule_delivery_time": "",
            "validity_period": "",
            "registered_delivery": 1,
            "replace_if_present_flag": 0,
            "data_coding": 0,
            "sm_default_msg_id": 0,
            "short_message": GSM_TEXT,
        },
        sources=("node",),
    ),
    Vector(
        "submit_multi_resp",
        "submit_multi_resp",
        43,
        {
            "message_id": "0a1b2c3d4e61",
            "unsuccess_sme": [
                {
                    "dest_addr_ton": 2,
                    "dest_addr_npi": 1,
                    "destination_addr": "0612345678",
                    "error_status_code": 0x0B,
                },
            ],
        },
        sources=("node",),
    ),
    Vector(
        "cancel_sm",
        "cancel_sm",
        44,
        {
            "service_type": "",
            "message_id": "0a1b2c3d4e5f",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SMPPGW",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "33612345678",
        },
        sources=("node",),
    ),
    Vector("cancel_sm_resp", "cancel_sm_resp", 44, sources=("node",)),
    Vector(
        "replace_sm",
        "replace_sm",
        45,
        {
            "message_id": "0a1b2c3d4e5f",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SMPPGW",
            "schedule_delivery_time": "",
            "validity_period": "",
            "registered_delivery": 1,
            "sm_default_msg_id": 0,
            "short_message": GSM_TEXT,
        },
        sources=("node",),
    ),
    Vector("replace_sm_resp", "replace_sm_resp", 45, sources=("node",)),
    Vector(
        "outbind", "outbind", 46, {"system_id": "SMSC", "password": "secret"}, sources=("node",)
    ),
)

#: Vectors the two libraries encode differently, and why; both encodings are kept.
DIVERGENT: dict[str, str] = {
    name: "node-smpp sends no body in an error response; smpplib sends the empty C-string"
    for name in (
        "bind_transmitter_resp_error",
        "bind_transceiver_resp_error",
        "submit_sm_resp_error",
        "deliver_sm_resp_error",
    )
}


def smpplib_encode(v: Vector) -> bytes:
    # A `sequence` keyword keeps requests from asking a (missing) client for a number...
    kwargs: dict[str, Any] = {"status": v.command_status, "sequence": v.sequence_number}
    for k, val in v.fields.items():
        if k == "interface_version":
            assert val == 0x34, "smpplib always writes interface_version 0x34"
            continue
        kwargs[k] = val
    for t in v.tlvs:
        kwargs[t.name] = t.value
    pdu = smpplib.smpp.make_pdu(v.command, **kwargs)
    # ...but is not stored (smpplib only sets attributes that are None): set it here.
    pdu.sequence = v.sequence_number
    data: bytes = pdu.generate()
    return data


def node_spec(v: Vector) -> dict[str, Any]:
    options: dict[str, Any] = {
        "sequence_number": v.sequence_number,
        "command_status": v.command_status,
    }
    for k, val in [*v.fields.items(), *((t.name, t.value) for t in v.tlvs)]:
        options[k] = {"hex": val.hex()} if isinstance(val, bytes) else val
    vendor = [{"name": t.name, "id": t.tag} for t in v.tlvs if t.name in v.vendor_tlvs]
    return {"name": v.name, "command": v.command, "options": options, "vendor_tlvs": vendor}


def node_encode(vectors: list[Vector]) -> tuple[str, dict[str, bytes]]:
    env = dict(os.environ)
    if "NODE_PATH" not in env and (ROOT / ".peers-node" / "node_modules").is_dir():
        env["NODE_PATH"] = str(ROOT / ".peers-node" / "node_modules")
    proc = subprocess.run(
        ["node", str(NODE_SCRIPT)],
        input=json.dumps([node_spec(v) for v in vectors]),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"node failed (is NODE_PATH set? see this file's docstring):\n{proc.stderr}")
    out = json.loads(proc.stdout)
    return out["version"], {k: bytes.fromhex(h) for k, h in out["pdus"].items()}


def jsonable(val: Value) -> Any:
    return {"hex": val.hex()} if isinstance(val, bytes) else val


def build() -> dict[str, Any]:
    node_version, node_bytes = node_encode([v for v in VECTORS if "node" in v.sources])
    libs = {
        "smpplib": f"python smpplib {version('smpplib')}",
        "node": f"npm smpp {node_version}",
    }
    entries: list[dict[str, Any]] = []
    for v in VECTORS:
        produced: dict[str, bytes] = {}
        if "smpplib" in v.sources:
            produced["smpplib"] = smpplib_encode(v)
        if "node" in v.sources:
            produced["node"] = node_bytes[v.name]
        if len(set(produced.values())) > 1 and v.name not in DIVERGENT:
            sys.exit(
                f"{v.name}: the libraries disagree: { {k: b.hex() for k, b in produced.items()} }"
            )
        for source, data in produced.items():
            entries.append(
                {
                    "name": v.name,
                    "source": source,
                    "command": v.command,
                    "command_id": COMMAND_IDS[v.command],
                    "command_status": v.command_status,
                    "sequence_number": v.sequence_number,
                    "fields": {k: jsonable(val) for k, val in v.fields.items()},
                    "tlvs": [[t.tag, t.raw().hex()] for t in v.tlvs],
                    "hex": data.hex(),
                }
            )
    return {
        "about": "SMPP 3.4 PDUs encoded by independent implementations; "
        "regenerate with tests/tools/make_golden.py (see its docstring).",
        "libraries": libs,
        "divergent": DIVERGENT,
        "vectors": entries,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="fail if the stored file differs")
    args = ap.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT} is out of date: rerun {Path(__file__).name}")
        print(f"{OUT} is up to date")
        return
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
