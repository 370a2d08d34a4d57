"""The ledger's rules: pure functions and records, no I/O, shared by every backend.

Each module holds one kind of rule: ``validation`` (what an account, a request or an
argument may be), ``idempotency`` (fingerprints of request bodies, derived keys),
``recharge`` (the auto-recharge decision), ``throughput`` (the token bucket), ``binds``
(the bind quota), ``planning`` (what every money movement writes), ``adoption`` and
``receipts`` (the outbox's rules), ``audit`` (describing what the audit finds). The
core (``ledger.core``) calls them; the backends never decide anything.
"""
