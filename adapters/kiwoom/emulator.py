"""The Kiwoom REST emulator (real and mock): Kiwoom's REST and WebSocket protocol on one loopback
port, over the shared exchange core of :mod:`adapters.emulator` (matching by the simulated venue of
engines/, KRX rules included). ``vibetrading venue serve kiwoom`` runs it; tests call
:func:`serve_kiwoom`.

Keys and accounts
-----------------
Without ``--keys`` the documented test pair (:data:`adapters.emulator.TEST_KEYS`): app key
``vibetrading-test-key``, secret ``vibetrading-test-secret``; one account per app key (Kiwoom binds
the account to the key). Balances: ``KRW=100000000`` unless ``--balance`` says otherwise (the crypto
defaults are replaced). Instruments: :data:`DEFAULT_SYMBOLS`.

Time
----
The simulated venue refuses KRX orders outside the regular session (09:00-15:30 KST, weekdays). So
that a rehearsal works at any hour, the emulator's clock (``session_clock``, on by default) is the
wall clock shifted, when it is not in a session of a trading day with an hour left, to 11:00 KST of
the latest KRX trading day (:class:`adapters.emulator.krx_clock.SessionClock`, the rule of the KIS
emulator and of ``vibetrading run --venue-clock krx-session`` too), and runs at wall speed from
there: every time it reports (order times, notices) is on that clock.

REST (every call POST with JSON; header ``api-id``; ``authorization: Bearer <token>``)
--------------------------------------------------------------------------------------
``/oauth2/token`` (``au10001``: ``{grant_type, appkey, secretkey}`` → ``{token, token_type,
expires_dt (KST), return_code, return_msg}``; 8001 unknown key, 8002 wrong secret), ``/oauth2/revoke``.
``/api/dostk/ordr``: ``kt10000`` buy, ``kt10001`` sell (``dmst_stex_tp`` KRX|NXT|SOR, mock: KRX only;
``stk_cd``, ``ord_qty``, ``ord_uv``, ``trde_tp`` 0/3/10/13/20/23) → ``{ord_no (7 digits), ...}``;
``kt10003`` cancel (``orig_ord_no``, ``stk_cd``, ``cncl_qty`` 0 = all; a partial cancel is refused).
``/api/dostk/acnt``: ``ka10075`` unfilled orders (``oso[]``), ``ka10076`` executions (``cntr[]``, one
row per execution, newest first), ``kt00018`` holdings (``acnt_evlt_remn_indv_tot[]``), ``kt00001``
deposit (``entr``, ``ord_alow_amt``). Lists are paged (``KiwoomLimits.page_size`` rows): ``cont-yn: Y``
and ``next-key`` in the answer's headers, echoed by the client with ``cont-yn: Y``.

Errors: a missing or unknown token is ``return_code`` 3 with ``[8005:...]``; an unknown api-id 1504;
a malformed body 1501/1517; an unknown code 1902; the order desk's refusals ``return_code`` 20 with
``(RCnnnn:...)`` (RC4025 funds, RC4027 holdings, RC4012 price band, RC4010 session, RC4032 no such
order, RC4033 nothing left to cancel). Over the limit (``KiwoomLimits``, per app key and api-id):
``return_code`` 5 with ``[1700:...]``, in turn as HTTP 429 and as HTTP 200.

WebSocket ``/api/dostk/websocket``: see :mod:`adapters.kiwoom.emulator_ws`.

Faults (``--faults``, seeded)
-----------------------------
On ``/api/dostk/ordr``: ``timeout`` holds the request unprocessed and never answers; ``reset`` drops
the connection unprocessed; ``5xx`` answers HTTP 502 unprocessed; ``accept-then-timeout`` processes the
order and never answers. Streams: ``drop-ws`` closes the connection instead of a push, ``dup-fill``
sends an execution notice twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from aiohttp import web

from adapters.emulator import EmulatorOptions, Exchange, RunningEmulator, start_server
from adapters.emulator.exchange import MarketEvent
from adapters.emulator.faults import FaultSpec
from adapters.emulator.krx_clock import SessionClock
from adapters.emulator.options import DEFAULT_BALANCES
from adapters.kiwoom.emulator_rest import VENUE_KEY, KiwoomLimits, KiwoomVenue, Mode, add_rest_routes
from adapters.kiwoom.emulator_ws import add_ws_routes
from engines.markets.specs import spec_for
from engines.model.instruments import InstrumentSpec

__all__ = [
    "DEFAULT_BALANCES_KRW",
    "DEFAULT_SYMBOLS",
    "KiwoomLimits",
    "SessionClock",
    "build_app",
    "serve_kiwoom",
]

DEFAULT_SYMBOLS: Final[tuple[str, ...]] = ("krx:005930", "krx:000660")
DEFAULT_BALANCES_KRW: Final[Mapping[str, Decimal]] = {"KRW": Decimal(100_000_000)}


class KrxExchange(Exchange):
    """The shared exchange on a :class:`SessionClock` (its accounts are opened on that clock)."""

    def __init__(
        self,
        specs: Iterable[InstrumentSpec],
        *,
        keys: Mapping[str, str],
        balances: Mapping[str, Decimal],
        faults: FaultSpec | None,
        seed: int,
        session_clock: bool,
    ) -> None:
        super().__init__("kiwoom", specs, keys={}, balances=balances, faults=faults, seed=seed)
        if session_clock:
            self.clock = SessionClock.in_session()
        for api_key, secret in keys.items():
            self.accounts[api_key] = self._open_account(api_key, secret, balances)
        self.kiwoom: KiwoomVenue | None = None  # set by serve_kiwoom: what venue_of finds


def build_app(venue: KiwoomVenue) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    app[VENUE_KEY] = venue
    add_rest_routes(app)
    add_ws_routes(app)
    return app


async def serve_kiwoom(
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    recording: Iterable[MarketEvent] | None = None,
    environment: Mode = "real",
    limits: KiwoomLimits | None = None,
    session_clock: bool = True,
    ping_interval_s: float = 10.0,
) -> RunningEmulator:
    """Start the Kiwoom emulator (``environment`` ``real`` or ``mock``); port 0 picks a free port."""
    options = options or EmulatorOptions()
    balances = DEFAULT_BALANCES_KRW if dict(options.balances) == dict(DEFAULT_BALANCES) else options.balances
    specs = [spec_for(symbol) for symbol in options.symbols or DEFAULT_SYMBOLS]
    exchange = KrxExchange(
        specs,
        keys=options.keys,
        balances=balances,
        faults=options.faults,
        seed=options.seed,
        session_clock=session_clock,
    )
    venue = KiwoomVenue(
        exchange,
        limits or KiwoomLimits(),
        mode=environment,
        seed=options.seed,
        ping_interval_s=ping_interval_s,
    )
    exchange.kiwoom = venue
    return await start_server(build_app(venue), exchange, options, host=host, port=port, recording=recording)


def venue_of(emulator: RunningEmulator) -> KiwoomVenue:
    """The Kiwoom state behind a running emulator (tests inspect and steer it)."""
    exchange = emulator.exchange
    if not isinstance(exchange, KrxExchange) or exchange.kiwoom is None:
        raise TypeError("not a kiwoom emulator")
    return exchange.kiwoom
