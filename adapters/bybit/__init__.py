"""Bybit v5 (spot and linear): the pure layer of the venue adapter, with no network I/O.

The skeleton every venue repeats (DESIGN.md section 7):

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

The REST and WebSocket clients, the execution and market-data clients and the emulator come later.
"""
