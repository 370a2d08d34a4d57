"""The listeners' TLS: a modern server context, and certificates reloaded live.

TLS 1.2 at least; for TLS 1.2 only forward-secret AEAD suites (ECDHE/DHE with AES-GCM or
ChaCha20-Poly1305, as Mozilla's "intermediate" profile), TLS 1.3's suites as OpenSSL
ships them. A reload loads the new certificate and key into the context the listener
already uses, so connections made from then on get the new certificate and sessions
already bound keep theirs: nothing is dropped. The pair is checked in a scratch context
first, so a bad file (unreadable, or a key that does not match) leaves the old pair
serving.
"""

from __future__ import annotations

import ssl
from pathlib import Path

#: TLS 1.2 cipher suites: forward secrecy and authenticated encryption only.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!SHA1"


def server_context(
    cert: Path, key: Path, *, client_ca: Path | None = None, password: str | None = None
) -> ssl.SSLContext:
    """A server context serving ``cert`` (a PEM chain) with ``key`` (unlocked by
    ``password`` when it is encrypted).

    With ``client_ca`` it asks clients for a certificate issued under those CAs; one is
    optional (``CERT_OPTIONAL``): an account decides whether it needs one (its pinned
    fingerprint), and a certificate shown must verify or the handshake fails.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_cert_chain(cert, key, password)
    if client_ca is not None:
        ctx.load_verify_locations(cafile=client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def reload_pair(ctx: ssl.SSLContext, cert: Path, key: Path, *, password: str | None = None) -> None:
    """Serve ``cert`` and ``key`` from now on; raises (keeping the old pair) if unusable.

    Used for the SMPP listener and for the API's HTTPS (whose context uvicorn made).
    """
    # Raises OSError or ssl.SSLError before touching ``ctx``.
    server_context(cert, key, password=password)
    ctx.load_cert_chain(cert, key, password)
