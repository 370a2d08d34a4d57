"""gateway.smpp codec against independent implementations, byte for byte, and against bad input.

The golden PDUs in tests/golden/pdus.json were encoded by python-smpplib and by the npm
``smpp`` package (see tests/tools/make_golden.py); the expected fields beside them are the
inputs those libraries were given. Nothing expected here comes from our own encoder.
"""

from __future__ import annotations

import json
import pprint
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from gateway.smpp import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    PduError,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    UnsuccessSme,
    decode,
    encode,
    error_answer,
)

S = CommandStatus
GOLDEN_FILE = Path(__file__).resolve().parents[2] / "golden" / "pdus.json"

#: SMPP command names (as the golden file spells them) -> our classes.
CLASSES: dict[str, type[Pdu]] = {
    "generic_nack": GenericNack,
    "bind_receiver": BindReceiver,
    "bind_receiver_resp": BindReceiverResp,
    "bind_transmitter": BindTransmitter,
    "bind_transmitter_resp": BindTransmitterResp,
    "bind_transceiver": BindTransceiver,
    "bind_transceiver_resp": BindTransceiverResp,
    "submit_sm": SubmitSm,
    "submit_sm_resp": SubmitSmResp,
    "deliver_sm": DeliverSm,
    "deliver_sm_resp": DeliverSmResp,
    "enquire_link": EnquireLink,
    "enquire_link_resp": EnquireLinkResp,
    "unbind": Unbind,
    "unbind_resp": UnbindResp,
    "query_sm": QuerySm,
    "query_sm_resp": QuerySmResp,
    "data_sm": DataSm,
    "data_sm_resp": DataSmResp,
    "alert_notification": AlertNotification,
    "submit_multi": SubmitMulti,
    "submit_multi_resp": SubmitMultiResp,
    "cancel_sm": CancelSm,
    "cancel_sm_resp": CancelSmResp,
    "replace_sm": ReplaceSm,
    "replace_sm_resp": ReplaceSmResp,
    "outbind": Outbind,
}
#: What smpplib cannot encode at all (its golden vectors come from node-smpp alone).
NODE_ONLY = {
    "submit_multi",
    "submit_multi_resp",
    "cancel_sm",
    "cancel_sm_resp",
    "replace_sm",
    "replace_sm_resp",
    "outbind",
}


def _dest(d: dict[str, Any]) -> DestAddress:
    """node-smpp's dest_address item as ours."""
    if "dl_name" in d:
        return DestAddress(2, 0, 0, d["dl_name"])
    return DestAddress(1, d["dest_addr_ton"], d["dest_addr_npi"], d["destination_addr"])


def _unsuccess(u: dict[str, Any]) -> UnsuccessSme:
    return UnsuccessSme(
        u["dest_addr_ton"], u["dest_addr_npi"], u["destination_addr"], u["error_status_code"]
    )


#: Responses whose body an error may leave out (node-smpp does, smpplib does not).
OPTIONAL_BODY = {
    "bind_receiver_resp",
    "bind_transmitter_resp",
    "bind_transceiver_resp",
    "submit_sm_resp",
    "deliver_sm_resp",
    "data_sm_resp",
    "submit_multi_resp",
    "query_sm_resp",
}


@dataclass(frozen=True)
class Golden:
    name: str
    source: str
    command: str
    command_id: int
    command_status: int
    sequence_number: int
    fields: dict[str, Any]
    tlvs: tuple[Tlv, ...]
    data: bytes

    @property
    def id(self) -> str:
        return f"{self.name}[{self.source}]"

    def expected(self) -> Pdu:
        """The PDU the generator asked the library to encode, as our class."""
        fields = {
            k: bytes.fromhex(v["hex"]) if isinstance(v, dict) else v for k, v in self.fields.items()
        }
        if "dest_address" in fields:
            fields["dest_addresses"] = tuple(_dest(d) for d in fields.pop("dest_address"))
        if "unsuccess_sme" in fields:
            fields["unsuccess_smes"] = tuple(_unsuccess(u) for u in fields.pop("unsuccess_sme"))
        if self.command in OPTIONAL_BODY:
            fields["omit_body"] = len(self.data) == 16
        return CLASSES[self.command](
            sequence_number=self.sequence_number,
            command_status=self.command_status,
            tlvs=self.tlvs,
            **fields,
        )


def load_golden() -> list[Golden]:
    raw = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    return [
        Golden(
            name=v["name"],
            source=v["source"],
            command=v["command"],
            command_id=v["command_id"],
            command_status=v["command_status"],
            sequence_number=v["sequence_number"],
            fields=v["fields"],
            tlvs=tuple(Tlv(tag, bytes.fromhex(value)) for tag, value in v["tlvs"]),
            data=bytes.fromhex(v["hex"]),
        )
        for v in raw["vectors"]
    ]


GOLDEN = load_golden()
DIVERGENT: dict[str, str] = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))["divergent"]


def golden(name: str, source: str | None = None) -> Golden:
    for g in GOLDEN:
        if g.name == name and source in (None, g.source):
            return g
    raise LookupError(name)


def with_length(frame: bytes) -> bytes:
    """``frame`` with its command_length set to its real length."""
    return struct.pack(">I", len(frame)) + frame[4:]


def splice(frame: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the one occurrence of ``old`` in the body, fixing command_length."""
    assert frame.count(old, 16) == 1, f"{old!r} is not unique in the frame"
    return with_length(frame[:16] + frame[16:].replace(old, new))


def header(length: int, command_id: int, status: int, seq: int) -> bytes:
    return struct.pack(">IIII", length, command_id, status, seq)


# ---------------------------------------------------------------------------------------
# The golden file itself


def test_golden_file_covers_every_pdu_from_both_libraries() -> None:
    assert {g.command for g in GOLDEN} == set(CLASSES)
    assert {g.command for g in GOLDEN if g.source == "node"} == set(CLASSES)
    assert {g.command for g in GOLDEN if g.source == "smpplib"} == set(CLASSES) - NODE_ONLY
    # Every PDU class the codec declares has golden bytes.
    assert {cls for cls in CLASSES.values()} == set(PDU_CLASSES.values())
    assert len({g.id for g in GOLDEN}) == len(GOLDEN)


def test_the_two_libraries_agree_except_where_documented() -> None:
    pairs: dict[str, set[bytes]] = {}
    for g in GOLDEN:
        pairs.setdefault(g.name, set()).add(g.data)
    assert {name for name, encodings in pairs.items() if len(encodings) > 1} == set(DIVERGENT)


# ---------------------------------------------------------------------------------------
# Golden vectors: decode, re-encode, encode from fields


@pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.id)
def test_decode_golden_gives_the_fields_the_library_was_given(g: Golden) -> None:
    pdu = decode(g.data)
    assert type(pdu) is CLASSES[g.command]
    assert int(pdu.command_id) == g.command_id
    assert pdu.sequence_number == g.sequence_number
    assert pdu.command_status == g.command_status
    assert pdu.tlvs == g.tlvs
    assert pdu == g.expected()


@pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.id)
def test_encode_decode_golden_is_byte_exact(g: Golden) -> None:
    assert encode(decode(g.data)) == g.data


@pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.id)
def test_encode_of_the_same_fields_equals_golden(g: Golden) -> None:
    assert encode(g.expected()).hex() == g.data.hex()


@pytest.mark.parametrize(
    ("cls", "name", "source"),
    [
        # Left to itself, encode drops the body of an error response (SMPP 3.4 §4.1.2,
        # §4.4.2) like node-smpp, but keeps deliver_sm_resp's message_id like both libraries.
        (BindTransmitterResp, "bind_transmitter_resp_error", "node"),
        (BindTransceiverResp, "bind_transceiver_resp_error", "node"),
        (SubmitSmResp, "submit_sm_resp_error", "node"),
        (DeliverSmResp, "deliver_sm_resp_error", "smpplib"),
        (DeliverSmResp, "deliver_sm_resp", "smpplib"),
    ],
)
def test_default_body_form_of_responses(cls: type[Pdu], name: str, source: str) -> None:
    g = golden(name, source)
    pdu = cls(sequence_number=g.sequence_number, command_status=g.command_status)
    assert encode(pdu) == g.data


def test_both_forms_of_an_error_response_decode_to_equal_pdus() -> None:
    node, lib = golden("submit_sm_resp_error", "node"), golden("submit_sm_resp_error", "smpplib")
    assert len(node.data) == 16
    assert len(lib.data) == 17
    assert decode(node.data) == decode(lib.data)


def test_unknown_tlvs_are_kept_in_order() -> None:
    g = golden("submit_sm_vendor_tlv", "node")
    pdu = decode(g.data)
    assert [t.tag for t in pdu.tlvs] == [0x020C, 0x1400, 0x020E, 0x020F, 0x1501]
    assert pdu.tlv(0x1400) == bytes.fromhex("deadbeef")
    assert pdu.tlv(0x1501) == b""
    assert pdu.tlv(0x1502) is None
    assert encode(pdu) == g.data
    # Dropping the vendor TLVs changes the bytes: they really are carried, not re-invented.
    known = replace(pdu, tlvs=tuple(t for t in pdu.tlvs if t.tag < 0x1400))
    assert len(encode(known)) == len(g.data) - (4 + 4) - 4


def test_receipt_and_message_properties() -> None:
    receipt = decode(golden("deliver_sm_receipt").data)
    assert isinstance(receipt, DeliverSm)
    assert receipt.is_receipt
    assert receipt.tlv(Tag.RECEIPTED_MESSAGE_ID) == b"0a1b2c3d4e5f\x00"
    assert receipt.tlv(Tag.MESSAGE_STATE) == b"\x02"
    assert receipt.tlv(Tag.NETWORK_ERROR_CODE) == b"\x03\x00\x00"
    assert receipt.short_message.startswith(b"id:0a1b2c3d4e5f ")

    udh = decode(golden("submit_sm_udh").data)
    assert isinstance(udh, SubmitSm)
    assert udh.udhi
    assert udh.short_message[:6] == bytes.fromhex("0500032a0201")

    payload = decode(golden("submit_sm_message_payload").data)
    assert isinstance(payload, SubmitSm)
    assert payload.short_message == b""
    assert len(payload.tlv(Tag.MESSAGE_PAYLOAD) or b"") == 300

    gsm = decode(golden("submit_sm_gsm").data)
    assert isinstance(gsm, SubmitSm)
    assert gsm.short_message == b"Hello \x00home"  # a NUL octet inside short_message
    assert not gsm.udhi


# ---------------------------------------------------------------------------------------
# Truncation: every offset of a submit_sm, a deliver_sm and a bind


def layout(g: Golden) -> tuple[int, int, list[int]]:
    """(first short_message octet, first TLV octet, TLV boundaries), from the vector."""
    tlv_start = len(g.data) - sum(4 + len(t.value) for t in g.tlvs)
    sm = g.fields.get("short_message", {"hex": ""})
    sm_start = tlv_start - len(bytes.fromhex(sm["hex"]))
    bounds = [tlv_start]
    for t in g.tlvs:
        bounds.append(bounds[-1] + 4 + len(t.value))
    return sm_start, tlv_start, bounds


@pytest.mark.parametrize(
    "name", ["submit_sm_sar", "submit_sm_message_payload", "deliver_sm_receipt", "bind_receiver"]
)
def test_truncated_body_with_consistent_command_length(name: str) -> None:
    """The frame is cut and command_length says so: a body error, answered by the *_resp."""
    g = golden(name, "smpplib")
    sm_start, tlv_start, bounds = layout(g)
    seen: set[CommandStatus | None] = set()
    for cut in range(16, len(g.data)):
        frame = with_length(g.data[:cut])
        if cut in bounds:  # a TLV boundary: a shorter but valid PDU
            pdu = decode(frame)
            assert pdu.tlvs == g.tlvs[: bounds.index(cut)]
            seen.add(None)
            continue
        if cut < sm_start or "short_message" not in g.fields:
            want = S.ESME_RINVCMDLEN  # a mandatory field is missing
        elif cut < tlv_start:
            want = S.ESME_RINVMSGLEN  # sm_length runs past the end
        else:
            want = S.ESME_RINVOPTPARSTREAM  # a TLV is cut
        with pytest.raises(PduError) as info:
            decode(frame)
        err = info.value
        assert (err.status, err.command_id, err.sequence_number, err.fatal) == (
            want,
            g.command_id,
            g.sequence_number,
            False,
        ), f"cut at {cut}"
        answer = error_answer(err)
        assert type(answer) is CLASSES[g.command + "_resp"]
        assert (answer.sequence_number, answer.command_status) == (g.sequence_number, want)
        seen.add(want)
    if "short_message" in g.fields:
        assert S.ESME_RINVCMDLEN in seen
        assert S.ESME_RINVMSGLEN in seen or sm_start == tlv_start
        assert S.ESME_RINVOPTPARSTREAM in seen
        assert None in seen


@pytest.mark.parametrize("name", ["submit_sm_sar", "bind_transmitter", "deliver_sm_receipt"])
def test_frame_shorter_than_its_command_length(name: str) -> None:
    """command_length disagrees with the frame: framing is lost, answer generic_nack."""
    g = golden(name)
    for cut in range(16, len(g.data)):
        with pytest.raises(PduError) as info:
            decode(g.data[:cut])
        err = info.value
        assert (err.status, err.fatal) == (S.ESME_RINVCMDLEN, True)
        assert (err.command_id, err.sequence_number) == (g.command_id, g.sequence_number)
        answer = error_answer(err)
        assert type(answer) is GenericNack
        assert (answer.sequence_number, answer.command_status) == (
            g.sequence_number,
            S.ESME_RINVCMDLEN,
        )
    for cut in range(16):
        with pytest.raises(PduError) as info:
            decode(g.data[:cut])
        assert (info.value.status, info.value.fatal, info.value.command_id) == (
            S.ESME_RINVCMDLEN,
            True,
            None,
        )
        assert type(error_answer(info.value)) is GenericNack
    # Longer than command_length (trailing octets) is just as wrong.
    with pytest.raises(PduError) as info:
        decode(g.data + b"\x00")
    assert (info.value.status, info.value.fatal) == (S.ESME_RINVCMDLEN, True)


# ---------------------------------------------------------------------------------------
# Malformed bodies, table-driven


@dataclass(frozen=True)
class Bad:
    id: str
    frame: bytes
    status: CommandStatus
    answer: type[Pdu]


def _bad_cases() -> list[Bad]:
    bind = golden("bind_transmitter").data
    gsm = golden("submit_sm_gsm").data
    ucs2 = golden("submit_sm_ucs2").data
    sar = golden("submit_sm_sar").data
    receipt = golden("deliver_sm_receipt").data
    bind_resp = golden("bind_transmitter_resp").data
    sm_resp = golden("submit_sm_resp").data
    enquire = golden("enquire_link").data
    g = golden("submit_sm_gsm")
    sm_start, _, _ = layout(g)
    gsm_sm_len = gsm[sm_start - 1]
    assert gsm_sm_len == len(b"Hello \x00home")
    rc_start, _, _ = layout(golden("deliver_sm_receipt"))
    assert len(receipt) - rc_start < 254
    b = Bad
    return [
        # Over-long C-strings (limits include the NUL: SMPP 3.4 §5.2).
        b(
            "system_id",
            splice(bind, b"smpp-demo\0", b"x" * 16 + b"\0"),
            S.ESME_RINVSYSID,
            BindTransmitterResp,
        ),
        b(
            "system_id_no_nul",
            with_length(bind[:16] + b"x" * 40),
            S.ESME_RINVSYSID,
            BindTransmitterResp,
        ),
        b(
            "password",
            splice(bind, b"secret\0", b"p" * 9 + b"\0"),
            S.ESME_RINVPASWD,
            BindTransmitterResp,
        ),
        b(
            "system_type",
            splice(bind, b"VMA\0", b"t" * 13 + b"\0"),
            S.ESME_RINVSYSTYP,
            BindTransmitterResp,
        ),
        b("service_type", splice(ucs2, b"CMT\0", b"CMTXYZ\0"), S.ESME_RINVSERTYP, SubmitSmResp),
        b(
            "source_addr",
            splice(gsm, b"SMPPGW\0", b"1" * 21 + b"\0"),
            S.ESME_RINVSRCADR,
            SubmitSmResp,
        ),
        b(
            "destination_addr",
            splice(gsm, b"33612345678\0", b"3" * 21 + b"\0"),
            S.ESME_RINVDSTADR,
            SubmitSmResp,
        ),
        b(
            "schedule",
            splice(ucs2, b"250101120000000+\0", b"2" * 17 + b"\0"),
            S.ESME_RINVSCHED,
            SubmitSmResp,
        ),
        b(
            "validity",
            splice(ucs2, b"250102120000004+\0", b"2" * 17 + b"\0"),
            S.ESME_RINVEXPIRY,
            SubmitSmResp,
        ),
        b(
            "deliver_sm_destination",
            splice(receipt, b"SMPPGW\0", b"S" * 21 + b"\0"),
            S.ESME_RINVDSTADR,
            DeliverSmResp,
        ),
        # A response gets no response: a bad one is answered with generic_nack.
        b(
            "bind_resp_system_id",
            splice(bind_resp, b"smppgw\0", b"s" * 16 + b"\0"),
            S.ESME_RINVSYSID,
            GenericNack,
        ),
        b(
            "message_id",
            splice(sm_resp, b"0a1b2c3d4e5f\0", b"f" * 65 + b"\0"),
            S.ESME_RINVMSGID,
            GenericNack,
        ),
        # sm_length over 254, or past the end of the PDU.
        b(
            "sm_length_255",
            with_length(gsm[: sm_start - 1] + b"\xff" + b"x" * 255),
            S.ESME_RINVMSGLEN,
            SubmitSmResp,
        ),
        b(
            "sm_length_past_end",
            with_length(gsm[: sm_start - 1] + bytes([gsm_sm_len + 1]) + gsm[sm_start:]),
            S.ESME_RINVMSGLEN,
            SubmitSmResp,
        ),
        b(
            "sm_length_past_end_deliver",
            with_length(receipt[: rc_start - 1] + b"\xfe" + receipt[rc_start:]),
            S.ESME_RINVMSGLEN,
            DeliverSmResp,
        ),
        # Broken TLV area.
        b("tlv_1_stray_octet", with_length(gsm + b"\x02"), S.ESME_RINVOPTPARSTREAM, SubmitSmResp),
        b(
            "tlv_3_stray_octets",
            with_length(gsm + b"\x02\x0c\x00"),
            S.ESME_RINVOPTPARSTREAM,
            SubmitSmResp,
        ),
        b(
            "tlv_runs_past_end",
            with_length(gsm + b"\x14\x00\x00\x05abcd"),
            S.ESME_RINVOPTPARSTREAM,
            SubmitSmResp,
        ),
        b(
            "tlv_in_enquire_link",
            with_length(enquire + b"\x00"),
            S.ESME_RINVOPTPARSTREAM,
            EnquireLinkResp,
        ),
        b(
            "tlv_in_bind",
            with_length(bind + b"\x02\x10\x00"),
            S.ESME_RINVOPTPARSTREAM,
            BindTransmitterResp,
        ),
        # A TLV of fixed size with the wrong length.
        b(
            "sar_total_segments_len2",
            splice(sar, b"\x02\x0e\x00\x01\x03", b"\x02\x0e\x00\x02\x00\x03"),
            S.ESME_RINVPARLEN,
            SubmitSmResp,
        ),
        b(
            "sar_msg_ref_num_len1",
            splice(sar, b"\x02\x0c\x00\x02\x12\x34", b"\x02\x0c\x00\x01\x12"),
            S.ESME_RINVPARLEN,
            SubmitSmResp,
        ),
        b(
            "message_state_len0",
            splice(receipt, b"\x04\x27\x00\x01\x02", b"\x04\x27\x00\x00"),
            S.ESME_RINVPARLEN,
            DeliverSmResp,
        ),
        b(
            "network_error_code_len2",
            splice(receipt, b"\x04\x23\x00\x03\x03\x00\x00", b"\x04\x23\x00\x02\x03\x00"),
            S.ESME_RINVPARLEN,
            DeliverSmResp,
        ),
        b(
            "sc_interface_version_len2",
            splice(bind_resp, b"\x02\x10\x00\x01\x34", b"\x02\x10\x00\x02\x00\x34"),
            S.ESME_RINVPARLEN,
            GenericNack,
        ),
        # Unknown or unsupported command_id, request or response: generic_nack.
        b("unknown_request", header(16, 0x00000099, 0, 5), S.ESME_RINVCMDID, GenericNack),
        # The other SMPP 3.4 operations decode: a header alone is a truncated body.
        b("query_sm", header(16, CommandId.QUERY_SM, 0, 5), S.ESME_RINVCMDLEN, QuerySmResp),
        b(
            "submit_multi",
            header(16, CommandId.SUBMIT_MULTI, 0, 5),
            S.ESME_RINVCMDLEN,
            SubmitMultiResp,
        ),
        b("data_sm", header(16, CommandId.DATA_SM, 0, 5), S.ESME_RINVCMDLEN, DataSmResp),
        # outbind has no response: its errors are generic_nack.
        b("outbind", header(16, CommandId.OUTBIND, 0, 5), S.ESME_RINVCMDLEN, GenericNack),
        b(
            "submit_multi_dest_flag_3",
            header(22, CommandId.SUBMIT_MULTI, 0, 5) + b"\0\0\0\0\x01\x03",
            S.ESME_RINVDESTFLAG,
            SubmitMultiResp,
        ),
        b(
            "submit_multi_255_dests",
            header(21, CommandId.SUBMIT_MULTI, 0, 5) + b"\0\0\0\0\xff",
            S.ESME_RINVNUMDESTS,
            SubmitMultiResp,
        ),
        b(
            "submit_multi_dl_name_too_long",
            header(43, CommandId.SUBMIT_MULTI, 0, 5) + b"\0\0\0\0\x01\x02" + b"L" * 21,
            S.ESME_RINVDLNAME,
            SubmitMultiResp,
        ),
        b("unknown_request_0x104", header(16, 0x00000104, 0, 5), S.ESME_RINVCMDID, GenericNack),
        b("unknown_response", header(16, 0x80000099, 0, 5), S.ESME_RINVCMDID, GenericNack),
        b("all_ones", header(16, 0xFFFFFFFF, 0, 5), S.ESME_RINVCMDID, GenericNack),
    ]


BAD = _bad_cases()


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_malformed_body(case: Bad) -> None:
    command_id, seq = struct.unpack_from(">I4xI", case.frame, 4)
    with pytest.raises(PduError) as info:
        decode(case.frame)
    err = info.value
    assert err.status == case.status
    assert isinstance(err.status, CommandStatus)
    assert (err.command_id, err.sequence_number, err.fatal) == (command_id, seq, False)
    answer = error_answer(err)
    assert type(answer) is case.answer
    assert (answer.sequence_number, answer.command_status) == (seq, case.status)
    # The answer goes on the wire as the header alone (deliver_sm_resp: plus its empty
    # message_id), with the request's command_id | 0x80000000 unless it is a generic_nack.
    answer_id = 0x80000000 if case.answer is GenericNack else command_id | 0x80000000
    # submit_multi_resp and query_sm_resp keep their (empty) fields too: smpplib reads them.
    body = {DeliverSmResp: b"\0", SubmitMultiResp: b"\0\0", QuerySmResp: b"\0\0\0\0"}.get(
        case.answer, b""
    )
    assert encode(answer) == header(16 + len(body), answer_id, case.status, seq) + body


def test_field_limits_are_inclusive() -> None:
    """The longest legal value of each C-string decodes (the golden binds are at the limit)."""
    trx = decode(golden("bind_transceiver_max_lengths").data)
    assert isinstance(trx, BindTransceiver)
    assert (len(trx.system_id), len(trx.password), len(trx.system_type)) == (15, 8, 12)
    assert len(trx.address_range) == 40
    gsm = golden("submit_sm_gsm").data
    longest = {
        b"SMPPGW\0": b"1" * 20 + b"\0",
        b"33612345678\0": b"3" * 20 + b"\0",
    }
    for old, new in longest.items():
        pdu = decode(splice(gsm, old, new))
        assert isinstance(pdu, SubmitSm)
        assert new[:-1].decode() in (pdu.source_addr, pdu.destination_addr)
    sm_start, _, _ = layout(golden("submit_sm_gsm"))
    full = decode(with_length(gsm[: sm_start - 1] + b"\xfe" + b"x" * 254))
    assert isinstance(full, SubmitSm)
    assert full.short_message == b"x" * 254


# ---------------------------------------------------------------------------------------
# Secrets


@pytest.mark.parametrize("cls", [BindTransmitter, BindReceiver, BindTransceiver])
def test_repr_of_a_bind_never_shows_the_password(
    cls: type[BindTransmitter | BindReceiver | BindTransceiver],
) -> None:
    pdu = cls(sequence_number=1, system_id="smpp-demo", password="Zq9#xW1!")
    shown = [repr(pdu), str(pdu), f"{pdu}", f"{pdu!r}", repr([pdu]), repr((pdu, 1))]
    shown.append(pprint.pformat(pdu))
    shown.append(pprint.pformat({"pdu": pdu, "many": [pdu] * 3}, width=20))
    for text in shown:
        assert "Zq9#xW1!" not in text
        assert "Zq9" not in text
        assert "smpp-demo" in text
    decoded = decode(golden("bind_transmitter").data)
    assert "secret" not in repr(decoded)
    assert "smpp-demo" in repr(decoded)


def test_bind_repr_is_not_fooled_by_replace() -> None:
    pdu = BindTransceiver(sequence_number=1, system_id="a", password="")
    assert "hunter2" not in repr(replace(pdu, password="hunter2"))


def test_encoded_submit_sm_puts_the_same_bytes_on_the_wire() -> None:
    from gateway.smpp import EncodedSubmitSm, SubmitSm, Tlv, decode, encode, with_sequence

    original = SubmitSm(
        sequence_number=9,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="33612345678",
        short_message=b"stored",
        tlvs=(Tlv(0x1400, b"vendor"),),
    )
    stored = with_sequence(EncodedSubmitSm(sequence_number=0, encoded=original.body()), 9)
    assert encode(stored) == encode(original)
    assert decode(encode(stored)) == original
