"""Password hashing for SMPP accounts: salted scrypt, compared in constant time.

SMPP passwords are at most 8 characters, so the hash must be slow: scrypt with
n=2**14, r=8, p=1 costs about 30 ms and 16 MiB per attempt, which makes offline guessing
of a stolen hash expensive while a bind stays fast. Callers on the event loop run
``verify_password`` in a thread. Parameters are stored with each hash so they can be
raised later without invalidating old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string

_N, _R, _P = 2**14, 8, 1
_DKLEN = 32
_SCHEME = "scrypt"
#: Passwords generated for people to type: no look-alikes (0/O, 1/l/I).
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """A self-describing hash: ``scrypt$n$r$p$salt$digest`` (base64 salt and digest)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=64 * 2**20
    )
    return f"{_SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for any malformed hash."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != _SCHEME:
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 2**20,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def generate_password(length: int = 8) -> str:
    """A random password of ``length`` (SMPP allows at most 8) from an unambiguous alphabet."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
