"""The KIS emulator (domestic stocks, real and mock): KIS's REST and WebSocket protocol on one
loopback port, over the shared exchange core of :mod:`adapters.emulator` (matching by the simulated
venue of engines/, with the KRX rules of ``krx:`` specs). ``vibetrading venue serve kis`` runs it;
tests call :func:`serve_kis`.

It encodes and decodes KIS's wire format itself (:mod:`adapters.kis.emulator_rest`,
:mod:`adapters.kis.emulator_ws`) and shares no schema or parser with the KIS client.

Keys and accounts
-----------------
Without ``--keys`` the documented test pair of :mod:`adapters.emulator.options` (app key
``vibetrading-test-key``, secret ``vibetrading-test-secret``); the accounts' CANO are ``12345678``,
``12345679``, ... in the sorted order of the app keys, ACNT_PRDT_CD ``01``. Every account starts with
100,000,000 KRW unless the options give a KRW balance. Instruments: :data:`DEFAULT_SYMBOLS`.

Environments
------------
``environment="real"`` takes the real transaction ids (``TTTC0012U``...), ``"mock"`` the mock ones
(``VTTC0012U``...); the other's ids are answered ``OPSQ0002``. Limits per app key: 18 REST requests
a second real, 1 mock (HTTP 500 ``EGW00201``); inquire-daily-ccld pages of 100 rows real, 15 mock;
inquire-balance 50 / 20 (:class:`~adapters.kis.emulator_rest.KisLimits` overrides them).

REST
----
``POST /oauth2/tokenP`` (a second issuance within 60 s: HTTP 403 ``EGW00133``; within 6 h the same
token), ``/oauth2/revokeP``, ``/oauth2/Approval`` (``secretkey``). Under
``/uapi/domestic-stock/v1/trading/``: ``order-cash`` (buy ``TTTC0012U``, sell ``TTTC0011U``, and the
legacy ``TTTC0802U``/``TTTC0801U``; ORD_DVSN 00, 01, 11-14), ``order-rvsecncl`` (cancel, ``02``,
all remaining), ``inquire-daily-ccld`` (``tr_cont``/``CTX_AREA_NK100`` paging), ``inquire-balance``,
``inquire-psbl-order``. Every /uapi request checks the bearer token (unknown ``EGW00121``, expired
``EGW00123``, HTTP 500), the app key and secret headers (``EGW00103``), the tr_id, the rate, and
CANO/ACNT_PRDT_CD. Refusals of the order system (rt_cd 1, HTTP 200) use the codes listed in
:data:`adapters.kis.errors.MSG_CODES` (APBK0952 cash, APBK0986 shares, APBK0919 price or quantity,
APBK0918 market closed, APBK0656 nothing to cancel, APBK1001 fields). Amounts keep the simulated
venue's exact fees (fractions of a won), and trades settle at once (D+2 cash = today's cash).

Clock
-----
The simulated venue refuses KRX orders outside the regular session (09:00-15:30 KST, weekdays).
``clock="session"`` (the default) runs the emulator on the wall clock shifted, once at start, so
that it starts at 11:00 KST of the latest KRX trading day (no shift inside a session); ``"wall"`` is the
wall clock. A client pointed at the emulator dates its queries by the emulator's clock
(``RunningEmulator.exchange.clock.now_ns``).

Faults (``--faults``, seeded): ``timeout``, ``reset``, ``5xx`` (HTTP 500 ``EGW00002``) and
``accept-then-timeout`` on order-cash and order-rvsecncl; ``delay-ms`` before every /uapi answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal

from aiohttp import web

from adapters.emulator import EmulatorOptions, Exchange, RunningEmulator, start_server
from adapters.emulator.exchange import MarketEvent
from adapters.emulator.faults import FaultSpec
from adapters.emulator.krx_clock import SessionClock
from adapters.kis.emulator_rest import VENUE_KEY, KisLimits, KisVenue, add_rest_routes
from adapters.kis.emulator_ws import add_ws_routes
from adapters.transport.clock import WallClock
from engines.markets.specs import spec_for
from engines.model.instruments import InstrumentSpec

__all__ = ["DEFAULT_SYMBOLS", "KisLimits", "SessionClock", "build_app", "serve_kis", "venue_of"]

DEFAULT_SYMBOLS: Final[tuple[str, ...]] = ("krx:005930", "krx:000660")
DEFAULT_KRW: Final = Decimal(100_000_000)
_NS: Final = 1_000_000_000
_DAY: Final = 86_400 * _NS


class _KisExchange(Exchange):
    """The exchange core on the emulator's clock: the base class makes a wall clock in its
    constructor and hands it to each account's simulated venue there, so the clock is a property
    here that keeps the one given."""

    def __init__(
        self,
        specs: Iterable[InstrumentSpec],
        *,
        keys: Mapping[str, str],
        balances: Mapping[str, Decimal],
        faults: FaultSpec,
        seed: int,
        clock: WallClock,
    ) -> None:
        self._kis_clock = clock
        super().__init__("kis", specs, keys=keys, balances=balances, faults=faults, seed=seed)

    @property
    def clock(self) -> WallClock:
        return self._kis_clock

    @clock.setter
    def clock(self, value: WallClock) -> None:
        """The base class's wall clock is not used."""


def build_app(exchange: Exchange, venue: KisVenue) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    app[VENUE_KEY] = venue
    add_rest_routes(app)
    add_ws_routes(app)
    return app


def venue_of(app: web.Application) -> KisVenue:
    return app[VENUE_KEY]


async def serve_kis(
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    recording: Iterable[MarketEvent] | None = None,
    environment: Literal["real", "mock"] = "real",
    limits: KisLimits | None = None,
    clock: Literal["session", "wall"] = "session",
) -> RunningEmulator:
    """Start the KIS emulator; port 0 picks a free port (``RunningEmulator.port``)."""
    options = options or EmulatorOptions()
    specs = [spec_for(symbol) for symbol in options.symbols or DEFAULT_SYMBOLS]
    balances = dict(options.balances)
    if "KRW" not in balances:
        balances = {"KRW": DEFAULT_KRW}  # the crypto defaults mean nothing at a Korean broker
    exchange = _KisExchange(
        specs,
        keys=options.keys,
        balances=balances,
        faults=options.faults,
        seed=options.seed,
        clock=SessionClock.in_session() if clock == "session" else SessionClock(0),
    )
    venue = KisVenue(exchange, environment, limits or KisLimits(), seed=options.seed)
    return await start_server(
        build_app(exchange, venue), exchange, options, host=host, port=port, recording=recording
    )
