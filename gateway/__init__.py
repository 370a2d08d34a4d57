"""smppgw: an SMPP 3.4 gateway that sells SMS capacity on credit."""

__version__ = "0.1.0"
