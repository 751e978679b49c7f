"""KIS (Korea Investment & Securities Open API), domestic stocks on KRX: the venue package.

The skeleton every venue repeats (DESIGN.md section 7; docs/kis.md). The pure layer:

* :mod:`adapters.kis.config`: the settings (``environment`` ``production`` = KIS real, ``test`` = KIS
  mock; account CANO/ACNT_PRDT_CD; HTS id), the paths and transaction ids (mock = real with T/J/C → V);
* :mod:`adapters.kis.schemas`: msgspec structs of the bodies read, keys lowered first (KIS spells
  them in either case), unknown fields accepted;
* :mod:`adapters.kis.parsers`: strict numbers, order rows → reports and fills, notices by position,
  AES-256-CBC payloads, market-data records;
* :mod:`adapters.kis.errors`: the typed errors and ``msg_cd`` → outcome.

The I/O half:

* :mod:`adapters.kis.auth`: the access token cached on disk (0600, atomic, at most one request a
  minute), the WebSocket approval key;
* :mod:`adapters.kis.rest`: the aiohttp REST client (headers, timeouts, the rate budget, paging);
* :mod:`adapters.kis.ws`: the WebSocket session (acks, PINGPONG, decryption, reconnects);
* :mod:`adapters.kis.execution`: :class:`~adapters.kis.execution.KisExecutionClient`;
* :mod:`adapters.kis.market_data`: :class:`~adapters.kis.market_data.KisMarketData`;
* :mod:`adapters.kis.decode`: :class:`~adapters.kis.decode.KisDecoder` for ``venue decode kis``;
* :mod:`adapters.kis.emulator` (with ``emulator_rest`` and ``emulator_ws``): :func:`serve_kis`.
"""
