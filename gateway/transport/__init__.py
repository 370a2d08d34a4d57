"""The asyncio shells: an SMPP connection over the sans-IO session, the listener ESMEs
bind to, and the client link toward the upstream SMSC."""
