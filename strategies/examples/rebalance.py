"""Equal-weight rebalancing: the reference portfolio strategy.

Holds the same weight of every symbol of ``universe`` that has a price, rebalanced on ``schedule``
(daily, weekly, monthly or on_demand; see docs/portfolio.md). The engine reads ``cash_buffer`` and
keeps at least that fraction of equity in cash: it absorbs the gap between the close the orders are
sized at and the open they fill at, so that the account never spends cash it does not have.

Run it: ``vibetrading replay strategies/examples/rebalance.py --data replay_fixtures/krx-kospi6-daily
--cash 10000000``.
"""

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Annotated, Literal

from engines.sdk import Bar, Bounds, Context, Params, PortfolioStrategy, Weights

# Weights are rounded down to this step, so that they never sum above 1.
STEP = Decimal("0.000001")


class RebalanceParams(Params, frozen=True, kw_only=True):
    universe: str = "krx:005380,krx:005930,krx:015760,krx:035420,krx:051910,krx:068270"
    schedule: Literal["daily", "weekly", "monthly", "on_demand"] = "monthly"
    cash_buffer: Annotated[Decimal, Bounds(ge=0, lt=1)] = Decimal("0.02")


class EqualWeightRebalance(PortfolioStrategy[RebalanceParams]):
    """Equal weights over the symbols that have a bar; the others wait at weight 0."""

    name = "rebalance"

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        priced = [symbol for symbol in self.universe if symbol in bars]
        if not priced:
            return {}
        weight = (Decimal(1) / len(priced)).quantize(STEP, rounding=ROUND_DOWN)
        return {symbol: weight for symbol in priced}


STRATEGY = EqualWeightRebalance
