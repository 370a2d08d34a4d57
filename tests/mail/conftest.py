"""Fixtures of the mail tests: a test CA whose server certificate covers 127.0.0.1."""

from pathlib import Path

import pytest

from tests.mail.smtp_server import SmtpCA, make_ca


@pytest.fixture
def ca(tmp_path: Path) -> SmtpCA:
    """A fresh CA (its PEM file for ``smtp.ca_file``) and a server context it signed."""
    return make_ca(tmp_path)
