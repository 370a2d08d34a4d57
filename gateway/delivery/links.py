"""The upstreams a gateway forwards to, each its own link: binds, pace, state, metrics.

``UpstreamLink`` is one configured upstream (``[[upstreams]]`` or the single
``[upstream]``): ``binds`` transceiver clients (``gateway.transport.upstream``), one
token bucket over all of them (its ``throughput``: never exceeded) and the pause that
ESME_RTHROTTLED imposes (``gateway.delivery.pacing``). It is *live* while at least one of
its binds is up. ``submit`` waits for its pace, then sends on the bound client with the
most room in its window, without waiting for a link: a link that is down raises
``NotSent`` at once so the forwarder can take the next upstream of the route.

``UpstreamLinks`` is the set, by name, with one event that fires whenever any link comes
up or goes down (the forwarder waits on it when no upstream of a route is live).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence

import structlog

from gateway.config_delivery import DeliveryConfig, UpstreamConfig
from gateway.delivery.pacing import ThrottlePause, TokenBucket
from gateway.smpp import SubmitSmResp
from gateway.transport.connection import NotSent
from gateway.transport.upstream import DeliverCallback, UpstreamClient

#: (upstream name) -> the callback for the receipts and MOs that upstream sends.
DeliverFor = Callable[[str], DeliverCallback]


class UpstreamLink:
    """One upstream: its binds, its pace and whether it is live."""

    def __init__(
        self,
        config: UpstreamConfig,
        clients: Sequence[UpstreamClient],
        *,
        delivery: DeliveryConfig | None = None,
    ) -> None:
        delivery = delivery or DeliveryConfig()
        self.config = config
        self.name = config.name
        self.clients = list(clients)
        self._bucket = TokenBucket(config.throughput)
        self._pause = ThrottlePause(delivery.throttle_pause_s, delivery.throttle_pause_max_s)
        #: Serialises the pace: one submit at a time takes its token, in arrival order.
        self._pace_lock = asyncio.Lock()
        self.log = structlog.get_logger("smppgw.upstream").bind(upstream=self.name)

    @classmethod
    def connect(
        cls,
        config: UpstreamConfig,
        on_deliver: DeliverCallback,
        *,
        delivery: DeliveryConfig,
        pdu_count: Callable[[str, int, int], None] | None = None,
    ) -> UpstreamLink:
        """The link of ``config``: its ``binds`` clients, not started yet."""
        clients = [
            UpstreamClient(config, on_deliver, pdu_count=pdu_count) for _ in range(config.binds)
        ]
        return cls(config, clients, delivery=delivery)

    @property
    def live(self) -> bool:
        """True while at least one bind is up."""
        return any(c.bound for c in self.clients)

    @property
    def window_in_use(self) -> int:
        """Submits the upstream has not answered, over all binds."""
        return sum(c.window_in_use for c in self.clients)

    def start(self) -> None:
        """Start every bind's connect loop."""
        for c in self.clients:
            c.start()

    async def stop(self) -> None:
        """Unbind every bind."""
        await asyncio.gather(*(c.stop() for c in self.clients))

    async def wait_bound(self) -> None:
        """Return once one bind is up."""
        await asyncio.wait(
            [asyncio.ensure_future(c.wait_bound()) for c in self.clients],
            return_when=asyncio.FIRST_COMPLETED,
        )

    async def submit(self, body: bytes) -> SubmitSmResp:
        """Send one submit_sm at this upstream's pace on its least busy bind.

        Raises ``NotSent`` when no bind is up (before or after the pace), else what
        ``UpstreamClient.submit`` raises.
        """
        await self._wait_pace()
        client = self._pick()
        if client is None:
            raise NotSent(self.name)
        resp = await client.submit(body, wait=False)
        if resp.command_status == 0:
            self._pause.accepted()
        return resp

    def throttled(self) -> float:
        """The upstream answered ESME_RTHROTTLED: pause this link; the pause in seconds."""
        pause = self._pause.throttled(asyncio.get_running_loop().time())
        self.log.info("upstream.throttled", pause_s=round(pause, 3))
        return pause

    def _pick(self) -> UpstreamClient | None:
        bound = [c for c in self.clients if c.bound]
        if not bound:
            return None
        return min(bound, key=lambda c: c.window_in_use)

    async def _wait_pace(self) -> None:
        loop = asyncio.get_running_loop()
        unlimited = self._bucket.rate <= 0 and not self._pace_lock.locked()
        if unlimited and self._pause.wait(loop.time()) <= 0:
            return  # no limit and no pause: nothing to wait for, nothing to take
        async with self._pace_lock:
            while True:
                now = loop.time()
                wait = self._pause.wait(now) or self._bucket.take(now)
                if wait <= 0:
                    return
                await asyncio.sleep(wait)


class UpstreamLinks:
    """Every configured upstream, by name, in configuration order."""

    def __init__(self, links: Sequence[UpstreamLink]) -> None:
        #: Set (and replaced) at every change: a waiter holds the one of its time.
        self._changed = asyncio.Event()
        self._links = {link.name: link for link in links}
        for link in links:
            for client in link.clients:
                client.on_change = self._wake

    @classmethod
    def connect(
        cls,
        configs: Sequence[UpstreamConfig],
        deliver_for: DeliverFor,
        *,
        delivery: DeliveryConfig,
        pdu_count: Callable[[str, int, int], None] | None = None,
    ) -> UpstreamLinks:
        """The links of ``configs`` (names unique), not started yet."""
        return cls(
            [
                UpstreamLink.connect(c, deliver_for(c.name), delivery=delivery, pdu_count=pdu_count)
                for c in configs
            ]
        )

    def __iter__(self) -> Iterator[UpstreamLink]:
        return iter(self._links.values())

    def __getitem__(self, name: str) -> UpstreamLink:
        return self._links[name]

    @property
    def names(self) -> tuple[str, ...]:
        """The upstream names, in configuration order."""
        return tuple(self._links)

    def is_live(self, name: str) -> bool:
        """True if ``name`` is a configured upstream with a bind up."""
        link = self._links.get(name)
        return link is not None and link.live

    async def wait_bound(self) -> None:
        """Return once every upstream has a bind up."""
        await asyncio.gather(*(link.wait_bound() for link in self._links.values()))

    @property
    def any_live(self) -> bool:
        """True if some upstream is live (readiness)."""
        return any(link.live for link in self._links.values())

    def start(self) -> None:
        """Start every link."""
        for link in self._links.values():
            link.start()

    async def stop(self) -> None:
        """Stop every link."""
        await asyncio.gather(*(link.stop() for link in self._links.values()))

    async def wait_change(self, timeout: float) -> None:
        """Return when a link comes up or goes down, or after ``timeout`` seconds."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
