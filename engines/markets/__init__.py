"""Market rules as data and pure checks: what a venue accepts, independent of any venue's code.

* :mod:`engines.markets.specs`: the built-in instrument spec table (tick, lot, minimums, fees);
* :mod:`engines.markets.prices`: the tick grid of a spec, safe rounding onto it, daily price bands;
* :mod:`engines.markets.krx`: the KRX rules (tick bands, price limit, session, KST days, sell tax);
* :mod:`engines.markets.sessions`: when a market's trading day turns.

The simulated venue applies them; an adapter can check an order with them before sending it.
"""
