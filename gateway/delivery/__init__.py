"""Everything after the debit: forwarding the outbox upstream, and delivery receipts from
the upstream back to the client's receiver sessions."""
