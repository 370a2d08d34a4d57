"""``python -m gateway``: the same as the ``smppgw`` command."""

from gateway.cli import main

raise SystemExit(main())
