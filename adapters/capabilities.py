"""The capability matrix: per venue, what is implemented for each capability in each mode.

This table is the one source for preflight (``vibetrading validate``), for ``vibetrading capabilities``
and for the README's table (a test keeps the README equal to :func:`render_markdown`). It states what
is true of the code today: a cell says ``implemented`` only when the code behind it exists and is tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

import msgspec

from engines.errors import CapabilityError
from engines.model.instruments import parse_symbol


class Support(StrEnum):
    IMPLEMENTED = "implemented"
    PLANNED = "planned"
    UNSUPPORTED = "unsupported"


class Capability(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    STATUS = "status"
    FILL_STREAM = "fill_stream"


class Mode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class Cell(msgspec.Struct, frozen=True):
    support: Support
    note: str


class VenueInfo(msgspec.Struct, frozen=True):
    name: str
    description: str
    markets: tuple[str, ...]


VENUES: Final[tuple[VenueInfo, ...]] = (
    VenueInfo(
        "sim",
        "simulated venue (pure, deterministic); applies each market's instrument rules",
        (
            "krx",
            "binance-spot",
            "binance-usdm",
            "binance-coinm",
            "bybit-spot",
            "bybit-linear",
            "ftx",
            "us-equities",
        ),
    ),
    # COIN-M backtests run on sim; the Binance adapter trades spot and USD-M
    VenueInfo("binance", "Binance spot and USD-M futures", ("binance-spot", "binance-usdm")),
    VenueInfo("bybit", "Bybit v5 spot and linear", ("bybit-spot", "bybit-linear")),
    VenueInfo("kis", "Korea Investment & Securities Open API (REST + WebSocket)", ("krx",)),
    VenueInfo("kiwoom", "Kiwoom REST API", ("krx",)),
)

VENUE_NAMES: Final = tuple(v.name for v in VENUES)
MARKETS: Final = tuple(sorted({m for v in VENUES for m in v.markets}))

_SIM_BACKTEST = Cell(Support.IMPLEMENTED, "simulated venue driven by the replay clock")
_SIM_PAPER = Cell(
    Support.UNSUPPORTED,
    "paper trades on a real venue's market data with simulated fills; pick --venue binance or bybit",
)
_SIM_LIVE = Cell(Support.UNSUPPORTED, "a simulated venue cannot trade live; pick a real venue")
_REAL_BACKTEST = Cell(
    Support.UNSUPPORTED, "backtests run on --venue sim, which applies this venue's instrument rules"
)


def _built(paper: str, live: str) -> dict[Mode, Cell]:
    """A venue whose adapter is built and passes the venue contract against its emulator."""
    return {
        Mode.BACKTEST: _REAL_BACKTEST,
        Mode.PAPER: Cell(Support.IMPLEMENTED, paper),
        Mode.LIVE: Cell(Support.IMPLEMENTED, live),
    }


_BY_VENUE: Final[dict[str, dict[Mode, Cell]]] = {
    "sim": {Mode.BACKTEST: _SIM_BACKTEST, Mode.PAPER: _SIM_PAPER, Mode.LIVE: _SIM_LIVE},
    "binance": _built(
        "the venue's public market streams, fills by the local simulated venue; no order leaves, no key",
        'REST + user-data WebSocket, production or environment = "test" (spot testnet, futures demo); '
        "contract-tested against `vibetrading venue serve binance`",
    ),
    "bybit": _built(
        "the venue's public market streams, fills by the local simulated venue; no order leaves, no key",
        'v5 REST + private WebSocket, production or environment = "test" (testnet, demo); '
        "contract-tested against `vibetrading venue serve bybit`",
    ),
    "kis": _built(
        "KIS market data (trades H0STCNT0, book H0STASP0; bars built from the trades), fills by the "
        "local simulated venue under KRX rules; the app key is needed for the stream, no order leaves",
        'KIS REST + AES-encrypted execution notices, production or environment = "test" (모의투자); '
        "market data shares the notices' WebSocket session (one per app key); "
        "contract-tested against `vibetrading venue serve kis`",
    ),
    "kiwoom": _built(
        "Kiwoom market data (0B trades, 0D book; bars built from the trades), fills by the local "
        "simulated venue under KRX rules; the app key is needed for the stream, no order leaves",
        'Kiwoom REST + WebSocket type 00, production or environment = "test" (모의투자); '
        "contract-tested against `vibetrading venue serve kiwoom`",
    ),
}

#: (venue, capability, mode) → cell. Every capability shares its venue × mode cell today; the key has
#: the capability so that one cell can change alone (e.g. a venue without a fill stream).
MATRIX: Final[dict[tuple[str, Capability, Mode], Cell]] = {
    (venue, capability, mode): cell
    for venue, modes in _BY_VENUE.items()
    for mode, cell in modes.items()
    for capability in Capability
}

#: What a run in each mode needs from its venue.
REQUIRED: Final[dict[Mode, tuple[Capability, ...]]] = {
    Mode.BACKTEST: tuple(Capability),
    Mode.PAPER: tuple(Capability),
    Mode.LIVE: tuple(Capability),
}


def venue_info(name: str) -> VenueInfo:
    for venue in VENUES:
        if venue.name == name:
            return venue
    raise CapabilityError(
        f"unknown venue {name!r} (known: {', '.join(VENUE_NAMES)})",
        code="VT130",
    )


def preflight(venues: Iterable[str], mode: Mode, universe: Iterable[str]) -> None:
    """Raise a typed :class:`CapabilityError` unless every symbol can run on a venue in this mode.

    Each symbol's market must be listed by one of the chosen venues, and that venue must implement
    every capability the mode requires.
    """
    chosen = [venue_info(v) for v in venues] or [venue_info("sim")]
    for symbol in universe:
        market = parse_symbol(symbol).market
        if market not in MARKETS:
            raise CapabilityError(
                f"{symbol}: unknown market {market!r} (known: {', '.join(MARKETS)})", code="VT134"
            )
        serving = [v for v in chosen if market in v.markets]
        if not serving:
            names = ", ".join(v.name for v in chosen)
            raise CapabilityError(f"{symbol}: market {market!r} is not served by {names}", code="VT133")
        _require(serving[0].name, mode)


def _require(venue: str, mode: Mode) -> None:
    for capability in REQUIRED[mode]:
        cell = MATRIX[(venue, capability, mode)]
        if cell.support is Support.UNSUPPORTED:
            raise CapabilityError(
                f"{venue} × {mode}: {capability} is unsupported ({cell.note})", code="VT132"
            )
        if cell.support is Support.PLANNED:
            raise CapabilityError(
                f"{venue} × {mode}: {capability} is planned, not implemented ({cell.note})",
                code="VT131",
            )


def as_json() -> dict[str, object]:
    return {
        "venues": [
            {
                "name": v.name,
                "description": v.description,
                "markets": list(v.markets),
                "cells": [
                    {
                        "capability": c.value,
                        "mode": m.value,
                        "support": cell.support.value,
                        "note": cell.note,
                    }
                    for m in Mode
                    for c in Capability
                    for cell in [MATRIX[(v.name, c, m)]]
                ],
            }
            for v in VENUES
        ]
    }


_MARK = {Support.IMPLEMENTED: "yes", Support.PLANNED: "planned", Support.UNSUPPORTED: "no"}


def render_markdown() -> str:
    """The README table: one row per venue × capability, one column per mode."""
    lines = [
        "| venue | capability | " + " | ".join(m.value for m in Mode) + " |",
        "|---|---|" + "---|" * len(Mode),
    ]
    for v in VENUES:
        for c in Capability:
            cells = " | ".join(_MARK[MATRIX[(v.name, c, m)].support] for m in Mode)
            lines.append(f"| {v.name} | {c.value} | {cells} |")
    lines.append("")
    lines.append("Notes:")
    lines.append("")
    for v in VENUES:
        notes = "; ".join(f"{m.value}: {MATRIX[(v.name, Capability.SUBMIT, m)].note}" for m in Mode)
        lines.append(f"- **{v.name}** ({', '.join(v.markets)}): {notes}.")
    return "\n".join(lines) + "\n"


def render_text() -> str:
    width = max(len(v.name) for v in VENUES)
    header = f"{'venue':<{width}}  {'capability':<11}  " + "  ".join(f"{m.value:<11}" for m in Mode)
    rows = [header, "-" * len(header)]
    for v in VENUES:
        for c in Capability:
            cells = "  ".join(f"{MATRIX[(v.name, c, m)].support.value:<11}" for m in Mode)
            rows.append(f"{v.name:<{width}}  {c.value:<11}  {cells}")
    return "\n".join(rows) + "\n"
