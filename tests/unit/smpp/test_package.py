"""The SMPP core stands alone: importable without asyncio or the ledger, one public face."""

from __future__ import annotations

import subprocess
import sys

import gateway.smpp


def test_imports_neither_asyncio_nor_the_ledger() -> None:
    code = (
        "import sys, gateway.smpp\n"
        "bad = sorted(m for m in sys.modules if m == 'asyncio' or m.split('.')[0] == 'ledger'"
        " or (m.startswith('gateway.') and not m.startswith('gateway.smpp')))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_everything_exported_exists_and_is_documented() -> None:
    for name in gateway.smpp.__all__:
        obj = getattr(gateway.smpp, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, name
