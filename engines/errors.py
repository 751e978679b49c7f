"""Typed errors of the pure core, and the one registry of every error code.

Every error a user can cause carries a stable ``code``, a message, a one-sentence ``hint`` saying what
to do, and where known the file and line it applies to. The CLI prints these and never a traceback.
``ERROR_CODES`` is the single source for docs/errors.md (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Final, NamedTuple


class ErrorCode(NamedTuple):
    title: str
    hint: str


ERROR_CODES: Final[dict[str, ErrorCode]] = {
    # ── declaration and routing (1xx) ──
    "VT100": ErrorCode(
        "no strategy declared",
        "Define a module-level STRATEGY naming your strategy class.",
    ),
    "VT101": ErrorCode(
        "unknown strategy type",
        "Derive from SingleAssetStrategy, PortfolioStrategy or ArbitrageStrategy "
        "(types single, portfolio, arbitrage).",
    ),
    "VT102": ErrorCode(
        "strategy class is not a declaration",
        "STRATEGY must be a class derived from exactly one of the three SDK strategy bases.",
    ),
    "VT103": ErrorCode(
        "command line conflicts with the declared type",
        "The strategy file declares the type; drop the option or edit the declaration.",
    ),
    "VT104": ErrorCode(
        "strategy hook missing",
        "Override the hook your strategy type is called through (see docs/strategies.md).",
    ),
    "VT110": ErrorCode(
        "unknown parameter",
        "Use one of the parameters the strategy's Params class declares.",
    ),
    "VT111": ErrorCode(
        "invalid parameter value",
        "Give a value of the declared type within its bounds.",
    ),
    "VT112": ErrorCode(
        "parameter class missing or invalid",
        "Declare the strategy as Base[MyParams] with MyParams a subclass of Params.",
    ),
    "VT113": ErrorCode(
        "malformed --param",
        "Write parameters as --param name=value.",
    ),
    "VT120": ErrorCode(
        "invalid symbol",
        "Write symbols as venue:instrument, for example binance-spot:BTCUSDT or krx:005930.",
    ),
    "VT121": ErrorCode(
        "universe size out of bounds",
        "single takes exactly 1 symbol, portfolio 2 to 500, arbitrage 2 to 3.",
    ),
    "VT122": ErrorCode(
        "duplicate symbol in universe",
        "List each symbol once.",
    ),
    "VT130": ErrorCode(
        "unknown venue",
        "Use a venue from `vibetrading capabilities`: sim, binance, bybit, kis, kiwoom.",
    ),
    "VT131": ErrorCode(
        "venue and mode not implemented yet",
        "Pick a venue and mode the capability matrix marks implemented.",
    ),
    "VT132": ErrorCode(
        "venue and mode unsupported",
        "This combination can never work; the matrix note says what to use instead.",
    ),
    "VT133": ErrorCode(
        "market not served by the venue",
        "Route this market through a venue that lists it in `vibetrading capabilities`.",
    ),
    "VT134": ErrorCode(
        "unknown market",
        "Use a market listed by `vibetrading capabilities` (krx, binance-spot, ...); for a replay, "
        "define your own with --instruments FILE (docs/replay.md).",
    ),
    "VT135": ErrorCode(
        "no instrument spec for symbol",
        'Define the market in a TOML file passed with --instruments FILE (docs/replay.md "Your own '
        'instruments"), or use a market the built-in table covers (docs/sim.md).',
    ),
    "VT136": ErrorCode(
        "invalid instruments file",
        'Fix the section and key the message names; docs/replay.md "Your own instruments" lists '
        "every key and its allowed values.",
    ),
    # ── KRX order rules (14x) ──
    "VT140": ErrorCode(
        "not a valid KRX order",
        "Send KRX orders for krx: instruments, limit orders with a positive price (docs/krx.md).",
    ),
    "VT141": ErrorCode(
        "KRX quantity is not whole shares",
        "KRX trades in lots of 1 share: give a positive whole number of shares.",
    ),
    "VT142": ErrorCode(
        "price off the KRX tick grid",
        "Round the price to the KRX tick of its band (docs/krx.md), 5 KRW for ETFs, ETNs and ELWs.",
    ),
    "VT143": ErrorCode(
        "price outside the KRX daily limit",
        "Keep the price within ±30% of the day's base price (the previous close).",
    ),
    "VT144": ErrorCode(
        "KRX is closed that day",
        "Send the order on a KRX trading day: not a weekend or a KRX holiday, by the dated table or, "
        "when connected to KIS, by KIS's chk-holiday answer (docs/krx.md).",
    ),
    "VT145": ErrorCode(
        "KRX session not open",
        "Send the order while a KRX session that takes it is open (the session table in docs/krx.md).",
    ),
    "VT146": ErrorCode(
        "order type not allowed in the KRX session",
        "Use an order type the session takes: market and stop-limit orders only in the regular sessions.",
    ),
    "VT147": ErrorCode(
        "price breaks the KRX off-hours price rule",
        "Pre- and post-market orders trade at the close; after-hours single-price within ±10% of the close.",
    ),
    # ── sandbox (2xx) ──
    "VT200": ErrorCode("sandbox violation", "See docs/sandbox.md for what a strategy file may do."),
    "VT201": ErrorCode(
        "forbidden import",
        "Import only engines.sdk and the modules listed in docs/sandbox.md; "
        "time and randomness come from ctx.",
    ),
    "VT202": ErrorCode(
        "forbidden or unavailable name",
        "Use only the builtins listed in docs/sandbox.md; rename variables that shadow forbidden names.",
    ),
    "VT203": ErrorCode(
        "forbidden attribute",
        "Use the object's public API; double-underscore and frame attributes are not available.",
    ),
    "VT204": ErrorCode(
        "source not UTF-8 or not valid Python", "Fix the source at the reported line; save the file as UTF-8."
    ),
    "VT205": ErrorCode(
        "load budget exceeded",
        "Keep module-level code to definitions; do heavy work in on_start or the hooks.",
    ),
    "VT206": ErrorCode(
        "exception while loading the strategy",
        "Fix the error at the reported line: module-level code runs once, at load.",
    ),
    "VT207": ErrorCode(
        "unsafe str.format",
        "Use an f-string, or call .format on a literal whose fields hold no '.' or '['.",
    ),
    "VT208": ErrorCode(
        "oversized constant",
        "Keep constants below 2**100000 and literal repetitions below 10,000,000 items.",
    ),
    "VT209": ErrorCode(
        "string names an interpreter internal",
        "Strategies never need strings such as '__class__'; remove it.",
    ),
    "VT210": ErrorCode("class built from strings", "Declare the class with the class statement."),
    # ── output contracts, checked on every call (3xx) ──
    "VT300": ErrorCode(
        "single-asset output of the wrong shape",
        "Return TargetPosition, a list of OrderIntent, or None.",
    ),
    "VT301": ErrorCode(
        "single-asset quantity invalid",
        "Quantities must be finite Decimals (positive for order intents).",
    ),
    "VT302": ErrorCode(
        "order intent price missing or invalid",
        "Limit orders need a finite positive limit; stop orders a stop price.",
    ),
    "VT310": ErrorCode(
        "weight for a symbol outside the universe",
        "Return weights only for symbols of the declared universe.",
    ),
    "VT311": ErrorCode(
        "weight not a finite number",
        "Return finite Decimal weights.",
    ),
    "VT312": ErrorCode(
        "weight outside its bounds",
        "Keep each weight within the strategy's min_weight and max_weight.",
    ),
    "VT313": ErrorCode(
        "weights sum above 1",
        "Scale the weights so they sum to at most 1 (the rest stays in cash).",
    ),
    "VT314": ErrorCode(
        "negative weight without allow_short",
        "Set allow_short = True on the strategy or return weights of at least 0.",
    ),
    "VT315": ErrorCode(
        "portfolio output of the wrong shape",
        "Return a mapping of symbol to Decimal weight.",
    ),
    "VT320": ErrorCode(
        "arbitrage output of the wrong shape",
        "Return ArbIntent with 2 or 3 LegOrder, or None.",
    ),
    "VT321": ErrorCode(
        "arbitrage leg not among the declared legs",
        "Each LegOrder must name a distinct symbol of the legs parameter.",
    ),
    "VT322": ErrorCode(
        "arbitrage leg quantity or limit invalid",
        "Leg quantities must be finite and positive; limits finite and positive.",
    ),
    # ── market data (5xx) ──
    "VT500": ErrorCode(
        "data file unreadable",
        "Check that the file exists and is a complete gzip CSV (`gzip -t FILE`); fetch it again "
        "if it is truncated.",
    ),
    "VT501": ErrorCode(
        "data file name or kind not recognised",
        "Name files <venue>_<instrument>_<kind>_<period>.csv.gz with kind trades, quotes, "
        "bars<N>s/m/h/d, dailyohlcv or dailyclose (see docs/data.md).",
    ),
    "VT502": ErrorCode(
        "data header invalid",
        "The first line must list exactly the columns of the file's kind, in order (see docs/data.md).",
    ),
    "VT503": ErrorCode(
        "data row has the wrong number of cells",
        "Give every row one cell per header column; look for a cut or merged line.",
    ),
    "VT504": ErrorCode(
        "data cell invalid",
        "Prices and sizes are finite non-negative decimals, ts_ns integer UTC nanoseconds, "
        "dates YYYY-MM-DD, aggressor buy or sell; no empty cells.",
    ),
    "VT505": ErrorCode(
        "data timestamps go backwards",
        "Sort the file by time; equal timestamps are allowed and keep their file order.",
    ),
    "VT506": ErrorCode(
        "no data rows",
        "Give a file (or a selection) with a header and at least one data row.",
    ),
    "VT507": ErrorCode(
        "crossed quote",
        "A quote needs bid <= ask; fix or drop the row where it was exported.",
    ),
    "VT508": ErrorCode(
        "inconsistent bar",
        "A bar needs low <= open <= high and low <= close <= high.",
    ),
    "VT509": ErrorCode(
        "replay fixture invalid",
        "Import the fixture again from its source files (daemon.data.import_files); "
        "never edit manifest.json or events.vtm by hand.",
    ),
    "VT510": ErrorCode(
        "no data for a symbol of the universe",
        "Give --data that holds every symbol the strategy trades (every arbitrage leg), "
        "or change the universe parameter.",
    ),
    "VT511": ErrorCode(
        "the same data given twice",
        "Give each data file once; two paths to one file (a link, a copy) count as the same data.",
    ),
    "VT512": ErrorCode(
        "two data sources overlap in time for one instrument",
        "Give one source per instrument and period; split or trim the files so their times do not overlap.",
    ),
    "VT513": ErrorCode(
        "timestamp outside the plausible range",
        "ts_ns is UTC epoch nanoseconds between 1990 and 2100; a value in seconds or milliseconds "
        "needs multiplying by 1e9 or 1e6.",
    ),
    "VT514": ErrorCode(
        "data path is not a regular file",
        "Give a regular file (or a replay fixture directory); pipes, devices and sockets are refused.",
    ),
    # ── journal (6xx) ──
    "VT600": ErrorCode(
        "not a journal file",
        "Check the path: a journal starts with the bytes VTJ1 and a format version this build reads.",
    ),
    "VT601": ErrorCode(
        "journal record truncated",
        "The journal ends in a torn write from a crash; open it with repair to truncate the torn tail "
        "(the records before it are intact).",
    ),
    "VT602": ErrorCode(
        "journal record checksum mismatch",
        "The journal is damaged at the reported offset; "
        "restore it from a copy (verify shows the intact prefix).",
    ),
    "VT603": ErrorCode(
        "journal record undecodable",
        "The record is not an event this version knows; read it with the version that wrote it.",
    ),
    "VT604": ErrorCode(
        "journal sequence gap or disorder",
        "Records were lost, reordered or spliced in; restore the journal from a copy.",
    ),
    "VT605": ErrorCode(
        "journal I/O error",
        "Check the path, permissions and free space, and that no other process writes the journal.",
    ),
    "VT606": ErrorCode(
        "journal path is not a regular file",
        "Give a run directory or its journal.vtj; pipes, devices and sockets are refused.",
    ),
    "VT607": ErrorCode(
        "journal record length implausible",
        "This is not a journal, or it is damaged at the reported offset; verify shows the intact prefix.",
    ),
    "VT330": ErrorCode(
        "strategy raised an exception",
        "Fix the strategy code at the reported line; the run stops rather than guess.",
    ),
    "VT340": ErrorCode(
        "arbitrage leg below one lot after conversion",
        "Raise the leg quantity: it must convert to at least one lot and the instrument's min_qty "
        "(inverse legs: quantity × price / multiplier contracts, e.g. 100 USD per BTCUSD-PERP contract).",
    ),
    "VT341": ErrorCode(
        "arbitrage leg has no usable price",
        "The leg's quote or limit gives no usable price; check the data for an empty side, "
        "or give a limit of at least one tick.",
    ),
    "VT342": ErrorCode(
        "arbitrage configuration invalid",
        "Fix the arbitrage parameters or the legs' instrument specs (see docs/arbitrage.md).",
    ),
    "VT343": ErrorCode(
        "arbitrage leg failed under policy halt",
        "Inspect the arbitrage's orders and ArbitrageResolved reason in the journal, flatten the open legs, "
        "then restart or choose policy unwind or hedge.",
    ),
    "VT344": ErrorCode(
        "arbitrage unwind failed",
        "Flatten the leg named in the halt by hand (the venue refused the unwind 3 times), "
        "then restart the strategy.",
    ),
    # ── runs, outputs and options (7xx) ──
    "VT700": ErrorCode(
        "output directory holds something other than a run",
        "Give --out a new directory, or one a previous run wrote (it holds .vibetrading-run); "
        "nothing in it was touched.",
    ),
    "VT701": ErrorCode(
        "output directory in use by another run",
        "Wait for the other run to end, or give a different --out.",
    ),
    "VT702": ErrorCode(
        "output directory already holds a run",
        "Add --force to replace the previous run, or give a different --out.",
    ),
    "VT703": ErrorCode(
        "file-system error",
        "Check the path, its permissions and the free space; the message names the path and the reason.",
    ),
    "VT704": ErrorCode(
        "report could not be written; the journal is kept",
        "Free space or fix permissions and run the replay again; the journal kept at the path shown "
        "holds every fact of the run (`vibetrading journal export`).",
    ),
    "VT710": ErrorCode(
        "option value out of range",
        "Give the option a value within the range the message states (`vibetrading COMMAND --help`).",
    ),
    "VT711": ErrorCode(
        "sweep option invalid",
        "Fix the option the message names: --grid NAME=V1,V2,... (or NAME=LO..HI) with a parameter the "
        "strategy declares, --objective KEY[:max|:min] with a report.json key, --walk-forward TRAIN/TEST "
        "as durations such as 7d/1d (docs/sweep.md).",
    ),
    "VT720": ErrorCode(
        "run interrupted",
        "The run was stopped by a signal; nothing of it was kept. Run it again.",
    ),
    "VT730": ErrorCode(
        "recording cannot start or be written",
        "Fix --out as the message says (a .csv.gz name; with several symbols, a data file name such as "
        "binance-spot_BTCUSDT_quotes_20261203.csv.gz); an existing file is never overwritten.",
    ),
    # ── venues (8xx) ──
    "VT800": ErrorCode(
        "venue message malformed",
        "The venue sent something its documented protocol does not allow; the message is in the "
        "error. Report it with the raw frame (`vibetrading venue decode` reproduces it).",
    ),
    "VT801": ErrorCode(
        "venue symbol not in the run's mapping",
        "A message names an instrument the run does not trade; subscribe only to the universe's symbols.",
    ),
    "VT802": ErrorCode(
        "venue value with no mapping",
        "A status, side, order type or execution type this adapter does not know; report it with the "
        "raw frame.",
    ),
    "VT803": ErrorCode(
        "venue refused a request",
        "The error carries the venue's code and how it was classified (rejected, query first, back "
        "off, halt); docs/venues.md explains the outcomes, adapters/<venue>/errors.py holds each table.",
    ),
    "VT804": ErrorCode(
        "venue WebSocket refused an operation",
        "Check the credentials (auth) or the topic (subscribe) named in the message.",
    ),
    "VT805": ErrorCode(
        "venue settings invalid",
        "Fix the venue's table in the run configuration: environment, URLs, receive window.",
    ),
    "VT806": ErrorCode(
        "venue halted: no request is sent to it",
        "The venue refused the key, the signature or the IP (an IP ban, HTTP 418 or 403), or the "
        "operator halted it; the message says which and until when. Fix the cause, then restart.",
    ),
    "VT807": ErrorCode(
        "order outcome still unknown after its queries",
        "The venue did not answer the status queries for the order within their bounded backoff; "
        "nothing was resent. Check the venue's status page and the order in its web UI.",
    ),
    "VT808": ErrorCode(
        "emulator settings invalid",
        "Fix the `vibetrading venue serve` option named in the message (--faults, --keys, --balance, "
        "--data); `vibetrading venue serve --help` lists the forms.",
    ),
    "VT809": ErrorCode(
        "order outside the venue's instrument filters",
        "The price or quantity, rounded to the venue's tick and step, is zero or below the minimum "
        "notional or quantity in the venue's instrument info; the order was not sent.",
    ),
    "VT810": ErrorCode(
        "venue rate budget exhausted",
        "The request would exceed the venue's published rate limit within the time allowed for it; "
        "it was not sent. Send fewer requests, or raise the timeout.",
    ),
    "VT811": ErrorCode(
        "venue client cannot be built as asked",
        "Name a venue that has clients (binance, bybit) and symbols of its markets "
        "(binance-spot:, binance-usdm:, bybit-spot:, bybit-linear:).",
    ),
    # ── release readiness (92x) ──
    "VT920": ErrorCode(
        "waiver file cannot be read",
        "Fix ops/waivers.toml: valid TOML, only [[waiver]] tables with gate, reason, approved_by, "
        "approved_on and expires (TOML dates), and an [approvers] table (docs/readiness.md).",
    ),
    "VT921": ErrorCode(
        "waiver names an unknown gate",
        "Name one of the waivable gates: lint, format, types, layers, tests, preflight.",
    ),
    "VT922": ErrorCode(
        "waiver has no approver",
        "Set approved_by to the maintainer or release owner who approved the waiver.",
    ),
    "VT923": ErrorCode(
        "waiver approved by someone the policy does not allow",
        "lint, format and types need a maintainer or the release owner; tests, layers and preflight "
        "need the release owner (docs/readiness.md, Waiver policy).",
    ),
    "VT924": ErrorCode(
        "waiver has expired",
        "Fix the gate, or have a new waiver approved with a new expiry date; then delete the old one.",
    ),
    "VT925": ErrorCode(
        "waiver runs longer than the policy allows",
        "Shorten expires to at most 30 days (lint, format, types) or 14 days (tests, layers, preflight) "
        "after approved_on, which must not be in the future.",
    ),
    "VT926": ErrorCode(
        "two waivers for one gate",
        "Keep one waiver per gate in ops/waivers.toml; delete the older one.",
    ),
    "VT927": ErrorCode(
        "version and changelog disagree",
        "Make CHANGELOG.md Keep a Changelog (## [Unreleased], then ## [X.Y.Z] - YYYY-MM-DD, newest first) "
        "with its top released entry equal to the version in pyproject.toml.",
    ),
    "VT928": ErrorCode(
        "open questions file is malformed",
        "Write each question in ops/open-questions.md as '## Qn: title' with 'status: open|closed' and "
        "'issue: N' lines below it.",
    ),
    # ── release sign-off (94x-95x) ──
    "VT940": ErrorCode(
        "no evidence bundle to sign",
        "Run make evidence on the commit to release, or name a bundle with --evidence DIR.",
    ),
    "VT941": ErrorCode(
        "evidence bundle does not match its manifest",
        "A file changed, vanished or appeared after make evidence; run make evidence again and never edit "
        "a bundle.",
    ),
    "VT942": ErrorCode(
        "evidence bundle incomplete or unreadable",
        "Run make evidence again; a bundle needs manifest.json, gates.json and determinism.json as JSON.",
    ),
    "VT943": ErrorCode(
        "evidence bundle is for another version or commit",
        "Commit everything, then run make evidence on the commit whose pyproject.toml version you release.",
    ),
    "VT944": ErrorCode(
        "gate failed or missing in the evidence",
        "Fix the gate (the line gives the make target that reproduces it), or have a waiver approved.",
    ),
    "VT945": ErrorCode(
        "evidence shows non-deterministic runs",
        "Compare the digests in determinism.json and fix what differs between runs and event loops.",
    ),
    "VT946": ErrorCode(
        "open blocking question",
        "Answer the question and set 'status: closed' in ops/open-questions.md, saying what answered it.",
    ),
    "VT947": ErrorCode(
        "capability still planned",
        "Build and test the venue and mode, then mark the cell implemented in adapters/capabilities.py.",
    ),
    "VT948": ErrorCode(
        "release not signed",
        "Name the release owner in [approvers] release_owner of ops/waivers.toml; they sign with "
        "vibetrading release check --signer NAME.",
    ),
    "VT949": ErrorCode(
        "signer is not the release owner",
        "Only the person named in [approvers] release_owner of ops/waivers.toml signs a release.",
    ),
    "VT950": ErrorCode(
        "release checklist step cannot be performed",
        "Fix what the line names (ops/RELEASE.md gives each step), then run make release-dry-run again.",
    ),
    # ── risk limits (96x) ──
    "VT960": ErrorCode(
        "order notional above the risk limit",
        "Send a smaller order, or raise the max_order_notional risk limit if it is too tight.",
    ),
    "VT961": ErrorCode(
        "order cannot be valued for the notional limit",
        "A market order needs a mark price to be checked against max_order_notional: wait for "
        "market data on the symbol, or send a limit order.",
    ),
    "VT962": ErrorCode(
        "position limit would be exceeded",
        "The position plus every open order on that side would pass the symbol's limit; cancel open "
        "orders or reduce the position first, or raise the limit. Orders that reduce are always let through.",
    ),
    "VT963": ErrorCode(
        "too many open orders",
        "Cancel open orders before sending more, or raise the max_open_orders risk limit.",
    ),
    "VT964": ErrorCode(
        "order rate limit per venue reached",
        "Send fewer orders per second to the venue, or raise its orders_per_second limit.",
    ),
    "VT965": ErrorCode(
        "daily loss limit reached: trading halted",
        "Inspect the day's fills and positions; trading stays halted, across restarts too, until "
        "`vibetrading resume`, after which the day's loss is counted again from that moment.",
    ),
    "VT966": ErrorCode(
        "trading is halted: order refused",
        "No new order leaves while a halt is in force (the message says who halted and why); "
        "fix the cause, then `vibetrading resume`. Cancels still go out.",
    ),
    "VT967": ErrorCode(
        "risk limits invalid",
        "Give each limit named in the message a finite value in its range: amounts and position "
        "limits at least 0, the daily loss limit above 0, counts at least 0.",
    ),
    # ── run configuration and credentials (9xx) ──
    "VT900": ErrorCode(
        "run configuration unreadable",
        "Check the --config path and that the file is UTF-8 TOML; the message names the line of a "
        "syntax error (docs/run.md).",
    ),
    "VT901": ErrorCode(
        "unknown key in the run configuration",
        "Fix the key named in the message (a did-you-mean suggestion is given); docs/run.md lists every key.",
    ),
    "VT902": ErrorCode(
        "run configuration value invalid",
        "Give the key named in the message a value of the documented type and range (docs/run.md).",
    ),
    "VT903": ErrorCode(
        "no venue configured for a symbol of the strategy",
        "Add a [venues.NAME] table for a venue that serves the symbol's market (`vibetrading capabilities`).",
    ),
    "VT904": ErrorCode(
        "strategy file named by the configuration unreadable",
        "Fix [strategy] file: a relative path is read from the configuration file's directory.",
    ),
    "VT905": ErrorCode(
        "state directory not writable",
        "Create the [state] dir (or its parent) and give the daemon's user write access; "
        "under systemd use StateDirectory=.",
    ),
    "VT910": ErrorCode(
        "credential source malformed",
        'Write credentials as "file:/path/key.json", "env:PREFIX" or "systemd:NAME" (docs/run.md).',
    ),
    "VT911": ErrorCode(
        "credentials not found",
        "Create the file, export PREFIX_API_KEY and PREFIX_API_SECRET, or add LoadCredential= to the "
        "unit, as the source in the message says.",
    ),
    "VT912": ErrorCode(
        "credentials file readable by others",
        "chmod 600 (or 400) the file and keep it owned by the daemon's user.",
    ),
    "VT913": ErrorCode(
        "credentials content invalid",
        'The source must hold a JSON object with non-empty string "api_key" and "api_secret" '
        '(and "account" where the broker needs it).',
    ),
    "VT914": ErrorCode(
        "live venue without credentials",
        'Add credentials = "file:...", "env:..." or "systemd:..." to the venue\'s table; '
        "paper mode needs none.",
    ),
    # ── the live daemon (97x) ──
    "VT970": ErrorCode(
        "a recorded session does not re-drive to the same decisions",
        "The strategy file, its parameters or the engine changed since the journal was written: run "
        "the version that wrote it, or start a new state directory.",
    ),
    "VT971": ErrorCode(
        "reconciliation found what the journal cannot account for",
        "Check the venue (an order placed by hand, a second daemon on the same account); then restart "
        "with --adopt-venue-state to accept it, or clear it at the venue.",
    ),
    "VT972": ErrorCode(
        "a strategy call ran past its budget",
        "Make the strategy's hook faster, or raise [runtime] strategy_call_budget_ms. The halt is "
        "journalled and a restart re-drives it: start the fixed strategy with a new state directory.",
    ),
    "VT973": ErrorCode(
        "an order was not sent: trading was halted or the daemon stopping",
        "Nothing left the process; see /readyz for why trading is halted (vibetrading resume lifts an "
        "operator halt).",
    ),
    "VT974": ErrorCode(
        "halt or resume request refused",
        "Run vibetrading halt/resume with the same --config as the daemon; a POST /halt needs the "
        "bearer token from the state directory's halt.token file.",
    ),
    # ── Kiwoom (99x) ──
    "VT990": ErrorCode(
        "Kiwoom refused the credentials",
        "The app key or secret (8001/8002), the IP (8010), the environment (8030/8031: a real key on "
        "mock or the reverse) or the device registration (8040/8050/8103) was refused, or a reissued "
        "token was refused again; fix it at Kiwoom's portal, then restart (docs/kiwoom.md).",
    ),
    "VT991": ErrorCode(
        "Kiwoom token cache cannot be used",
        "The token file in the state directory cannot be written or read back; give the daemon's user "
        "write access to the state directory (the file is kept with mode 0600).",
    ),
    "VT992": ErrorCode(
        "Kiwoom order cannot be identified",
        "Several orders at Kiwoom match the order's symbol, side, quantity, price and time window and "
        "none is mapped to its client id; the adapter refuses to guess. Check the orders in Kiwoom's "
        "HTS/MTS and resolve it by hand (docs/kiwoom.md).",
    ),
    "VT993": ErrorCode(
        "order not expressible at Kiwoom",
        "The Kiwoom client sends limit and market orders (day, IOC, FOK) of KRX stocks; change the "
        "order type or time in force.",
    ),
    # ── KIS (98x) ──
    "VT980": ErrorCode(
        "KIS token issuance refused",
        "KIS issues an access token at most once a minute (EGW00133) and refuses wrong app keys; the "
        "cached token in the state directory is reused. Wait a minute, check the app key and secret.",
    ),
    "VT981": ErrorCode(
        "KIS order cannot be told apart",
        "An order with no known KIS order number matches several orders at KIS (same code, side, "
        "quantity, price and time window); check them in the KIS app and cancel what is not yours.",
    ),
    "VT982": ErrorCode(
        "KIS WebSocket registration cap reached",
        "KIS allows 41 registrations (execution notices included) per session; subscribe to fewer codes.",
    ),
    "VT983": ErrorCode(
        "KIS WebSocket session of the app key in use",
        "KIS allows one WebSocket session per app key (OPSP8996); stop the other process using it.",
    ),
    # ── internal consistency (4xx) ──
    "VT400": ErrorCode(
        "impossible order transition",
        "The event stream is inconsistent with the order's state; check the venue feed.",
    ),
    "VT410": ErrorCode(
        "ledger cannot fold an event",
        "The journal is inconsistent: an instrument is undefined or a fill is malformed.",
    ),
}


class VibeError(Exception):
    """Base of every typed error: a stable code, a message, a hint and an optional location."""

    code = "VT000"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        known = ERROR_CODES.get(self.code)
        self.hint = hint if hint is not None else (known.hint if known else "See docs/errors.md.")
        self.file = file
        self.line = line

    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        where = self.where()
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.code} {self.message}"

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
        }


class DeclarationError(VibeError):
    """The strategy file does not declare a valid strategy (type, parameters, universe)."""

    code = "VT100"


class InvalidSymbolError(VibeError):
    code = "VT120"


class CapabilityError(VibeError):
    """The venue or mode cannot run this strategy, per the capability matrix."""

    code = "VT131"


class ContractViolation(VibeError):
    """A strategy returned something its type's output contract does not allow."""

    code = "VT300"


class OrderStateError(VibeError):
    """An event asked the order state machine for a transition its table does not allow."""

    code = "VT400"


class LedgerError(VibeError):
    code = "VT410"
