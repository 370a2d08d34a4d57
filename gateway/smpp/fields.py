"""The field spec PDUs are declared in, and its compiler.

A PDU class lists its mandatory body fields once, in wire order, as dataclass fields whose
defaults come from the helpers below (``cstring``, ``u8``, ``sized_octets``): each names
the field's kind, its maximum length and the command_status that answers a value out of
bounds. ``compile_spec`` turns that list, once at import, into the two functions the
codec runs for every PDU:

- ``decode``: a tuple of prebound ``pull_*`` steps (consecutive one-octet fields are read
  as one step); the values fill the instance's slots directly, without going through the
  frozen dataclass ``__init__`` (its ``object.__setattr__`` per field cost more than
  reading the fields);
- ``encode``: one ``%`` template over the field values, taken with a single
  ``attrgetter``, encoded to Latin-1 in one call (C-octet strings are Latin-1 ``str``, so
  every octet maps to one code point and back).

Optional bodies: a response whose body may be left out (an error bind_resp or
submit_sm_resp, SMPP 3.4 §4.1.2 / §4.4.2) declares an ``optional_body()`` field,
``omit_body``. ``decode`` records there which form it saw (True: no body at all) so
``encode(decode(b)) == b`` holds for both; None lets ``encode`` choose (leave the body out
on error when ``omitted_on_error``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter
from typing import Any

from gateway.smpp.buffer import (
    pull_cstring,
    pull_dest_addresses,
    pull_sized_octets,
    pull_tlvs,
    pull_u8s,
    pull_unsuccess_smes,
    push_dest_addresses,
    push_tlvs,
    push_unsuccess_smes,
)
from gateway.smpp.constants import HEADER_SIZE, MAX_SHORT_MESSAGE, CommandStatus

#: dataclass field metadata keys.
_FIELD = "smpp.field"
_OPTIONAL = "smpp.optional_body"
#: Fields every PDU has outside its body spec, set by the codec itself.
_HEADER_FIELDS = ("sequence_number", "command_status")
_CMDLEN = CommandStatus.ESME_RINVCMDLEN
S_DST = CommandStatus.ESME_RINVDSTADR


class Kind(Enum):
    """How a mandatory field sits on the wire (SMPP 3.4 §3.1)."""

    U8 = "one-octet integer"
    CSTRING = "C-octet string"
    #: A one-octet length, then that many octets (sm_length + short_message).
    SIZED_OCTETS = "one-octet length and octets"
    #: The whole body kept encoded (a stored submit_sm), written as it is, never decoded.
    RAW_BODY = "encoded body"
    #: number_of_dests, then that many dest_address (submit_multi, §4.5.1).
    DEST_ADDRESSES = "counted dest_address list"
    #: no_unsuccess, then that many unsuccess_sme (submit_multi_resp, §4.5.2).
    UNSUCCESS_SMES = "counted unsuccess_sme list"


#: The counted lists: their pull and push functions.
_LISTS: dict[Kind, tuple[Callable[..., tuple[Any, int]], Callable[[Any, int], bytes]]] = {
    Kind.DEST_ADDRESSES: (pull_dest_addresses, push_dest_addresses),
    Kind.UNSUCCESS_SMES: (pull_unsuccess_smes, push_unsuccess_smes),
}


#: How each kind is written in an encode template.
_FORMAT = {Kind.U8: "%c", Kind.CSTRING: "%s\x00", Kind.SIZED_OCTETS: "%c%s"}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One mandatory field: its name, kind, maximum length and status when out of bounds.

    ``max_length`` counts the NUL of a C-octet string, and the content octets (not the
    length octet) of sized octets; for a counted list it is the most items, and
    ``item_length`` / ``item_status`` bound each item's address.
    """

    name: str
    kind: Kind
    max_length: int = 1
    status: CommandStatus = CommandStatus.ESME_RINVCMDLEN
    item_length: int = 0
    item_status: CommandStatus = CommandStatus.ESME_RINVCMDLEN


def u8(default: int = 0) -> Any:
    """A one-octet integer field."""
    return dataclasses.field(default=default, metadata={_FIELD: (Kind.U8, 1, _CMDLEN)})


def cstring(max_length: int, status: CommandStatus) -> Any:
    """A C-octet string of at most ``max_length`` octets, NUL included (default "")."""
    return dataclasses.field(default="", metadata={_FIELD: (Kind.CSTRING, max_length, status)})


def sized_octets(
    max_length: int = MAX_SHORT_MESSAGE, status: CommandStatus = CommandStatus.ESME_RINVMSGLEN
) -> Any:
    """A one-octet length and up to ``max_length`` octets (default b"")."""
    return dataclasses.field(
        default=b"", metadata={_FIELD: (Kind.SIZED_OCTETS, max_length, status)}
    )


def dest_addresses() -> Any:
    """submit_multi's number_of_dests and dest_address list: at most 254 (§4.5.1), each
    SME address at most 21 octets (ESME_RINVDSTADR), each list name 21 (ESME_RINVDLNAME)."""
    meta = (Kind.DEST_ADDRESSES, 254, CommandStatus.ESME_RINVNUMDESTS, 21, S_DST)
    return dataclasses.field(default=(), metadata={_FIELD: meta})


def unsuccess_smes() -> Any:
    """submit_multi_resp's no_unsuccess and unsuccess_sme list (§4.5.2)."""
    meta = (Kind.UNSUCCESS_SMES, 255, _CMDLEN, 21, S_DST)
    return dataclasses.field(default=(), metadata={_FIELD: meta})


def raw_body() -> Any:
    """The whole body, already encoded (default b"")."""
    return dataclasses.field(default=b"", metadata={_FIELD: (Kind.RAW_BODY, 0, _CMDLEN)})


def optional_body(*, omitted_on_error: bool = True) -> Any:
    """The ``omit_body`` choice of a response whose body may be left out (see module doc).

    Not compared: both forms of such a response mean the same.
    """
    return dataclasses.field(
        default=None, compare=False, repr=False, metadata={_OPTIONAL: omitted_on_error}
    )


#: (frame, command_length, command_status, sequence_number) -> PDU
Decoder = Callable[[bytes, int, int, int], Any]
#: PDU -> body octets (mandatory fields and TLVs)
Encoder = Callable[[Any], bytes]


@dataclass(frozen=True, slots=True)
class BodySpec:
    """A PDU class's compiled field spec."""

    fields: tuple[FieldSpec, ...]
    #: None: the body is always sent; else whether encode leaves it out on error.
    omitted_on_error: bool | None
    #: None for a class that is never decoded (its body is kept encoded).
    decode: Decoder | None
    encode: Encoder


def compile_spec(cls: type[Any]) -> BodySpec:
    """Read the field spec of dataclass ``cls`` and build its decoder and encoder."""
    specs: list[FieldSpec] = []
    omitted_on_error: bool | None = None
    for f in dataclasses.fields(cls):
        if _FIELD in f.metadata:
            specs.append(FieldSpec(f.name, *f.metadata[_FIELD]))
        elif _OPTIONAL in f.metadata:
            omitted_on_error = f.metadata[_OPTIONAL]
        elif f.name not in (*_HEADER_FIELDS, "tlvs"):
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with a field kind")
    fields = tuple(specs)
    kinds = [s.kind for s in fields]
    if Kind.RAW_BODY in kinds:
        if len(fields) != 1:
            raise TypeError(f"{cls.__name__}: a raw body is the only field")
        return BodySpec(fields, None, None, _raw_encoder(fields[0].name))
    if kinds.count(Kind.SIZED_OCTETS) > 1:
        raise TypeError(f"{cls.__name__}: at most one sized-octets field")
    return BodySpec(
        fields,
        omitted_on_error,
        _decoder(cls, fields, omitted_on_error is not None),
        _encoder(fields, omitted_on_error),
    )


def is_list(kind: Kind) -> bool:
    """True for a counted list kind (its value is a tuple of items)."""
    return kind in _LISTS


# --- decode ------------------------------------------------------------------------------

#: (pull function, its last argument, whether it yields several values)
_Step = tuple[Callable[[bytes, int, int, Any], tuple[Any, int]], Any, bool]


def _steps(fields: tuple[FieldSpec, ...]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    run = 0  # consecutive one-octet fields not yet turned into a step
    for spec in fields:
        if spec.kind is Kind.U8:
            run += 1
            continue
        if run:
            steps.append((pull_u8s, run, True))
            run = 0
        limit = (spec.max_length, spec.status, spec.name)
        if spec.kind is Kind.CSTRING:
            steps.append((pull_cstring, limit, False))
        elif spec.kind in _LISTS:
            list_limit = (*limit, spec.item_length, spec.item_status)
            steps.append((_LISTS[spec.kind][0], list_limit, False))
        else:
            steps.append((pull_sized_octets, limit, False))
    if run:
        steps.append((pull_u8s, run, True))
    return tuple(steps)


def _decoder(cls: type[Any], fields: tuple[FieldSpec, ...], optional: bool) -> Decoder:
    steps = _steps(fields)
    names = [*_HEADER_FIELDS, *(s.name for s in fields), "tlvs"]
    if optional:
        names.append("omit_body")
    setters = tuple(getattr(cls, name).__set__ for name in names)
    empty = tuple(cls.__dataclass_fields__[s.name].default for s in fields)
    new = object.__new__

    def decode(data: bytes, end: int, status: int, seq: int) -> Any:
        pos = HEADER_SIZE
        if optional and pos == end:
            values: list[Any] = [seq, status, *empty, (), True]
        else:
            values = [seq, status]
            for pull, arg, several in steps:
                value, pos = pull(data, pos, end, arg)
                if several:
                    values += value
                else:
                    values.append(value)
            tlvs, pos = pull_tlvs(data, pos, end)
            values.append(tlvs)
            if optional:
                values.append(False)
        pdu = new(cls)
        # One value per slot, in ``names`` order, by construction of ``steps`` (the
        # generated round-trip tests hold it); strict=True would cost 3 % of a decode.
        for set_slot, value in zip(setters, values, strict=False):
            set_slot(pdu, value)
        return pdu

    return decode


# --- encode ------------------------------------------------------------------------------


def _raw_encoder(name: str) -> Encoder:
    get = attrgetter(name)

    def encode(pdu: Any) -> bytes:
        body: bytes = get(pdu)
        return body + push_tlvs(pdu.tlvs)

    return encode


def _values_getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of ``names`` as a tuple (``attrgetter`` of one name
    gives the bare value)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda pdu: (get(pdu),)
    return lambda pdu: ()


def _encoder(fields: tuple[FieldSpec, ...], omitted_on_error: bool | None) -> Encoder:
    if any(s.kind in _LISTS for s in fields):
        encode = _list_encoder(fields)
    else:
        encode = _body_encoder(fields)
    if omitted_on_error is None:
        return encode
    values_of = _values_getter([s.name for s in fields])

    def encode_optional(pdu: Any) -> bytes:
        if not pdu.tlvs and not any(values_of(pdu)):
            choice = pdu.omit_body
            if (omitted_on_error and pdu.command_status != 0) if choice is None else choice:
                return b""
        return encode(pdu)

    return encode_optional


def _list_encoder(fields: tuple[FieldSpec, ...]) -> Encoder:
    """Field by field, for the few PDUs with a counted list (submit_multi and its resp):
    off the submit_sm path, so plain rather than one template."""
    names = [s.name for s in fields]
    values_of = _values_getter(names)

    def encode(pdu: Any) -> bytes:
        parts: list[bytes] = []
        for spec, value in zip(fields, values_of(pdu), strict=True):
            kind = spec.kind
            if kind is Kind.U8:
                try:
                    parts.append(bytes((value,)))
                except ValueError:
                    raise ValueError(f"{spec.name}: a one-octet field out of range") from None
            elif kind is Kind.CSTRING:
                parts.append(value.encode("latin-1") + b"\x00")
            elif kind is Kind.SIZED_OCTETS:
                if len(value) > spec.max_length:
                    raise ValueError(f"{spec.name} over {spec.max_length} octets")
                parts.append(bytes((len(value),)) + value)
            else:
                parts.append(_LISTS[kind][1](value, spec.max_length))
        tlvs = pdu.tlvs
        body = b"".join(parts)
        return body + push_tlvs(tlvs) if tlvs else body

    return encode


def _body_encoder(fields: tuple[FieldSpec, ...]) -> Encoder:
    """Mandatory fields through one template and one Latin-1 encode, then the TLVs.

    "%c" of a negative int raises OverflowError; it becomes the ValueError ``bytes()``
    gives for any other one-octet value out of range.
    """
    template = "".join(_FORMAT[s.kind] for s in fields)
    names = [s.name for s in fields]
    sized = [i for i, s in enumerate(fields) if s.kind is Kind.SIZED_OCTETS]
    if not sized:
        values_of = _values_getter(names)

        def encode(pdu: Any) -> bytes:
            try:
                body = (template % values_of(pdu)).encode("latin-1")
            except OverflowError as e:
                raise ValueError(f"a one-octet field out of range: {e}") from None
            tlvs = pdu.tlvs
            return body + push_tlvs(tlvs) if tlvs else body

        return encode
    i = sized[0]
    limit, name = fields[i].max_length, fields[i].name
    before = _values_getter(names[:i])
    after = _values_getter(names[i + 1 :]) if i + 1 < len(names) else None
    get_octets = attrgetter(name)

    def encode_with_octets(pdu: Any) -> bytes:
        octets: bytes = get_octets(pdu)
        if len(octets) > limit:
            raise ValueError(f"{name} over {limit} octets: use message_payload")
        values = (*before(pdu), len(octets), octets.decode("latin-1"))
        if after is not None:
            values += after(pdu)
        try:
            body = (template % values).encode("latin-1")
        except OverflowError as e:
            raise ValueError(f"a one-octet field out of range: {e}") from None
        tlvs = pdu.tlvs
        return body + push_tlvs(tlvs) if tlvs else body

    return encode_with_octets


__all__ = [
    "S_DST",
    "BodySpec",
    "FieldSpec",
    "Kind",
    "compile_spec",
    "cstring",
    "dest_addresses",
    "is_list",
    "optional_body",
    "raw_body",
    "sized_octets",
    "u8",
    "unsuccess_smes",
]
