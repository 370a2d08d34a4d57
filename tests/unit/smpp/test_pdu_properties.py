"""Properties of the codec (hypothesis): round trips over the field domains, and robustness.

Field domains follow SMPP 3.4 §5.2 (C-string limits include the NUL) and are written out
here rather than read from gateway.smpp, so a wrong limit in the codec shows up.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.smpp.pdus as pdu_module
from gateway.smpp import (
    RESPONSE_FOR,
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
    PduReader,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    UnbindResp,
    UnsuccessSme,
    decode,
    encode,
    error_answer,
)

SETTINGS = settings(max_examples=150, deadline=None)

#: TLVs of fixed size (SMPP 3.4 §5.3.2) that the codec checks.
FIXED_TLV = {
    0x0204: 2,  # user_message_reference
    0x020A: 2,  # source_port
    0x020B: 2,  # destination_port
    0x020C: 2,  # sar_msg_ref_num
    0x020E: 1,  # sar_total_segments
    0x020F: 1,  # sar_segment_seqnum
    0x0210: 1,  # sc_interface_version
    0x0423: 3,  # network_error_code
    0x0427: 1,  # message_state
}

u8 = st.integers(min_value=0, max_value=0xFF)
u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


def cstring(size: int) -> st.SearchStrategy[str]:
    """A C-octet string field of ``size`` octets NUL included: latin-1, no NUL inside."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=size - 1)


fixed_tlv = st.sampled_from(sorted(FIXED_TLV)).flatmap(
    lambda tag: st.binary(min_size=FIXED_TLV[tag], max_size=FIXED_TLV[tag]).map(
        lambda v: Tlv(tag, v)
    )
)
variable_tlv = st.builds(
    Tlv,
    tag=st.sampled_from([0x0005, 0x001E, 0x0424, 0x1400, 0x1501, 0xFFFF]),
    value=st.binary(max_size=300),
)
any_tlv = st.builds(
    Tlv,
    tag=st.integers(min_value=0, max_value=0xFFFF).filter(lambda t: t not in FIXED_TLV),
    value=st.binary(max_size=40),
)
tlvs = st.lists(st.one_of(fixed_tlv, variable_tlv, any_tlv), max_size=5).map(tuple)
omit_body = st.sampled_from([None, True, False])


def common() -> dict[str, st.SearchStrategy[object]]:
    return {"sequence_number": u32, "command_status": u32, "tlvs": tlvs}


def bind(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(
        cls,
        system_id=cstring(16),
        password=cstring(9),
        system_type=cstring(13),
        interface_version=u8,
        addr_ton=u8,
        addr_npi=u8,
        address_range=cstring(41),
        **common(),
    )


def short_message(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(
        cls,
        service_type=cstring(6),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(21),
        dest_addr_ton=u8,
        dest_addr_npi=u8,
        destination_addr=cstring(21),
        esm_class=u8,
        protocol_id=u8,
        priority_flag=u8,
        schedule_delivery_time=cstring(17),
        validity_period=cstring(17),
        registered_delivery=u8,
        replace_if_present_flag=u8,
        data_coding=u8,
        sm_default_msg_id=u8,
        short_message=st.binary(max_size=254),
        **common(),
    )


def bind_resp(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(cls, system_id=cstring(16), omit_body=omit_body, **common())


def message_id_resp(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(cls, message_id=cstring(65), omit_body=omit_body, **common())


def header_only(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(cls, **common())


dest_address = st.one_of(
    st.builds(
        DestAddress, dest_flag=st.just(1), dest_addr_ton=u8, dest_addr_npi=u8, address=cstring(21)
    ),
    st.builds(DestAddress, dest_flag=st.just(2), address=cstring(21)),
)
unsuccess_sme = st.builds(
    UnsuccessSme, dest_addr_ton=u8, dest_addr_npi=u8, address=cstring(21), error_status_code=u32
)


def submit_multi() -> st.SearchStrategy[Pdu]:
    return st.builds(
        SubmitMulti,
        service_type=cstring(6),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(21),
        dest_addresses=st.lists(dest_address, max_size=12).map(tuple),
        esm_class=u8,
        protocol_id=u8,
        priority_flag=u8,
        schedule_delivery_time=cstring(17),
        validity_period=cstring(17),
        registered_delivery=u8,
        replace_if_present_flag=u8,
        data_coding=u8,
        sm_default_msg_id=u8,
        short_message=st.binary(max_size=254),
        **common(),
    )


OTHER_OPERATIONS: dict[type[Pdu], st.SearchStrategy[Pdu]] = {
    SubmitMulti: submit_multi(),
    SubmitMultiResp: st.builds(
        SubmitMultiResp,
        message_id=cstring(65),
        unsuccess_smes=st.lists(unsuccess_sme, max_size=8).map(tuple),
        omit_body=omit_body,
        **common(),
    ),
    DataSm: st.builds(
        DataSm,
        service_type=cstring(6),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(65),
        dest_addr_ton=u8,
        dest_addr_npi=u8,
        destination_addr=cstring(65),
        esm_class=u8,
        registered_delivery=u8,
        data_coding=u8,
        **common(),
    ),
    DataSmResp: message_id_resp(DataSmResp),
    QuerySm: st.builds(
        QuerySm,
        message_id=cstring(65),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(21),
        **common(),
    ),
    QuerySmResp: st.builds(
        QuerySmResp,
        message_id=cstring(65),
        final_date=cstring(17),
        message_state=u8,
        error_code=u8,
        omit_body=omit_body,
        **common(),
    ),
    CancelSm: st.builds(
        CancelSm,
        service_type=cstring(6),
        message_id=cstring(65),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(21),
        dest_addr_ton=u8,
        dest_addr_npi=u8,
        destination_addr=cstring(21),
        **common(),
    ),
    CancelSmResp: header_only(CancelSmResp),
    ReplaceSm: st.builds(
        ReplaceSm,
        message_id=cstring(65),
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(21),
        schedule_delivery_time=cstring(17),
        validity_period=cstring(17),
        registered_delivery=u8,
        sm_default_msg_id=u8,
        short_message=st.binary(max_size=254),
        **common(),
    ),
    ReplaceSmResp: header_only(ReplaceSmResp),
    Outbind: st.builds(Outbind, system_id=cstring(16), password=cstring(9), **common()),
    AlertNotification: st.builds(
        AlertNotification,
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstring(65),
        esme_addr_ton=u8,
        esme_addr_npi=u8,
        esme_addr=cstring(65),
        **common(),
    ),
}

STRATEGIES: dict[type[Pdu], st.SearchStrategy[Pdu]] = {
    **OTHER_OPERATIONS,
    GenericNack: header_only(GenericNack),
    EnquireLink: header_only(EnquireLink),
    EnquireLinkResp: header_only(EnquireLinkResp),
    Unbind: header_only(Unbind),
    UnbindResp: header_only(UnbindResp),
    BindTransmitter: bind(BindTransmitter),
    BindReceiver: bind(BindReceiver),
    BindTransceiver: bind(BindTransceiver),
    BindTransmitterResp: bind_resp(BindTransmitterResp),
    BindReceiverResp: bind_resp(BindReceiverResp),
    BindTransceiverResp: bind_resp(BindTransceiverResp),
    SubmitSm: short_message(SubmitSm),
    DeliverSm: short_message(DeliverSm),
    SubmitSmResp: message_id_resp(SubmitSmResp),
    DeliverSmResp: message_id_resp(DeliverSmResp),
}
any_pdu = st.one_of(*STRATEGIES.values())


def test_every_pdu_class_has_a_strategy() -> None:
    concrete = {
        obj
        for obj in vars(pdu_module).values()
        if isinstance(obj, type)
        and issubclass(obj, Pdu)
        and getattr(obj, "command_id", None) is not None
        # Not a wire type: a submit_sm kept encoded, which decodes as SubmitSm (checked
        # by test_encoded_submit_sm_puts_the_same_bytes_on_the_wire).
        and obj is not pdu_module.EncodedSubmitSm
    }
    assert concrete == set(STRATEGIES)


@SETTINGS
@given(any_pdu)
def test_decode_encode_round_trip(p: Pdu) -> None:
    frame = encode(p)
    assert struct.unpack_from(">IIII", frame) == (
        len(frame),
        p.command_id,
        p.command_status,
        p.sequence_number,
    )
    back = decode(frame)
    assert type(back) is type(p)
    assert back == p
    assert encode(back) == frame


@SETTINGS
@given(any_pdu, st.lists(st.integers(min_value=1, max_value=2000), max_size=6))
def test_reader_frames_any_encoded_pdu(p: Pdu, cuts: list[int]) -> None:
    frame = encode(p)
    stream = frame + frame
    reader = PduReader(max_size=len(frame))
    got: list[bytes] = []
    start = 0
    for cut in [*sorted(c for c in cuts if c < len(stream)), len(stream)]:
        reader.feed(stream[start:cut])
        got.extend(reader.frames())
        start = cut
    assert got == [frame, frame]


# ---------------------------------------------------------------------------------------
# Robustness: nothing but PduError, whatever arrives


def check_error(err: PduError, frame: bytes, *, fatal: bool) -> None:
    """A clean rejection: a known status, and an answer that can be sent."""
    assert err.fatal is fatal
    if fatal:  # only the framing checks are fatal
        assert err.status == CommandStatus.ESME_RINVCMDLEN
    assert isinstance(err.status, CommandStatus)
    assert err.status != CommandStatus.ESME_ROK
    answer = error_answer(err)
    assert isinstance(answer, Pdu)
    assert answer.command_status == err.status
    encode(answer)  # the answer can always be sent
    if len(frame) >= 16 and not err.fatal:
        command_id, seq = struct.unpack_from(">I4xI", frame, 4)
        assert (err.command_id, err.sequence_number) == (command_id, seq)
        assert answer.sequence_number == seq
        assert type(answer) in (GenericNack, RESPONSE_FOR.get(command_id))


@SETTINGS
@given(st.binary(max_size=600), st.lists(st.integers(min_value=1, max_value=600), max_size=8))
def test_arbitrary_bytes_raise_only_pdu_error(data: bytes, cuts: list[int]) -> None:
    reader = PduReader(max_size=256)
    start = 0
    try:
        for cut in [*sorted(c for c in cuts if c < len(data)), len(data)]:
            reader.feed(data[start:cut])
            start = cut
            for frame in reader.frames():
                try:
                    decode(frame)
                except PduError as e:
                    check_error(e, frame, fatal=False)  # the reader checked the length
    except PduError as e:
        check_error(e, b"", fatal=True)
    try:
        decode(data)
    except PduError as e:
        check_error(e, data, fatal=e.fatal)


command_ids = st.one_of(
    st.sampled_from(list(CommandId)),
    u32,
)


def frame_of(command_id: int, status: int, seq: int, body: bytes) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def decodes_exactly_or_fails_cleanly(frame: bytes) -> None:
    try:
        p = decode(frame)
    except PduError as e:
        check_error(e, frame, fatal=False)
    else:
        # Anything accepted re-encodes to the very same octets.
        assert encode(p) == frame


@SETTINGS
@given(command_ids, u32, u32, st.binary(max_size=300))
def test_valid_header_random_body(command_id: int, status: int, seq: int, body: bytes) -> None:
    decodes_exactly_or_fails_cleanly(frame_of(command_id, status, seq, body))


GOLDEN_FILE = Path(__file__).resolve().parents[2] / "golden" / "pdus.json"
GOLDEN = [
    bytes.fromhex(v["hex"]) for v in json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))["vectors"]
]


@st.composite
def mutated_golden(draw: st.DrawFn) -> bytes:
    """A golden frame with a few octets changed, inserted or deleted, length fixed up."""
    body = bytearray(draw(st.sampled_from(GOLDEN))[16:])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        pos = draw(st.integers(min_value=0, max_value=len(body)))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "insert" or not body:
            body[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        elif op == "set":
            body[min(pos, len(body) - 1)] = draw(st.sampled_from([0, 1, 0x7F, 0xFE, 0xFF]))
        else:
            del body[pos : pos + draw(st.integers(min_value=1, max_value=3))]
    head = draw(st.sampled_from(GOLDEN))[:16]
    return struct.pack(">I", 16 + len(body)) + head[4:] + bytes(body)


@SETTINGS
@given(mutated_golden())
def test_mutated_golden_frames(frame: bytes) -> None:
    decodes_exactly_or_fails_cleanly(frame)
