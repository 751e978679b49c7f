"""Binance (spot ``/api/v3`` and USD-M futures ``/fapi/v1``): the venue package.

The skeleton every venue repeats (DESIGN.md section 7). The pure layer, with no network I/O:

* :mod:`adapters.binance.config`: the venue's settings (environment ``production`` | ``test``, the
  REST and WebSocket base URLs per environment, overrides for an emulator, ``recv_window_ms``);
* :mod:`adapters.binance.schemas`: msgspec structs of the wire messages, named as Binance documents
  them (single-letter keys renamed to readable attributes); unknown fields are always accepted;
* :mod:`adapters.binance.parsers`: pure functions wire → engine events (quotes, trades, order
  lifecycle from the user data stream, status reports and fill reports from REST), given the symbol
  mapping (``binance-spot:BTCUSDT`` ↔ ``BTCUSDT``) and the venue name;
* :mod:`adapters.binance.signing`: HMAC-SHA256 request signing over the exact bytes sent;
* :mod:`adapters.binance.errors`: the classification of Binance's error codes into what the
  execution client does next (rejected, unknown, back off, halt, duplicate, clock), and the typed
  errors of malformed venue messages.

The I/O half, on the shared transport (:mod:`adapters.transport`: backoff, rate budget, clock offset):

* :mod:`adapters.binance.filters`: tick, step, minimum quantity and notional from ``exchangeInfo``;
  an order outside them is VT809 before anything is sent;
* :mod:`adapters.binance.rest`: the aiohttp REST client (signed, timed out, rate-budgeted, classified);
* :mod:`adapters.binance.ws`: a WebSocket connection on ``websockets`` that reconnects with backoff;
* :mod:`adapters.binance.execution`: :class:`~adapters.binance.execution.BinanceExecutionClient`, the
  execution port (spot or USD-M), with the user data stream and reconciliation after reconnects;
* :mod:`adapters.binance.market_data`: :class:`~adapters.binance.market_data.BinanceMarketData`, the
  market-data port (bookTicker, trade, kline);
* :mod:`adapters.binance.emulator` (with ``emulator_rest`` and ``emulator_ws``): the venue's protocol
  over the simulated venue, for tests and ``vibetrading venue serve binance``.
"""
