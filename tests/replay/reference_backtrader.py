"""The SMA-cross rules re-implemented on backtrader, an independent backtester.

Only the signal arithmetic is shared in spirit (exact decimal SMAs, compared by cross-multiplying,
as the rules demand); order execution, cash, commission and equity are backtrader's own: market
orders fill at the next bar's open, commission is a percentage of notional.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path

import backtrader as bt  # type: ignore[import-untyped]


def read_bars(path: Path) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        reader = csv.reader(f)
        header = next(reader)
        assert header == ["ts_ns", "open", "high", "low", "close", "volume"], header
        return [(int(r[0]), *(Decimal(x) for x in r[1:6])) for r in reader]  # type: ignore[misc]


class _Feed(bt.feed.DataBase):  # type: ignore[misc]
    def __init__(self, rows: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]) -> None:
        super().__init__()
        self._rows = iter(rows)

    def _load(self) -> bool:
        row = next(self._rows, None)
        if row is None:
            return False
        ts, o, h, low, c, v = row
        when = dt.datetime.fromtimestamp(ts / 1e9, tz=dt.UTC).replace(tzinfo=None)
        self.lines.datetime[0] = bt.date2num(when)
        self.lines.open[0], self.lines.high[0], self.lines.low[0] = float(o), float(h), float(low)
        self.lines.close[0], self.lines.volume[0] = float(c), float(v)
        self.lines.openinterest[0] = 0.0
        return True


class _SmaCross(bt.Strategy):  # type: ignore[misc]
    params = (("fast", 10), ("slow", 30), ("size", 0.01), ("closes", None))

    def __init__(self) -> None:
        self.previous: int | None = None
        self.fills: list[tuple[str, float, float, dt.datetime]] = []

    def _relation(self) -> int | None:
        i = len(self) - 1
        n_fast, n_slow = self.p.fast, self.p.slow
        if i + 1 < max(n_fast, n_slow):
            return None
        closes = self.p.closes
        fast_sum = sum(closes[i + 1 - n_fast : i + 1], Decimal(0))
        slow_sum = sum(closes[i + 1 - n_slow : i + 1], Decimal(0))
        diff = fast_sum * n_slow - slow_sum * n_fast
        return (diff > 0) - (diff < 0)

    def next(self) -> None:
        relation = self._relation()
        previous, self.previous = self.previous, relation
        if relation is None or previous is None:
            return
        if not self.position and previous < 0 and relation > 0:
            self.buy(size=self.p.size)
        elif self.position and previous > 0 and relation < 0:
            self.sell(size=self.p.size)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            side = "buy" if order.isbuy() else "sell"
            self.fills.append(
                (side, order.executed.price, order.executed.size, bt.num2date(order.executed.dt))
            )


def run(path: Path, *, fast: int, slow: int, size: str, cash: str, fee_bps: str) -> dict[str, object]:
    rows = read_bars(path)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(_Feed(rows))
    cerebro.addstrategy(_SmaCross, fast=fast, slow=slow, size=float(size), closes=[r[4] for r in rows])
    cerebro.broker.setcash(float(cash))
    cerebro.broker.setcommission(commission=float(Decimal(fee_bps) / 10_000))
    (strategy,) = cerebro.run()
    return {"final_equity": cerebro.broker.getvalue(), "fills": strategy.fills}
