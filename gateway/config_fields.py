"""Field limits of the configuration's dataclasses (``gateway.config`` enforces them).

A setting declares its range, length or file requirement as ``field(metadata=...)``; the
generic validator in ``gateway.config`` reads these keys. Shared by every module that
declares a configuration table.
"""

from __future__ import annotations

from typing import Any

from ledger.money import MILLI
from ledger.rules.limits import LIMIT_CEILING


def limits(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    max_len: int | None = None,
    must_exist: bool = False,
    email: bool = False,
    networks: bool = False,
) -> dict[str, Any]:
    """Field metadata: the limits the generic validator enforces on that field.

    ``email``: a non-empty value must be one e-mail address (``local@domain``).
    ``networks``: every item is an IP network (``10.0.0.0/8``, ``2001:db8::/32``) or one
    address, without host bits.
    """
    meta = {
        "ge": ge,
        "gt": gt,
        "le": le,
        "max_len": max_len,
        "must_exist": must_exist,
        "email": email,
        "networks": networks,
    }
    return {k: v for k, v in meta.items() if v is not None and v is not False}


#: 0 is allowed on purpose: "any free port", which tests rely on.
PORT = limits(ge=0, le=65535)
POSITIVE = limits(gt=0)
AT_LEAST_1 = limits(ge=1)
FILE = limits(must_exist=True)
EMAIL = limits(email=True)
#: An amount limit in credits: at least one, and within what the ledger can hold.
CREDIT_LIMIT = limits(ge=1, le=LIMIT_CEILING // MILLI)
