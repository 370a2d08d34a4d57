"""delivery.expiry: SMPP absolute and relative validity periods, capped by the maximum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.delivery.expiry import expires_at, stored_submit_fields, validity_end
from gateway.smpp import HEADER_SIZE, SubmitSm, encode

AT = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("validity", "end"),
    [
        ("261203103000032+", datetime(2026, 12, 3, 2, 30, tzinfo=UTC)),  # UTC+8
        ("261203103000004-", datetime(2026, 12, 3, 11, 30, tzinfo=UTC)),  # UTC-1
        ("261203103000500+", datetime(2026, 12, 3, 10, 30, 0, 500_000, tzinfo=UTC)),
        ("000001000000000R", AT + timedelta(days=1)),
        ("000000000130000R", AT + timedelta(seconds=90)),
        ("010100000000000R", AT + timedelta(days=395)),
        ("", None),
        ("26120310300003+", None),  # 15 characters
        ("261303103000000+", None),  # month 13
        ("261203103000049+", None),  # more than 12 hours off UTC
        ("26120310300000 X", None),
    ],
)
def test_validity_end(validity: str, end: datetime | None) -> None:
    assert validity_end(validity, AT) == end


def test_the_cap_applies_to_every_message() -> None:
    assert expires_at("", AT, 60) == AT + timedelta(seconds=60)
    assert expires_at("000000000010000R", AT, 60) == AT + timedelta(seconds=10)
    assert expires_at("000001000000000R", AT, 60) == AT + timedelta(seconds=60)
    assert expires_at("garbage", AT, 60) == AT + timedelta(seconds=60)


@given(
    service=st.sampled_from(["", "CMT", "marketing"]),
    source=st.text(alphabet="0123456789AZ", max_size=20),
    destination=st.text(alphabet="0123456789", max_size=20),
    ton=st.integers(0, 6),
    flags=st.integers(0, 3),
    schedule=st.sampled_from(["", "000000000010000R"]),
    validity=st.sampled_from(["", "000000000001000R", "261203103000032+"]),
)
def test_stored_submit_fields_read_what_decode_reads(
    service: str, source: str, destination: str, ton: int, flags: int, schedule: str, validity: str
) -> None:
    pdu = SubmitSm(
        sequence_number=1,
        service_type=service,
        source_addr_ton=ton,
        source_addr_npi=flags,
        source_addr=source,
        dest_addr_ton=ton,
        dest_addr_npi=flags,
        destination_addr=destination,
        esm_class=flags,
        protocol_id=flags,
        priority_flag=flags,
        schedule_delivery_time=schedule,
        validity_period=validity,
        short_message=b"\\x00hi\\x00",
    )
    body = encode(pdu)[HEADER_SIZE:]
    assert stored_submit_fields(body) == (service, validity)


def test_a_truncated_body_has_no_fields() -> None:
    assert stored_submit_fields(b"CMT\\x00\\x01") == ("", "")
