"""The columnar chunk codec of ``events.vtm``: each distinct price string is parsed once per chunk."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import msgspec

from engines.model.enums import Side
from engines.model.events import SCHEMA_VERSION, Bar, MarketEvent, QuoteTick, TradeTick

_QUOTE, _TRADE, _BAR = 0, 1, 2


_SIDE_CODES: Final = {Side.BUY: 0, Side.SELL: 1}


_SIDES_BY_CODE: Final = (Side.BUY, Side.SELL)


class _Chunk(msgspec.Struct, frozen=True, array_like=True):
    """One chunk of events.vtm: two tables, then per event kind one binary column per field.

    ``kinds`` holds one byte per event in stream order (0 quote, 1 trade, 2 bar). Each column is
    a little-endian array (``_QUOTE_COLUMNS`` and so on give the layouts): ``ts_event`` as int64
    (``ts_init`` equals it for market data), the symbol and every decimal as a uint32 index into
    ``symbols`` and ``decimals``, the aggressor as a byte (0 buy, 1 sell). Trade ids are strings.
    """

    kinds: bytes
    decimals: list[str]
    symbols: list[str]
    quotes: tuple[bytes, ...]
    trades: tuple[bytes, ...]
    trade_ids: list[str]
    bars: tuple[bytes, ...]


_U32: Final = "I" if array("I").itemsize == 4 else "L"
_SWAP: Final = sys.byteorder != "little"
# ts_event, symbol, bid, bid_size, ask, ask_size
_QUOTE_COLUMNS: Final = ("q", _U32, _U32, _U32, _U32, _U32)
# ts_event, symbol, price, size, aggressor
_TRADE_COLUMNS: Final = ("q", _U32, _U32, _U32, "B")
# ts_event, symbol, open, high, low, close, volume, interval_ns
_BAR_COLUMNS: Final = ("q", _U32, _U32, _U32, _U32, _U32, _U32, "q")
_chunk_encoder: Final = msgspec.msgpack.Encoder()
_chunk_decoder: Final = msgspec.msgpack.Decoder(_Chunk)


def _pack(codes: Sequence[str], columns: Sequence[list[int]]) -> tuple[bytes, ...]:
    out = []
    for code, values in zip(codes, columns, strict=True):
        packed = array(code, values)
        if _SWAP:  # pragma: no cover - big-endian hosts
            packed.byteswap()
        out.append(packed.tobytes())
    return tuple(out)


def _unpack(codes: Sequence[str], blobs: Sequence[bytes], rows: int) -> list[array[int]]:
    if len(blobs) != len(codes):
        raise ValueError(f"{len(blobs)} columns where {len(codes)} were expected")
    out = []
    for code, blob in zip(codes, blobs, strict=True):
        column = array(code)
        column.frombytes(blob)
        if _SWAP:  # pragma: no cover - big-endian hosts
            column.byteswap()
        if len(column) != rows:
            raise ValueError(f"a column holds {len(column)} values for {rows} events")
        out.append(column)
    return out


def _encode_chunk(events: Sequence[MarketEvent]) -> bytes:
    kinds = bytearray()
    decimals: dict[str, int] = {}
    symbols: dict[str, int] = {}
    q: tuple[list[int], ...] = tuple([] for _ in _QUOTE_COLUMNS)
    t: tuple[list[int], ...] = tuple([] for _ in _TRADE_COLUMNS)
    t_ids: list[str] = []
    b: tuple[list[int], ...] = tuple([] for _ in _BAR_COLUMNS)

    def dec(value: Decimal) -> int:
        text = str(value)  # exact: Decimal(str(d)) has d's digits and exponent
        index = decimals.get(text)
        if index is None:
            index = decimals[text] = len(decimals)
        return index

    def sym(text: str) -> int:
        index = symbols.get(text)
        if index is None:
            index = symbols[text] = len(symbols)
        return index

    def put(columns: tuple[list[int], ...], values: tuple[int, ...]) -> None:
        for column, value in zip(columns, values, strict=True):
            column.append(value)

    for e in events:
        if e.ts_init != e.ts_event or e.seq != 0 or e.schema != SCHEMA_VERSION:
            raise ValueError(f"not a market data event as read from a file: {e!r}")
        if isinstance(e, QuoteTick):
            kinds.append(_QUOTE)
            put(q, (e.ts_event, sym(e.instrument), dec(e.bid), dec(e.bid_size), dec(e.ask), dec(e.ask_size)))
        elif isinstance(e, TradeTick):
            kinds.append(_TRADE)
            put(t, (e.ts_event, sym(e.instrument), dec(e.price), dec(e.size), _SIDE_CODES[e.aggressor]))
            t_ids.append(e.trade_id)
        elif isinstance(e, Bar):
            kinds.append(_BAR)
            put(
                b,
                (
                    e.ts_event,
                    sym(e.instrument),
                    dec(e.open),
                    dec(e.high),
                    dec(e.low),
                    dec(e.close),
                    dec(e.volume),
                    e.interval_ns,
                ),
            )
        else:
            raise TypeError(f"not a market event: {type(e).__name__}")
    chunk = _Chunk(
        kinds=bytes(kinds),
        decimals=list(decimals),
        symbols=list(symbols),
        quotes=_pack(_QUOTE_COLUMNS, q),
        trades=_pack(_TRADE_COLUMNS, t),
        trade_ids=t_ids,
        bars=_pack(_BAR_COLUMNS, b),
    )
    return _chunk_encoder.encode(chunk)


def _decode_chunk(chunk: _Chunk, count: int) -> list[MarketEvent]:
    """Build the events of one decoded chunk: the hot loop of the replay's fast path.

    Each distinct decimal string of the chunk becomes one shared ``Decimal`` (they are immutable),
    and each event is one struct construction from table lookups.
    """
    kinds = chunk.kinds
    n_quotes, n_trades, n_bars = kinds.count(_QUOTE), kinds.count(_TRADE), kinds.count(_BAR)
    if len(kinds) != count or n_quotes + n_trades + n_bars != count or len(chunk.trade_ids) != n_trades:
        raise ValueError("the chunk's columns do not match its event count")
    D = list(map(Decimal, chunk.decimals))
    S = chunk.symbols
    quotes: list[MarketEvent] = []
    trades: list[MarketEvent] = []
    bars: list[MarketEvent] = []
    if n_quotes:
        quotes = [
            QuoteTick(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                bid=D[bid],
                bid_size=D[bid_size],
                ask=D[ask],
                ask_size=D[ask_size],
            )
            for ts, s, bid, bid_size, ask, ask_size in zip(  # noqa: B905 - lengths checked
                *_unpack(_QUOTE_COLUMNS, chunk.quotes, n_quotes)
            )
        ]
        if n_quotes == count:
            return quotes
    if n_trades:
        sides = _SIDES_BY_CODE
        trades = [
            TradeTick(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                price=D[price],
                size=D[size],
                aggressor=sides[side],
                trade_id=trade_id,
            )
            for ts, s, price, size, side, trade_id in zip(  # noqa: B905 - lengths checked
                *_unpack(_TRADE_COLUMNS, chunk.trades, n_trades), chunk.trade_ids
            )
        ]
        if n_trades == count:
            return trades
    if n_bars:
        bars = [
            Bar(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                open=D[o],
                high=D[h],
                low=D[lo],
                close=D[c],
                volume=D[v],
                interval_ns=interval,
            )
            for ts, s, o, h, lo, c, v, interval in zip(  # noqa: B905 - lengths checked
                *_unpack(_BAR_COLUMNS, chunk.bars, n_bars)
            )
        ]
        if n_bars == count:
            return bars
    take = (iter(quotes).__next__, iter(trades).__next__, iter(bars).__next__)
    return [take[k]() for k in kinds]
