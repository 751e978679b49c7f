"""The venues of one live session, built from its configuration: per venue, the market-data client
the strategy's symbols need and the execution clients its orders go through (one per market).

``paper``: the venue's market data joined to a local simulated venue (:class:`~adapters.paper.PaperVenue`);
no order leaves and no key is read. ``live``: the venue's own execution clients, signed with the
credentials the configuration names (read here and registered for redaction before any is used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal

import msgspec

from adapters.capabilities import Mode
from adapters.paper import PaperVenue
from adapters.ports import ExecutionClient, MarketDataClient
from adapters.registry import market_data_for
from daemon.config import ConfiguredVenue
from daemon.credentials import load_credentials
from daemon.logs import register_credentials
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
    environ: Mapping[str, str] | None = None,
) -> dict[str, LiveVenue]:
    """The session's venues: those the routes use, each with the symbols routed to it."""
    by_venue: dict[str, list[str]] = {}
    for symbol, venue in routes.items():
        by_venue.setdefault(venue, []).append(symbol)
    built: dict[str, LiveVenue] = {}
    for name, symbols in sorted(by_venue.items()):
        configured = venues[name]
        market = market_data_for(
            name,
            symbols,
            environment=configured.environment,
            rest_url=configured.rest_url,
            ws_url=configured.ws_url,
        )
        markets = sorted({market_of(s) for s in symbols})
        if mode is Mode.PAPER:
            quotes = sorted({specs[s].quote for s in symbols})
            paper = PaperVenue(name, market, [specs[s] for s in symbols], {q: paper_cash for q in quotes})
            built[name] = LiveVenue(name, paper, {m: paper.execution for m in markets}, symbols)
            continue
        assert configured.credentials is not None  # validate_config refused a live venue without them
        credentials = load_credentials(configured.credentials, environ=environ)
        register_credentials(credentials)
        executions = {
            m: _execution_client(name, m, configured, (credentials.api_key, credentials.api_secret), symbols)
            for m in markets
        }
        built[name] = LiveVenue(name, market, executions, symbols)
    return built


def _execution_client(
    venue: str, market: str, configured: ConfiguredVenue, keys: tuple[str, str], symbols: Sequence[str]
) -> ExecutionClient:
    key, secret = keys
    mine = [s for s in symbols if market_of(s) == market]
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
        timeout = 5.0 if configured.timeout_ms is None else configured.timeout_ms / 1000
        return BinanceExecutionClient(bconfig, key, secret, kind, mine, timeout_s=timeout)
    from adapters.bybit.config import BybitConfig  # noqa: PLC0415
    from adapters.bybit.execution import BybitExecutionClient  # noqa: PLC0415

    yconfig = BybitConfig(
        environment=configured.environment, rest_url=configured.rest_url, ws_url=configured.ws_url
    )
    if configured.recv_window_ms is not None:
        yconfig = msgspec.structs.replace(yconfig, recv_window_ms=configured.recv_window_ms)
    category: Literal["spot", "linear"] = "spot" if market == "bybit-spot" else "linear"
    timeout = 5.0 if configured.timeout_ms is None else configured.timeout_ms / 1000
    return BybitExecutionClient(yconfig, key, secret, category=category, symbols=mine, timeout_s=timeout)
