"""The exchange behind every venue emulator: accounts, orders, trades and balances, with matching by
the pure simulated venue of engines/ (the matching the backtest and paper trading use).

A venue's emulator translates its protocol into calls on :class:`Exchange` and its answers back into
the venue's wire format. The exchange knows nothing of any protocol: it speaks engine commands and
engine events, and keeps per account what a venue keeps and reports:

* :class:`OrderRecord`: one order with the venue's numeric order id, the client's id as sent, its
  terms, its :class:`OrderState` and its cumulative fill;
* :class:`TradeRecord`: one fill with the venue's numeric trade id.

Client ids: Binance refuses a client id only while an order with it is open, Bybit refuses any it
has seen; each emulator checks its venue's rule with :meth:`Exchange.find` before it submits. The
simulated venue itself sees a unique internal id per order, so a reused client id is a new order.

Time is the wall clock. Market events are fed stamped with wall time (:mod:`adapters.emulator.market`
restamps a recording), so an order fills only against market data that arrives after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

import msgspec

from adapters.emulator.faults import Faults, FaultSpec
from adapters.sim.execution import SimExecutionClient
from adapters.transport.clock import WallClock
from engines.ledger import Ledger
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import Liquidity, OrderType, Side, TimeInForce
from engines.model.events import (
    CashAdjusted,
    Event,
    InstrumentDefined,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.sim.venue import SimVenue

__all__ = ["Account", "Exchange", "MarketEvent", "OrderRecord", "OrderState", "TradeRecord"]

MarketEvent = QuoteTick | TradeTick
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


class OrderState(StrEnum):
    """An order's state at the emulated venue (each emulator maps it to its venue's words)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderState.NEW, OrderState.PARTIALLY_FILLED)


@dataclass
class OrderRecord:
    order_id: int
    client_id: str
    symbol: str  # engine symbol: binance-spot:BTCUSDT
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    reduce_only: bool
    created_ms: int
    updated_ms: int
    state: OrderState = OrderState.NEW
    filled_qty: Decimal = _ZERO
    filled_quote: Decimal = _ZERO  # sum of qty * price of the fills
    reject_code: str = ""
    reject_reason: str = ""
    internal_id: str = ""

    @property
    def avg_px(self) -> Decimal:
        return self.filled_quote / self.filled_qty if self.filled_qty else _ZERO

    @property
    def leaves_qty(self) -> Decimal:
        return self.quantity - self.filled_qty if self.state.is_open else _ZERO

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "client_id": self.client_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.order_type.value,
            "time_in_force": self.time_in_force.value,
            "quantity": str(self.quantity),
            "price": None if self.price is None else str(self.price),
            "state": self.state.value,
            "filled_qty": str(self.filled_qty),
            "avg_px": str(self.avg_px),
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "reject_code": self.reject_code,
        }


@dataclass(frozen=True)
class TradeRecord:
    trade_id: int
    order_id: int
    client_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    cum_qty: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    time_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "client_id": self.client_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "price": str(self.price),
            "fee": str(self.fee),
            "fee_asset": self.fee_asset,
            "is_maker": self.is_maker,
            "time_ms": self.time_ms,
        }


UserListener = Callable[[OrderRecord, TradeRecord | None], None]
"""Called for every change of an account's order: its record after the change, and the trade that
made it (None for an ack, a cancel, an expiry or a reject)."""

MarketListener = Callable[[MarketEvent], None]


@dataclass
class Account:
    api_key: str
    secret: str
    ledger: Ledger
    client: SimExecutionClient
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    by_internal: dict[str, OrderRecord] = field(default_factory=dict)
    trades: list[TradeRecord] = field(default_factory=list)
    listeners: list[UserListener] = field(default_factory=list)
    #: every create the venue received, in order: (client id, outcome) for the chaos harness
    creates: list[tuple[str, str]] = field(default_factory=list)
    #: creates refused because their client id was in use: they reached the venue all the same
    duplicate_creates: list[str] = field(default_factory=list)


class Exchange:
    """One emulated venue's books: ``specs`` are its instruments (engine symbols), ``keys`` its API
    key → secret pairs (one account each), ``balances`` each account's starting assets."""

    def __init__(
        self,
        venue: str,
        specs: Iterable[InstrumentSpec],
        *,
        keys: Mapping[str, str],
        balances: Mapping[str, Decimal],
        faults: FaultSpec | None = None,
        seed: int = 0,
    ) -> None:
        self.venue = venue
        self.specs: dict[str, InstrumentSpec] = {s.symbol: s for s in specs}
        self.clock = WallClock()
        self.faults = Faults(faults or FaultSpec(), seed)
        self.accounts: dict[str, Account] = {}
        self.last_quote: dict[str, QuoteTick] = {}
        self.last_trade: dict[str, TradeTick] = {}
        self._market_listeners: list[MarketListener] = []
        self._next_order_id = 1
        self._next_trade_id = 1
        self._next_market_trade_id = 1
        for api_key, secret in keys.items():
            self.accounts[api_key] = self._open_account(api_key, secret, balances)

    # ── accounts ──

    def _open_account(self, api_key: str, secret: str, balances: Mapping[str, Decimal]) -> Account:
        ledger = Ledger()
        t0 = self.clock.now_ns()
        for spec in self.specs.values():
            ledger.apply(InstrumentDefined(ts_event=t0, ts_init=t0, spec=spec))
        funded_bases: set[str] = set()
        for asset, amount in sorted(balances.items()):
            spot = next(
                (s for s in self.specs.values() if s.kind is InstrumentKind.SPOT and s.base == asset), None
            )
            if spot is not None and amount > 0 and asset not in funded_bases:
                # a base asset is a spot position: deposit it as a fill at price 1 and give the price back
                funded_bases.add(asset)
                ledger.apply(
                    OrderFilled(
                        ts_event=t0,
                        ts_init=t0,
                        client_order_id="deposit",
                        instrument=spot.symbol,
                        side=Side.BUY,
                        trade_id=f"deposit-{asset}",
                        last_qty=amount,
                        last_px=_ONE,
                        cum_qty=amount,
                        fee=_ZERO,
                        fee_currency=spot.quote,
                    )
                )
                ledger.apply(
                    CashAdjusted(
                        ts_event=t0, ts_init=t0, currency=spot.quote, amount=amount, reason="deposit"
                    )
                )
            elif spot is None:
                ledger.apply(
                    CashAdjusted(ts_event=t0, ts_init=t0, currency=asset, amount=amount, reason="deposit")
                )
        venue = SimVenue(self.specs, ledger, clock=self.clock)
        client = SimExecutionClient(venue, ledger, name=self.venue, clock=self.clock)
        return Account(api_key=api_key, secret=secret, ledger=ledger, client=client)

    def account(self, api_key: str) -> Account | None:
        return self.accounts.get(api_key)

    # ── orders ──

    def find(
        self, api_key: str, *, client_id: str | None = None, order_id: int | None = None
    ) -> OrderRecord | None:
        """An account's order by venue order id, or by client id (the latest order that used it)."""
        account = self.accounts[api_key]
        if order_id is not None:
            return account.orders.get(order_id)
        found = None
        for record in account.orders.values():
            if record.client_id == client_id:
                found = record
        return found

    @property
    def next_order_id(self) -> int:
        """The venue order id the next :meth:`submit` assigns (before its first await), so that a
        protocol layer can label what its listeners hear about that order during the call."""
        return self._next_order_id

    def open_orders(self, api_key: str, symbol: str | None = None) -> list[OrderRecord]:
        return [
            r
            for r in self.accounts[api_key].orders.values()
            if r.state.is_open and (symbol is None or r.symbol == symbol)
        ]

    def trades(self, api_key: str, symbol: str | None = None) -> list[TradeRecord]:
        return [t for t in self.accounts[api_key].trades if symbol is None or t.symbol == symbol]

    async def submit(self, api_key: str, cmd: SubmitOrder) -> OrderRecord:
        """Place an order; the record says accepted (``NEW``, maybe filled already) or ``REJECTED``
        with the simulated venue's reject code."""
        account = self.accounts[api_key]
        now_ms = self.clock.now_ns() // 1_000_000
        order_id = self._next_order_id
        self._next_order_id += 1
        internal = f"{cmd.client_order_id}#{order_id}"
        record = OrderRecord(
            order_id=order_id,
            client_id=cmd.client_order_id,
            symbol=cmd.instrument,
            side=cmd.side,
            order_type=cmd.order_type,
            time_in_force=cmd.time_in_force,
            quantity=cmd.quantity,
            price=cmd.price,
            reduce_only=cmd.reduce_only,
            created_ms=now_ms,
            updated_ms=now_ms,
            internal_id=internal,
        )
        account.orders[order_id] = record
        account.by_internal[internal] = record
        answers = await account.client.submit(
            msgspec.structs.replace(cmd, client_order_id=internal, venue=self.venue)
        )
        accepted = any(isinstance(a, OrderAccepted) for a in answers)
        account.creates.append((cmd.client_order_id, "accepted" if accepted else "rejected"))
        self._apply(account, answers)
        if accepted:
            # a marketable order meets the book it was sent into at once, as on a venue with a live book
            quote = self.last_quote.get(cmd.instrument)
            if quote is not None and record.state.is_open:
                self._apply(account, account.client.feed(self._restamped(quote)))
        return record

    async def cancel(self, api_key: str, record: OrderRecord) -> bool:
        """Cancel an open order; False when it has ended already."""
        account = self.accounts[api_key]
        if not record.state.is_open:
            return False
        cmd = CancelOrder(
            ts_event=self.clock.now_ns(),
            ts_init=self.clock.now_ns(),
            strategy="emulator",
            venue=self.venue,
            client_order_id=record.internal_id,
            instrument=record.symbol,
        )
        answers = await account.client.cancel(cmd)
        self._apply(account, answers)
        return record.state is OrderState.CANCELED

    # ── market data ──

    def on_market(self, listener: MarketListener) -> Callable[[], None]:
        """Call ``listener`` with every market event; returns the function that stops it."""
        self._market_listeners.append(listener)
        return lambda: self._market_listeners.remove(listener) if listener in self._market_listeners else None

    def on_user(self, api_key: str, listener: UserListener) -> Callable[[], None]:
        """Call ``listener`` with every change of the account's orders; returns the function that stops it."""
        listeners = self.accounts[api_key].listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def feed(self, event: MarketEvent) -> None:
        """The market moved: match every account's working orders, then tell market listeners."""
        if isinstance(event, QuoteTick):
            self.last_quote[event.instrument] = event
        else:
            self.last_trade[event.instrument] = event
        for account in self.accounts.values():
            self._apply(account, account.client.feed(event))
        for listener in list(self._market_listeners):
            listener(event)

    def quote(
        self, symbol: str, bid: Decimal, ask: Decimal, bid_size: Decimal = _ONE, ask_size: Decimal = _ONE
    ) -> QuoteTick:
        """Feed a quote stamped now (tests move the market with it)."""
        now = self.clock.now_ns()
        tick = QuoteTick(
            ts_event=now,
            ts_init=now,
            instrument=symbol,
            bid=bid,
            bid_size=bid_size,
            ask=ask,
            ask_size=ask_size,
        )
        self.feed(tick)
        return tick

    def trade(self, symbol: str, price: Decimal, size: Decimal, aggressor: Side) -> TradeTick:
        """Feed a market trade stamped now."""
        now = self.clock.now_ns()
        tick = TradeTick(
            ts_event=now,
            ts_init=now,
            instrument=symbol,
            price=price,
            size=size,
            aggressor=aggressor,
            trade_id=str(self._next_market_trade_id),
        )
        self._next_market_trade_id += 1
        self.feed(tick)
        return tick

    def next_market_trade_id(self) -> int:
        self._next_market_trade_id += 1
        return self._next_market_trade_id - 1

    # ── balances and state ──

    def balances(self, api_key: str) -> dict[str, tuple[Decimal, Decimal]]:
        """asset → (free, locked), from the account's ledger and what its working orders hold."""
        account = self.accounts[api_key]
        ledger, venue = account.ledger, account.client
        snapshot = ledger.snapshot()
        totals: dict[str, Decimal] = dict(snapshot.cash)
        for symbol, spec in snapshot.instruments.items():
            if spec.settles_in_cash:
                totals[spec.base] = totals.get(spec.base, _ZERO) + ledger.position(symbol).qty
        locked = venue.locked()
        return {
            asset: (total - locked.get(asset, _ZERO), locked.get(asset, _ZERO))
            for asset, total in sorted(totals.items())
        }

    def position(self, api_key: str, symbol: str) -> tuple[Decimal, Decimal]:
        """(signed qty, average entry price) of a derivatives position."""
        pos = self.accounts[api_key].ledger.position(symbol)
        return pos.qty, pos.avg_px

    def state(self) -> dict[str, Any]:
        """``GET /_emulator/state``: every account's orders, fills and balances, and the faults injected."""
        return {
            "venue": self.venue,
            "faults": {"spec": self.faults.spec.render(), "injected": dict(self.faults.injected)},
            "accounts": {
                key: {
                    "orders": [r.as_json() for r in account.orders.values()],
                    "fills": [t.as_json() for t in account.trades],
                    "creates": [{"client_id": c, "outcome": o} for c, o in account.creates],
                    "balances": {
                        asset: {"free": str(free), "locked": str(locked)}
                        for asset, (free, locked) in self.balances(key).items()
                    },
                }
                for key, account in self.accounts.items()
            },
        }

    # ── internals ──

    def _restamped(self, quote: QuoteTick) -> QuoteTick:
        now = self.clock.now_ns()
        return msgspec.structs.replace(quote, ts_event=now, ts_init=now)

    def _apply(self, account: Account, events: Iterable[Event]) -> None:
        """Fold the simulated venue's answers into the account's records and tell its listeners."""
        for event in events:
            record = account.by_internal.get(getattr(event, "client_order_id", ""))
            if record is None:
                continue
            now_ms = self.clock.now_ns() // 1_000_000
            record.updated_ms = now_ms
            trade: TradeRecord | None = None
            if isinstance(event, OrderAccepted):
                pass
            elif isinstance(event, OrderRejected):
                record.state = OrderState.REJECTED
                record.reject_code, record.reject_reason = event.code, event.reason
            elif isinstance(event, OrderFilled):
                record.filled_qty = event.cum_qty
                record.filled_quote += event.last_qty * event.last_px
                record.state = (
                    OrderState.FILLED if event.cum_qty >= record.quantity else OrderState.PARTIALLY_FILLED
                )
                trade = TradeRecord(
                    trade_id=self._next_trade_id,
                    order_id=record.order_id,
                    client_id=record.client_id,
                    symbol=record.symbol,
                    side=record.side,
                    qty=event.last_qty,
                    price=event.last_px,
                    cum_qty=event.cum_qty,
                    fee=event.fee,
                    fee_asset=event.fee_currency,
                    is_maker=event.liquidity is Liquidity.MAKER,
                    time_ms=event.ts_event // 1_000_000,
                )
                self._next_trade_id += 1
                account.trades.append(trade)
            elif isinstance(event, OrderCanceled):
                record.state = OrderState.CANCELED
            elif isinstance(event, OrderExpired):
                record.state = OrderState.EXPIRED
            elif isinstance(event, OrderCancelRejected):
                continue
            else:
                continue
            for listener in list(account.listeners):
                listener(record, trade)
