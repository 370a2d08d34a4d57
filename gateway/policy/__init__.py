"""What the gateway allows and what it costs: binds (credentials, quota) and submit_sm
(addresses, pricing, debit). Nothing here knows how messages leave the gateway."""
