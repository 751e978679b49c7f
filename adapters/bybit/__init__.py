"""Bybit v5 (spot and linear): the venue package.

The skeleton every venue repeats (DESIGN.md section 7). The pure layer, with no network I/O:

* :mod:`adapters.bybit.config`: the settings (environment ``production`` | ``test``, base URLs of
  REST ``/v5`` and of the WebSocket paths per environment, emulator overrides, ``recv_window_ms``);
* :mod:`adapters.bybit.schemas`: msgspec structs of the v5 wire messages (public ``publicTrade``,
  ``orderbook.1``, ``tickers``; private ``order``, ``execution``, ``wallet``; the REST envelope and
  the order create/cancel, order list and execution list results). Unknown fields are always accepted;
  numbers arrive as strings and decode into :class:`~decimal.Decimal` exactly;
* :mod:`adapters.bybit.parsers`: pure functions wire → engine events (quotes, trades, order acks,
  cancels, rejects, expiries, fills, status reports, fill reports), given the symbol mapping;
* :mod:`adapters.bybit.signing`: the v5 HMAC-SHA256 request signature and headers, and the private
  WebSocket ``auth`` message;
* :mod:`adapters.bybit.errors`: the typed errors of the adapter and the classification of Bybit's
  ``retCode`` values (and HTTP statuses) into what the caller must do.

The I/O half, on the shared transport (:mod:`adapters.transport`):

* :mod:`adapters.bybit.filters`: tick, step and minimums from ``instruments-info`` (VT809);
* :mod:`adapters.bybit.rest`: the aiohttp REST client (signed, timed out, rate-budgeted per endpoint);
* :mod:`adapters.bybit.ws`: WebSocket connections (ping, auth, resubscribe, book gap resync);
* :mod:`adapters.bybit.execution`: :class:`~adapters.bybit.execution.BybitExecutionClient`, the
  execution port (spot or linear), with the private stream and reconciliation after reconnects;
* :mod:`adapters.bybit.market_data`: :class:`~adapters.bybit.market_data.BybitMarketData`, the
  market-data port (orderbook.1 quotes, publicTrade, kline bars);
* :mod:`adapters.bybit.emulator` (with ``emulator_rest`` and ``emulator_ws``): the venue's protocol
  over the simulated venue, for tests and ``vibetrading venue serve bybit``.
"""
