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

Still to come (a later session): the REST client (aiohttp), the WebSocket clients (websockets), the
execution and market-data clients implementing the ports, and the emulator.
"""
