"""Every fact, as frozen msgspec structs in one tagged union: what the journal stores.

Each event carries:

* ``seq``: its position in the journal (0 until the journal stamps it),
* ``ts_event``: when it happened at the venue (exchange time, UTC epoch nanoseconds),
* ``ts_init``: when this process created it (replay clock or realtime clock, ns),
* ``schema``: the schema version of its type, so old journals stay readable.

The tag field is ``type`` and its value is the class name, which is what ``journal export`` shows.
Money and quantities are :class:`~decimal.Decimal` (encoded as strings): no float ever holds a price.
The commands (:mod:`engines.model.commands`) share the base :class:`Record`; one codec
(:mod:`engines.model.codec`) encodes both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, get_args

import msgspec

from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side, TimeInForce
from engines.model.instruments import InstrumentSpec

SCHEMA_VERSION: Final = 1


class Record(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    """What every event and every command has: its two times and the schema version of its type."""

    ts_event: int
    ts_init: int
    schema: int = SCHEMA_VERSION


class Event(Record, frozen=True, kw_only=True):
    seq: int = 0


# ── market data ─────────────────────────────────────────────────────────────────────────────────


class TradeTick(Event, frozen=True, kw_only=True):
    instrument: str
    price: Decimal
    size: Decimal
    aggressor: Side
    trade_id: str


class QuoteTick(Event, frozen=True, kw_only=True):
    instrument: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal


class Bar(Event, frozen=True, kw_only=True):
    """A bar is known when it closes: ``ts_event`` is the close time, ``ts_event - interval_ns`` the open."""

    instrument: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    interval_ns: int


MarketEvent = TradeTick | QuoteTick | Bar


# ── order lifecycle ─────────────────────────────────────────────────────────────────────────────


class OrderSubmitted(Event, frozen=True, kw_only=True):
    """The intent, journalled before the request leaves the process (DESIGN.md section 5).

    The arbitrage fields are set on every leg of an arbitrage: ``arb_id`` groups the legs, ``leg`` is
    the 0-based index in the intent's order, ``aligned_ts_ns`` the exchange timestamps of each leg's
    quote in the snapshot that triggered it.
    """

    strategy: str
    client_order_id: str
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    arb_id: str | None = None
    leg: int | None = None
    aligned_ts_ns: tuple[int, ...] | None = None
    #: where the order was routed: recovery queries this venue for it (journals before the field was
    #: added were backtests, all routed to the simulated venue)
    venue: str = "sim"


class OrderAccepted(Event, frozen=True, kw_only=True):
    client_order_id: str
    venue_order_id: str


class OrderRejected(Event, frozen=True, kw_only=True):
    client_order_id: str
    reason: str
    code: str = ""


class OrderFilled(Event, frozen=True, kw_only=True):
    """One execution. ``cum_qty`` is the venue's cumulative filled quantity after it: the truth."""

    client_order_id: str
    instrument: str
    side: Side
    trade_id: str
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity = Liquidity.TAKER


class OrderPendingCancel(Event, frozen=True, kw_only=True):
    client_order_id: str


class OrderCancelRejected(Event, frozen=True, kw_only=True):
    client_order_id: str
    reason: str


class OrderCanceled(Event, frozen=True, kw_only=True):
    client_order_id: str
    reason: str = ""


class OrderExpired(Event, frozen=True, kw_only=True):
    client_order_id: str


# ── order lifecycle at a live venue: unknown outcomes, queries, reconciliation ─────────────────


class OrderStatusUnknown(Event, frozen=True, kw_only=True):
    """A request's outcome is unknown (timeout, 5xx, lost connection): the order is UNKNOWN until a
    query by client order id answers (an :class:`OrderStatusReport`); it is never sent again."""

    client_order_id: str
    reason: str


class OrderStatusReport(Event, frozen=True, kw_only=True):
    """What a venue says about one order, when queried or reconciled.

    ``filled_qty`` is the venue's cumulative filled quantity: the truth, like a fill's ``cum_qty``;
    above the fills seen, it says that fills are missing. ``external`` marks an order found at the
    venue that the journal never saw (the fold adopts it instead of refusing an unknown id).
    """

    client_order_id: str
    venue: str
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    status: ReportedStatus
    filled_qty: Decimal
    venue_order_id: str | None = None
    price: Decimal | None = None
    avg_px: Decimal | None = None
    reason: str | None = None
    external: bool = False


class FillReport(OrderFilled, frozen=True, kw_only=True):
    """One execution found by reconciliation (fills since a cursor) rather than by the stream.

    It has exactly the fields of :class:`OrderFilled` and is one (a subclass), so whatever folds
    fills (order book, ledger, engines) folds it the same way; its own tag keeps the journal saying
    where the fill came from. Fills are deduplicated by trade id across both kinds: an execution
    that the stream and the reconciliation both deliver is folded once.
    """


OrderEvent = (
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderPendingCancel
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderStatusUnknown
    | OrderStatusReport
    | FillReport
)

ORDER_EVENTS: Final[tuple[type[Event], ...]] = get_args(OrderEvent)
"""The order events as a tuple for isinstance, derived from the union: one list, never two."""


# ── ledger ──────────────────────────────────────────────────────────────────────────────────────


class InstrumentDefined(Event, frozen=True, kw_only=True):
    """Puts an instrument's spec in the journal, so that the ledger is a fold over the journal alone."""

    spec: InstrumentSpec


class CashAdjusted(Event, frozen=True, kw_only=True):
    """Cash that enters or leaves for a reason other than trading: initial capital, deposits, funding."""

    currency: str
    amount: Decimal
    reason: str


class MarkPrice(Event, frozen=True, kw_only=True):
    """A price to mark a position at, when the market events do not give one (for example at a close)."""

    instrument: str
    price: Decimal


# ── system ──────────────────────────────────────────────────────────────────────────────────────


class DataFile(msgspec.Struct, frozen=True, kw_only=True):
    """One ``--data`` input of a run: its name (not its directory, so the journal does not depend on
    where the file lies) and what identifies its bytes."""

    name: str
    format: str
    sha256: str
    bytes: int


class RunSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a backtest was run with, beyond the strategy and its parameters: the report shows it."""

    cash: Decimal
    fee_bps: Decimal | None = None
    latency_ns: int = 0
    reject_every: int | None = None
    reject_prob: Decimal | None = None
    seed: int = 0
    sample_ns: int = 0
    data: tuple[DataFile, ...] = ()
    #: the ``--instruments`` file, when the run defined its own markets or symbols
    instruments: DataFile | None = None


class RunStarted(Event, frozen=True, kw_only=True):
    run_id: str
    strategy: str
    strategy_type: str
    mode: str
    venues: tuple[str, ...]
    params: dict[str, str]
    strategy_sha256: str
    data_sha256: tuple[str, ...] = ()
    #: a backtest's settings; UNSET (never encoded) elsewhere, so a live session's records and
    #: journals written before the field existed keep their bytes
    settings: RunSettings | msgspec.UnsetType = msgspec.UNSET


class RunFinished(Event, frozen=True, kw_only=True):
    run_id: str
    reason: str


class StrategyHalted(Event, frozen=True, kw_only=True):
    strategy: str
    reason: str
    code: str = ""


class StrategyLog(Event, frozen=True, kw_only=True):
    """A line the strategy wrote through its context: part of the decision record."""

    strategy: str
    message: str


class SnapshotSkipped(Event, frozen=True, kw_only=True):
    """Arbitrage snapshots that were not aligned within the window: counted, never traded.

    Coalesced: one event stands for ``count`` consecutive stale snapshots, ``spread_ns`` being the
    widest timestamp spread among them, so a long stale stretch is one record, not thousands.
    """

    strategy: str
    spread_ns: int
    count: int = 1


class Rebalanced(Event, frozen=True, kw_only=True):
    """A portfolio rebalance: the checked target weights and the orders they turned into.

    ``turnover`` is the notional the orders trade, as a fraction of equity at the rebalance.
    """

    strategy: str
    weights: dict[str, Decimal]
    orders: int
    turnover: Decimal


class ArbitrageResolved(Event, frozen=True, kw_only=True):
    """How an arbitrage intent ended: ``filled`` (every leg), ``unwound``, ``hedged`` or ``halted``."""

    strategy: str
    arb_id: str
    outcome: str
    reason: str = ""


# ── a live session: what its driver adds, so that a restart or a re-drive folds it the same way ──


class TimerFired(Event, frozen=True, kw_only=True):
    """The live driver let the engine act at its deadlines before ``ts_event`` (wall clock): a
    re-drive of the journal fires the same timers at the same place in the sequence."""


class TradingHalted(Event, frozen=True, kw_only=True):
    """No new order leaves until :class:`TradingResumed`: the operator (``vibetrading halt``,
    ``POST /halt``), a risk limit (the daily loss) or the daemon (an unexplained reconciliation
    difference, a strategy call over its budget). Journalled, so a halt survives a restart."""

    reason: str
    source: str
    code: str = ""


class TradingResumed(Event, frozen=True, kw_only=True):
    """The operator lifted a halt (``vibetrading resume``)."""

    source: str


class ReconciliationDifference(Event, frozen=True, kw_only=True):
    """What a start found at a venue that the journal cannot account for (a position, an order with
    our id prefix it never saw): trading stays stopped unless the operator adopts it."""

    venue: str
    kind: str
    detail: str
    adopted: bool = False


LedgerEvent = InstrumentDefined | CashAdjusted | MarkPrice
SystemEvent = (
    RunStarted
    | RunFinished
    | StrategyHalted
    | StrategyLog
    | SnapshotSkipped
    | Rebalanced
    | ArbitrageResolved
    | TimerFired
    | TradingHalted
    | TradingResumed
    | ReconciliationDifference
)

AnyEvent = MarketEvent | OrderEvent | LedgerEvent | SystemEvent
