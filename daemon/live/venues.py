"""The venues of one live session, built from its configuration: per venue, the market-data client
the strategy's symbols need and the execution clients its orders go through (one per market).

``paper``: the venue's market data joined to a local simulated venue (:class:`~adapters.paper.PaperVenue`);
no order leaves and no key is read. ``live``: the venue's own execution clients, signed with the
credentials the configuration names (read here and registered for redaction before any is used).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec

from adapters.capabilities import Mode
from adapters.paper import PaperVenue
from adapters.ports import ExecutionClient, MarketDataClient
from adapters.registry import (
    KEYED_MARKET_DATA,
    STREAMS_BARS,
    BarsFromTrades,
    VenueSetupError,
    market_data_for,
)
from daemon.config import ConfiguredVenue
from daemon.credentials import load_credentials
from daemon.logs import register_credentials
from engines.clock import Clock
from engines.model.instruments import InstrumentSpec, market_of

__all__ = ["LiveVenue", "build_venues"]


class LiveVenue:
    """One venue of the session: its market data, and an execution client per market it trades."""

    def __init__(
        self,
        name: str,
        market: MarketDataClient,
        executions: Mapping[str, ExecutionClient],
        symbols: Sequence[str],
    ) -> None:
        self.name = name
        self.market = market
        #: by market (``binance-spot``); a paper venue serves every market with one client
        self.executions = dict(executions)
        self.symbols = tuple(symbols)

    def execution_for(self, instrument: str) -> ExecutionClient:
        return self.executions[market_of(instrument)]

    def unique_executions(self) -> list[ExecutionClient]:
        """Each execution client once (a paper venue's one client serves all its markets)."""
        seen: dict[int, ExecutionClient] = {}
        for client in self.executions.values():
            seen.setdefault(id(client), client)
        return list(seen.values())

    async def start(self) -> None:
        for client in self.unique_executions():
            start = getattr(client, "start", None) or getattr(client, "connect", None)
            if start is not None:
                await start()

    async def close(self) -> None:
        await self.market.close()
        for client in self.unique_executions():
            await client.close()


def build_venues(
    mode: Mode,
    venues: Mapping[str, ConfiguredVenue],
    routes: Mapping[str, str],
    specs: Mapping[str, InstrumentSpec],
    *,
    paper_cash: Decimal,
    state_dir: Path | None = None,
    bar_seconds: int | None = None,
    order_numbers: Mapping[str, Mapping[str, str]] | None = None,
    fills_known: Mapping[str, Mapping[str, tuple[Decimal, Decimal]]] | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> dict[str, LiveVenue]:
    """The session's venues: those the routes use, each with the symbols routed to it.

    ``state_dir`` holds the brokers' token caches; ``order_numbers`` is, by venue, the journal's map
    of client order id → the venue's order number (the brokers take no client id, so a restarted
    session finds its orders through it); with ``bar_seconds`` a venue that streams no bars gets them
    built from its trades. ``clock`` is what the paper venue and the brokers' KRX checks read the
    time from (the wall clock unless a test shifts it into a market's session).
    """
    by_venue: dict[str, list[str]] = {}
    for symbol, venue in routes.items():
        by_venue.setdefault(venue, []).append(symbol)
    built: dict[str, LiveVenue] = {}
    for name, symbols in sorted(by_venue.items()):
        configured = venues[name]
        keys: tuple[str, str] | None = None
        account: str | None = None
        if mode is Mode.LIVE or name in KEYED_MARKET_DATA:
            assert configured.credentials is not None  # validate_config refused a venue without them
            credentials = load_credentials(configured.credentials, environ=environ)
            register_credentials(credentials)
            keys, account = (credentials.api_key, credentials.api_secret), credentials.account
        shared: ExecutionClient | None = None
        if name == "kis" and mode is Mode.LIVE:
            # one WebSocket session per app key at KIS: market data rides the execution client's
            assert keys is not None
            shared = _kis_execution(
                configured,
                keys,
                symbols,
                account=account,
                state_dir=state_dir,
                order_numbers=order_numbers,
                fills_known=fills_known,
                clock=clock,
            )
        market: MarketDataClient = (
            _kis_market(shared, keys, state_dir, clock)
            if shared
            else market_data_for(
                name,
                symbols,
                environment=configured.environment,
                rest_url=configured.rest_url,
                ws_url=configured.ws_url,
                keys=keys if name in KEYED_MARKET_DATA else None,
                token_dir=state_dir,
                clock_ns=time.time_ns if clock is None else clock.now_ns,
            )
        )
        if bar_seconds is not None and name not in STREAMS_BARS:
            market = BarsFromTrades(market)
        markets = sorted({market_of(s) for s in symbols})
        if mode is Mode.PAPER:
            quotes = sorted({specs[s].quote for s in symbols})
            paper = PaperVenue(
                name, market, [specs[s] for s in symbols], {q: paper_cash for q in quotes}, clock=clock
            )
            built[name] = LiveVenue(name, paper, {m: paper.execution for m in markets}, symbols)
            continue
        assert keys is not None
        if shared is not None:
            built[name] = LiveVenue(name, market, {m: shared for m in markets}, symbols)
            continue
        known = dict((order_numbers or {}).get(name, {}))
        executions = {
            m: _execution_client(
                name,
                m,
                configured,
                keys,
                symbols,
                account=account,
                state_dir=state_dir,
                order_numbers=known,
                clock=clock,
            )
            for m in markets
        }
        built[name] = LiveVenue(name, market, executions, symbols)
    return built


def _timeout_s(configured: ConfiguredVenue) -> float:
    """Each request's timeout: the configuration's, else the venue clients' default (5 s)."""
    return 5.0 if configured.timeout_ms is None else configured.timeout_ms / 1000


def _kis_execution(
    configured: ConfiguredVenue,
    keys: tuple[str, str],
    symbols: Sequence[str],
    *,
    account: str | None,
    state_dir: Path | None,
    order_numbers: Mapping[str, Mapping[str, str]] | None,
    fills_known: Mapping[str, Mapping[str, tuple[Decimal, Decimal]]] | None,
    clock: Clock | None,
) -> ExecutionClient:
    from adapters.kis.config import KisConfig  # noqa: PLC0415
    from adapters.kis.execution import KisExecutionClient  # noqa: PLC0415

    if not account or not configured.hts_id:
        raise VenueSetupError(
            "kis live trading needs the account (CANO) in the credentials file and [venues.kis] hts_id"
        )
    config = KisConfig(
        environment=configured.environment,
        rest_url=configured.rest_url,
        ws_url=configured.ws_url,
        account=account,
        hts_id=configured.hts_id,
    )
    return KisExecutionClient(
        config,
        keys[0],
        keys[1],
        symbols=symbols,
        cache_dir=state_dir,
        timeout_s=_timeout_s(configured),
        order_map=dict((order_numbers or {}).get("kis", {})),
        fills_known=dict((fills_known or {}).get("kis", {})),
        clock_ns=time.time_ns if clock is None else clock.now_ns,
    )


def _kis_market(
    execution: ExecutionClient, keys: tuple[str, str] | None, state_dir: Path | None, clock: Clock | None
) -> MarketDataClient:
    from adapters.kis.execution import KisExecutionClient  # noqa: PLC0415
    from adapters.kis.market_data import KisMarketData  # noqa: PLC0415

    assert isinstance(execution, KisExecutionClient) and keys is not None
    return KisMarketData(
        execution.config,
        keys[0],
        keys[1],
        cache_dir=state_dir,
        stream=execution.stream,
        clock_ns=time.time_ns if clock is None else clock.now_ns,
    )


def _execution_client(
    venue: str,
    market: str,
    configured: ConfiguredVenue,
    keys: tuple[str, str],
    symbols: Sequence[str],
    *,
    account: str | None,
    state_dir: Path | None,
    order_numbers: Mapping[str, str],
    clock: Clock | None = None,
) -> ExecutionClient:
    key, secret = keys
    mine = [s for s in symbols if market_of(s) == market]
    timeout = _timeout_s(configured)
    if venue == "kiwoom":
        from adapters.kiwoom.config import KiwoomConfig  # noqa: PLC0415
        from adapters.kiwoom.execution import KiwoomExecutionClient  # noqa: PLC0415

        kconfig = KiwoomConfig(
            environment=configured.environment, rest_url=configured.rest_url, ws_url=configured.ws_url
        )
        return KiwoomExecutionClient(
            kconfig,
            key,
            secret,
            token_dir=state_dir,
            symbols=mine,
            timeout_s=timeout,
            order_numbers=order_numbers,
            clock_ns=time.time_ns if clock is None else clock.now_ns,
        )
    if venue == "binance":
        from adapters.binance.config import BinanceConfig  # noqa: PLC0415 - only the venues in use
        from adapters.binance.execution import BinanceExecutionClient  # noqa: PLC0415

        if configured.rest_url is not None and configured.ws_url is not None:
            bconfig = BinanceConfig.for_emulator(
                configured.rest_url, configured.ws_url, environment=configured.environment
            )
        else:
            bconfig = BinanceConfig(environment=configured.environment)
        if configured.recv_window_ms is not None:
            bconfig = msgspec.structs.replace(bconfig, recv_window_ms=configured.recv_window_ms)
        kind: Literal["spot", "usdm"] = "spot" if market == "binance-spot" else "usdm"
        return BinanceExecutionClient(bconfig, key, secret, kind, mine, timeout_s=timeout)
    if venue != "bybit":
        # the capability matrix refuses these at preflight; this is the guard behind it
        raise VenueSetupError(f"live trading through {venue} is not wired into the daemon yet")
    from adapters.bybit.config import BybitConfig  # noqa: PLC0415
    from adapters.bybit.execution import BybitExecutionClient  # noqa: PLC0415

    yconfig = BybitConfig(
        environment=configured.environment, rest_url=configured.rest_url, ws_url=configured.ws_url
    )
    if configured.recv_window_ms is not None:
        yconfig = msgspec.structs.replace(yconfig, recv_window_ms=configured.recv_window_ms)
    category: Literal["spot", "linear"] = "spot" if market == "bybit-spot" else "linear"
    return BybitExecutionClient(yconfig, key, secret, category=category, symbols=mine, timeout_s=timeout)
