"""``smppgw bench``: a load generator of its own that runs against any SMPP server.

Pure parts, each one concept and tested without sockets:

- ``weights``: ``NAME=WEIGHT,...`` mixes and a fast weighted pick;
- ``messages``: the message mix (GSM-7, UCS-2, long messages cut into UDH parts);
- ``destinations``: the destination mix (valid random mobile numbers per country);
- ``stats``: latency histogram with percentiles, status and receipt counts;
- ``plan``: the options of a run and the shared budget (count or duration, rate);
- ``report``: the live progress line, the plain summary and the JSON result.

The asyncio shell: ``client`` (one bind over the project's sans-IO codec), ``runner``
(N binds, progress, the end of a run) and ``ledger_check`` (balance change against the
costs of the accepted messages, read through the ledger's ``Store``).
"""

from gateway.loadgen.plan import BindType, LoadOptions
from gateway.loadgen.runner import RunResult, run_load

__all__ = ["BindType", "LoadOptions", "RunResult", "run_load"]
