""":class:`KiwoomMarketData`: the market-data port on Kiwoom's WebSocket: trades (``REAL`` type
``0B``) and the top of the book (``0D``) as :class:`TradeTick` and :class:`QuoteTick`.

FIDs read: ``0B`` 20 time (HHMMSS, KST), 10 price (signed: the sign marks the move against the
previous close, so the absolute value), 15 volume (signed: ``+`` a buyer took, ``-`` a seller took);
``0D`` 21 time, 41 best ask, 51 best bid, 61 and 71 their sizes. ``0B`` carries no trade number: a
trade's id is ``<code>-<HHMMSS>-<n>``, ``n`` counting this client's trades of the code, unique within a
session. Kiwoom has no bar stream: ``bar_interval_ns`` is refused (bars are built from trades elsewhere).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final

from adapters.kiwoom.config import KiwoomConfig
from adapters.kiwoom.parsers import KST, code_of, kst_ns, number, opt_number, quantity, symbol_of
from adapters.kiwoom.rest import KiwoomRest
from adapters.kiwoom.schemas import RealItem
from adapters.kiwoom.ws import KiwoomWebSocket, Registration
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.transport.stream import EventStream
from adapters.venue_errors import UnknownVenueSymbolError
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

__all__ = ["KiwoomMarketData", "quote_tick", "trade_tick"]

_NS: Final = 1_000_000_000


def _event_time(values: Mapping[str, str], fid: str, ts_init: int) -> int:
    day = datetime.fromtimestamp(ts_init / _NS, KST).strftime("%Y%m%d")
    return kst_ns(day, values.get(fid, "")) or ts_init


def trade_tick(item: RealItem, ts_init: int, seq: int) -> TradeTick:
    """A ``0B`` push → a trade; ``seq`` numbers this code's trades (module docstring)."""
    values = item.values
    size = number(values.get("15", "").strip(), "FID 15")
    code = symbol_of(item.item)
    return TradeTick(
        ts_event=_event_time(values, "20", ts_init),
        ts_init=ts_init,
        instrument=code,
        price=abs(number(values.get("10", "").strip(), "FID 10")),
        size=abs(size),
        aggressor=Side.SELL if size < 0 else Side.BUY,
        trade_id=f"{code.partition(':')[2]}-{values.get('20', '').strip()}-{seq}",
    )


def quote_tick(item: RealItem, ts_init: int) -> QuoteTick | None:
    """A ``0D`` push → the top of the book; None when a side is empty."""
    values = item.values
    ask, bid = opt_number(values.get("41", ""), "FID 41"), opt_number(values.get("51", ""), "FID 51")
    if not ask or not bid:
        return None
    return QuoteTick(
        ts_event=_event_time(values, "21", ts_init),
        ts_init=ts_init,
        instrument=symbol_of(item.item),
        bid=abs(bid),
        bid_size=quantity(values.get("71", ""), "FID 71"),
        ask=abs(ask),
        ask_size=quantity(values.get("61", ""), "FID 61"),
    )


class KiwoomMarketData:
    """A :class:`~adapters.ports.MarketDataClient` on Kiwoom's WebSocket (the token of ``rest``)."""

    def __init__(
        self,
        config: KiwoomConfig,
        app_key: str,
        secret: str,
        *,
        token_dir: Path | str | None = None,
        timeout_s: float = 5.0,
        stale_after_s: float = 60.0,
        reconnect: Backoff | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        rest: KiwoomRest | None = None,
    ) -> None:
        self.rest = rest or KiwoomRest(config, app_key, secret, token_dir=token_dir, timeout_s=timeout_s)
        self._clock_ns = clock_ns
        self._out: EventStream[MarketEvent] = EventStream()
        self._seq: dict[str, int] = {}
        self.stream = KiwoomWebSocket(
            config.endpoints().ws,
            self.rest.token,
            self._on_item,
            name="kiwoom-market",
            on_failure=self._out.fail,
            stale_after_s=stale_after_s,
            op_timeout_s=timeout_s,
            backoff=reconnect,
            rng=rng,
        )
        self._started = False
        self._closed = False

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        if bar_interval_ns is not None:
            raise UnknownVenueSymbolError("kiwoom has no bar stream: subscribe to trades and build bars")
        codes = tuple(code_of(s) for s in symbols)
        types = tuple(t for t, wanted in (("0D", quotes), ("0B", trades)) if wanted)
        if not codes or not types:
            return
        regs = [Registration(items=codes, types=types)]
        if self._started:
            await self.stream.register(regs)
            return
        self.stream.add(regs)
        await self.rest.start()
        await self.stream.start()
        self._started = True

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.stream.close()
        await self.rest.close()
        self._out.end()

    def _on_item(self, item: RealItem) -> None:
        now = self._clock_ns()
        if item.type == "0B":
            code = item.item.strip()
            self._seq[code] = self._seq.get(code, 0) + 1
            self._out.put(trade_tick(item, now, self._seq[code]))
        elif item.type == "0D":
            tick = quote_tick(item, now)
            if tick is not None:
                self._out.put(tick)
