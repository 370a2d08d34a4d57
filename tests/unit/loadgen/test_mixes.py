"""The pure parts of the load generator: weights, the message mix, the destination mix."""

from __future__ import annotations

import random
from collections import Counter

import phonenumbers
import pytest

from gateway.loadgen.destinations import DestinationMix, random_numbers
from gateway.loadgen.messages import (
    GSM7_PART,
    Kind,
    MessageMix,
    parse_mix,
    split_gsm7,
    split_ucs2,
)
from gateway.loadgen.weights import WeightedPick, parse_weights
from gateway.policy.concat import concat_part
from gateway.policy.pricing import quote
from gateway.policy.tariff import Tariff
from gateway.smpp import ESM_CLASS_UDHI, SubmitSm
from tests.integration.harness import TARIFF


def test_weights_parse_and_refuse() -> None:
    assert parse_weights("FR=5, GB=3,IN") == {"FR": 5, "GB": 3, "IN": 1}
    for bad, why in [("", "empty name"), ("FR=1,FR=2", "twice"), ("FR=x", "not an integer"),
                     ("FR=0", "positive"), ("=3", "empty name")]:  # fmt: skip
        with pytest.raises(ValueError, match=why):
            parse_weights(bad)


def test_weighted_pick_follows_the_weights() -> None:
    pick = WeightedPick(["a", "b", "c"], [6, 3, 1], random.Random(7))
    counts = Counter(pick() for _ in range(20_000))
    assert counts["a"] / 20_000 == pytest.approx(0.6, abs=0.02)
    assert counts["b"] / 20_000 == pytest.approx(0.3, abs=0.02)
    assert counts["c"] / 20_000 == pytest.approx(0.1, abs=0.02)
    with pytest.raises(ValueError, match="as many weights"):
        WeightedPick(["a"], [1, 2], random.Random(0))


def test_split_never_cuts_an_escape_or_a_surrogate_pair() -> None:
    content = b"a" * (GSM7_PART - 1) + b"\x1b\x65" + b"b" * 10  # ESC e = the euro sign
    parts = split_gsm7(content)
    assert parts[0] == b"a" * (GSM7_PART - 1)
    assert parts[1].startswith(b"\x1b\x65")
    assert b"".join(parts) == content
    text = "x" * 66 + "\U0001f600" + "y"
    parts = split_ucs2(text.encode("utf-16-be"))
    assert len(parts[0]) == 132  # the pair moved to the next part whole
    assert b"".join(parts).decode("utf-16-be") == text


def _submit(coding: int, esm_class: int, part: bytes) -> SubmitSm:
    return SubmitSm(
        sequence_number=1,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="33612345678",
        esm_class=esm_class,
        data_coding=coding,
        short_message=part,
    )


def test_every_part_is_one_segment_the_gateway_prices_and_reads() -> None:
    """The gateway's own pricing and concatenation rules accept what the mix sends."""
    tariff = Tariff.load(TARIFF)
    mix = MessageMix({k: 1 for k in Kind}, random.Random(3))
    seen: Counter[Kind] = Counter()
    references = set()
    for _ in range(200):
        message = mix()
        seen[message.kind] += 1
        for number, part in enumerate(message.parts, start=1):
            pdu = _submit(message.data_coding, message.esm_class, part)
            assert quote(pdu, tariff).segments == 1
            concat = concat_part(pdu)
            if message.kind in (Kind.LONG, Kind.LONG_UCS2):
                assert message.esm_class == ESM_CLASS_UDHI
                assert concat is not None
                assert (concat.total, concat.number) == (len(message.parts), number)
                references.add(concat.reference)
            else:
                assert concat is None and len(message.parts) == 1
    assert set(seen) == set(Kind)
    assert len(mix().parts) in (1, 2, 3)
    long = MessageMix({Kind.LONG: 1}, random.Random(0))()
    assert len(long.parts) == 3 and len(long.parts[0]) == 6 + GSM7_PART
    assert len(references) > 50  # a fresh reference per long message


def test_parse_mix_names_the_kinds() -> None:
    assert parse_mix({"GSM7": 2, "long-ucs2": 1}) == {Kind.GSM7: 2, Kind.LONG_UCS2: 1}
    with pytest.raises(ValueError, match="kinds: gsm7, ucs2, long, long-ucs2"):
        parse_mix({"gsm8": 1})


@pytest.mark.parametrize("region", ["FR", "GB", "IN", "DE", "US", "BR", "IT"])
def test_destinations_are_valid_mobiles_of_their_country(region: str) -> None:
    numbers = random_numbers(region, 300, random.Random(11))
    assert len(numbers) == len(set(numbers)) >= 250
    tariff = Tariff.load(TARIFF)
    for number in numbers:
        parsed = phonenumbers.parse("+" + number)
        assert phonenumbers.is_valid_number(parsed)
        assert phonenumbers.region_code_for_number(parsed) == region
        assert phonenumbers.number_type(parsed) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        assert tariff.rate_for(number) is not None


def test_destination_mix_weighs_countries_and_refuses_unknown_ones() -> None:
    mix = DestinationMix({"FR": 3, "GB": 1}, random.Random(5), pool_size=50)
    counts = Counter(phonenumbers.region_code_for_number(phonenumbers.parse("+" + mix()))
                     for _ in range(4000))  # fmt: skip
    assert counts["FR"] / 4000 == pytest.approx(0.75, abs=0.03)
    assert set(counts) == {"FR", "GB"}
    with pytest.raises(ValueError, match="no mobile numbers known for country 'XX'"):
        random_numbers("XX", 1, random.Random(0))
