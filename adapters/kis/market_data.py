""":class:`KisMarketData`: the market-data port on KIS's WebSocket: ``H0STCNT0`` trades →
:class:`TradeTick`, ``H0STASP0`` best bid and ask → :class:`QuoteTick`, one registration each per
code, of KIS's 41 per session. KIS allows one session per app key: a daemon that trades and streams
on one key passes the execution client's session (``stream=KisExecutionClient.stream``, after its
``connect()``), and the registrations of both count against the same 41.

KIS streams no bars; a bar interval is refused (VT804). Trade frames carry no trade id: each trade
is numbered ``<code>-<HHMMSS>-<n>``, ``n`` counting the trades this client has seen of the code.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Final

from adapters.kis.config import TR_IDS, KisConfig
from adapters.kis.errors import KisWsError
from adapters.kis.parsers import (
    BOOK_FIELDS,
    TRADE_FIELDS,
    pdno_of,
    quote_of,
    split_records,
    trade_of,
)
from adapters.kis.rest import KisRest
from adapters.kis.ws import KisWebSocket
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.transport.stream import EventStream

__all__ = ["KisMarketData"]

_TRADE: Final = TR_IDS["trade"]
_BOOK: Final = TR_IDS["book"]


class KisMarketData:
    """A :class:`~adapters.ports.MarketDataClient` on KIS (real or mock: the same market data ids)."""

    def __init__(
        self,
        config: KisConfig,
        app_key: str,
        app_secret: str,
        *,
        venue: str = "kis",
        cache_dir: Path | None = None,
        timeout_s: float = 5.0,
        reconnect: Backoff | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        stream: KisWebSocket | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self._rest = KisRest(config, app_key, app_secret, cache_dir=cache_dir, timeout_s=timeout_s)
        self._clock_ns = clock_ns
        self._out: EventStream[MarketEvent] = EventStream()
        self._counts: dict[str, int] = {}
        self._closed = False
        #: a session shared with the execution client (``KisExecutionClient.stream``) is not ours to close
        self._owns_stream = stream is None
        if stream is None:
            stream = KisWebSocket(
                config.ws_root + "/tryitout",
                self._rest.auth.approval_key,
                self._on_data,
                name=f"kis-{config.service}-market",
                on_failure=self._out.fail,
                timeout_s=timeout_s,
                backoff=reconnect,
            )
        else:
            stream.handlers.append(self._on_data)
        self.stream = stream

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        if bar_interval_ns is not None:
            raise KisWsError("bars", "KIS streams trades and the book, no bars; build bars from the trades")
        codes = [pdno_of(s) for s in symbols]
        if not self.stream.started:
            await self.stream.start()
        for code in codes:
            if trades:
                await self.stream.subscribe(_TRADE, code)
            if quotes:
                await self.stream.subscribe(_BOOK, code)

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_stream:
            await self.stream.close()
        elif self._on_data in self.stream.handlers:
            self.stream.handlers.remove(self._on_data)
        await self._rest.close()
        self._out.end()

    def _on_data(self, tr: str, records: int, payload: str) -> None:
        now = self._clock_ns()
        if tr == _TRADE:
            for record in split_records(payload, records, TRADE_FIELDS, "H0STCNT0"):
                code = record[0]
                n = self._counts.get(code, 0) + 1
                self._counts[code] = n
                self._put(trade_of(record, now, f"{code}-{record[1]}-{n}"))
        elif tr == _BOOK:
            for record in split_records(payload, records, BOOK_FIELDS, "H0STASP0"):
                self._put(quote_of(record, now))

    def _put(self, event: MarketEvent) -> None:
        if not self._closed:
            self._out.put(event)
