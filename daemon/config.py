"""The run configuration: a TOML file decoded into strict msgspec structs, and its preflight.

Every key is documented in docs/run.md. Unknown keys are refused with a did-you-mean suggestion (a typo
in a risk limit must never mean "no limit"), and every error names the file and the key path.
:func:`validate_config` is what ``vibetrading validate --config`` runs: the strategy, the venues × mode
against the capability matrix, the credentials of a live run and the state directory, without a
single network connection and without creating anything.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

import msgspec
from msgspec import inspect as mi

from adapters import capabilities
from adapters.capabilities import Mode
from adapters.registry import KEYED_MARKET_DATA
from daemon.credentials import CredentialsError, check_source, load_credentials
from daemon.preflight import LoadedStrategy, UsageError, build_engine, load_strategy
from engines.errors import VibeError
from engines.model.instruments import parse_symbol

__all__ = [
    "DEFAULT_LISTEN",
    "ConfigError",
    "ConfiguredVenue",
    "RunConfig",
    "ValidatedConfig",
    "load_config",
    "validate_config",
]

DEFAULT_LISTEN: Final = "127.0.0.1:8088"
DEFAULT_STATE_DIR: Final = "/var/lib/vibetrading"
RUN_MODES: Final = (Mode.PAPER.value, Mode.LIVE.value)
#: venues a configuration may name: the matrix's, without the simulated one (backtests only)
CONFIG_VENUES: Final = tuple(v for v in capabilities.VENUE_NAMES if v != "sim")
# the simulated venue would take every market; a run routes each market through a real venue
_REAL_VENUES: Final = tuple(v for v in capabilities.VENUES if v.name != "sim")


class ConfigError(VibeError):
    """The run configuration is unreadable or invalid; ``key`` is the dotted key path, when one applies."""

    code = "VT902"

    def __init__(self, message: str, *, file: str, key: str | None = None, code: str = "VT902") -> None:
        super().__init__(f"{key}: {message}" if key else message, file=file, code=code)
        self.key = key


# ── the structs (strict: unknown keys are errors) ────────────────────────────────────────────────


ParamValue = str | int | float | bool | list[str | int | float]


class StrategySection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    file: str
    params: dict[str, ParamValue] = msgspec.field(default_factory=dict)


class VenueSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    environment: Literal["production", "test"] = "production"
    rest_url: str | None = None
    ws_url: str | None = None
    credentials: str | None = None
    recv_window_ms: int | None = None
    timeout_ms: int | None = None
    #: KIS: the HTS id its execution notices are registered under (not a secret)
    hts_id: str | None = None

    def __post_init__(self) -> None:
        for name, value, schemes in (
            ("rest_url", self.rest_url, ("http://", "https://")),
            ("ws_url", self.ws_url, ("ws://", "wss://")),
        ):
            if value is not None and not (value.startswith(schemes) and len(value) > len(schemes[1])):
                raise ValueError(f"{name}: must be an URL starting with {' or '.join(schemes)}")
        if self.recv_window_ms is not None and not 0 < self.recv_window_ms <= 60_000:
            raise ValueError("recv_window_ms: must be above 0 and at most 60000")
        if self.timeout_ms is not None and not 100 <= self.timeout_ms <= 60_000:
            raise ValueError("timeout_ms: must be 100 to 60000")
        if self.credentials is not None:
            try:
                check_source(self.credentials)
            except CredentialsError as exc:
                raise ValueError(f"credentials: {exc.message}") from None


class StateSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dir: str = DEFAULT_STATE_DIR


class HealthSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    listen: str = DEFAULT_LISTEN

    def __post_init__(self) -> None:
        parse_listen(self.listen)

    @property
    def host(self) -> str:
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen)[1]

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


DecimalLimit = Decimal | dict[str, Decimal]
IntLimit = int | dict[str, int]


class RiskSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pre-trade limits; absent means not checked. ``max_position`` and ``max_orders_per_second`` take
    one value for all, or a table by symbol / venue with an optional ``default``."""

    max_order_notional: Decimal | None = None
    max_position: DecimalLimit | None = None
    max_open_orders: int | None = None
    max_orders_per_second: IntLimit | None = None
    daily_loss_limit: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("max_order_notional", "max_position", "max_open_orders", "max_orders_per_second"):
            _check_limit(name, getattr(self, name), allow_zero=name == "max_position")
        _check_limit("daily_loss_limit", self.daily_loss_limit, allow_zero=False)
        if isinstance(self.max_orders_per_second, dict):
            for venue in self.max_orders_per_second:
                if venue != "default" and venue not in CONFIG_VENUES:
                    raise ValueError(
                        f"max_orders_per_second.{venue}: unknown venue{_suggest(venue, CONFIG_VENUES)}"
                    )
        if isinstance(self.max_position, dict):
            for symbol in self.max_position:
                if symbol != "default":
                    try:
                        parse_symbol(symbol)
                    except VibeError as exc:
                        raise ValueError(f"max_position.{symbol}: {exc.message}") from None

    def position_limit(self, symbol: str) -> Decimal | None:
        limit = self.max_position
        if isinstance(limit, dict):
            return limit.get(symbol, limit.get("default"))
        return limit

    def orders_per_second(self, venue: str) -> int | None:
        limit = self.max_orders_per_second
        if isinstance(limit, dict):
            return limit.get(venue, limit.get("default"))
        return limit


def _check_limit(name: str, value: object, *, allow_zero: bool) -> None:
    items = value.items() if isinstance(value, dict) else [(None, value)]
    for sub, item in items:
        if item is None:
            continue
        key = name if sub is None else f"{name}.{sub}"
        if isinstance(item, Decimal) and not item.is_finite():
            raise ValueError(f"{key}: must be a finite number")
        if item < 0 or (item == 0 and not allow_zero):  # type: ignore[operator]
            raise ValueError(f"{key}: must be {'at least 0' if allow_zero else 'above 0'}")


class MarketSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the session subscribes to for the strategy's symbols. Bars come from the venue's kline
    streams when ``bar_seconds`` is set (a portfolio rebalances on bars and needs them)."""

    quotes: bool = True
    trades: bool = True
    bar_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.bar_seconds is not None and self.bar_seconds not in BAR_SECONDS:
            raise ValueError(f"bar_seconds: one of {', '.join(map(str, BAR_SECONDS))}")
        if not (self.quotes or self.trades or self.bar_seconds):
            raise ValueError("quotes, trades and bars are all off: the strategy would never see the market")


#: bar lengths the crypto venues stream (Binance 1 s on spot only; Bybit from 1 min)
BAR_SECONDS: Final = (1, 60, 180, 300, 900, 1800, 3600, 14400, 86400)


class StopSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    on_stop: Literal["cancel", "leave"] = "cancel"


class RuntimeSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    loop: Literal["uvloop", "asyncio"] = "uvloop"
    strategy_call_budget_ms: int = 250

    def __post_init__(self) -> None:
        if not 1 <= self.strategy_call_budget_ms <= 60_000:
            raise ValueError("strategy_call_budget_ms: must be 1 to 60000")


class _FileConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The file as written (paths unresolved)."""

    mode: Literal["paper", "live"] = "paper"
    strategy: StrategySection
    venues: dict[str, VenueSection] = msgspec.field(default_factory=dict)
    state: StateSection = msgspec.field(default_factory=StateSection)
    health: HealthSection = msgspec.field(default_factory=HealthSection)
    risk: RiskSection = msgspec.field(default_factory=RiskSection)
    stop: StopSection = msgspec.field(default_factory=StopSection)
    runtime: RuntimeSection = msgspec.field(default_factory=RuntimeSection)
    market: MarketSection = msgspec.field(default_factory=MarketSection)


class ConfiguredVenue(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    environment: Literal["production", "test"]
    rest_url: str | None
    ws_url: str | None
    #: the source string with a relative ``file:`` path made absolute; never the secret itself
    credentials: str | None
    recv_window_ms: int | None
    #: each request's timeout (None: the venue client's default, 5 s)
    timeout_ms: int | None = None
    hts_id: str | None = None


class RunConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The configuration a run uses: paths absolute, the mode after ``--mode``, params as ``--param``
    would give them."""

    file: Path
    mode: Mode
    strategy_file: Path
    #: ``NAME=value`` strings in file order, as ``--param`` takes them
    params: tuple[str, ...]
    venues: dict[str, ConfiguredVenue]
    state_dir: Path
    health: HealthSection
    risk: RiskSection
    stop: StopSection
    runtime: RuntimeSection
    market: MarketSection = msgspec.field(default_factory=MarketSection)


# ── loading ──────────────────────────────────────────────────────────────────────────────────────


def load_config(path: Path, *, mode: str | None = None) -> RunConfig:
    """Read and check a run configuration; ``mode`` (``--mode``) overrides the file's."""
    where = str(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", file=where, code="VT900") from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a configuration file", file=where, code="VT900") from None
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror or exc})", file=where, code="VT900") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("the file is not valid UTF-8", file=where, code="VT900") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=where, code="VT900") from None
    parsed = _convert(raw, where)
    for name in parsed.venues:
        if name not in CONFIG_VENUES:
            known = ", ".join(CONFIG_VENUES)
            raise ConfigError(
                f"unknown venue{_suggest(name, CONFIG_VENUES)} (known: {known})",
                file=where,
                key=f"venues.{name}",
                code="VT901",
            )
    if mode is not None and mode not in RUN_MODES:
        raise UsageError(f"--mode {mode}: a run configuration runs in {' or '.join(RUN_MODES)}")
    base = path.resolve().parent
    params = tuple(f"{name}={_param_text(value)}" for name, value in parsed.strategy.params.items())
    venues = {
        name: ConfiguredVenue(
            name=name,
            environment=v.environment,
            rest_url=v.rest_url,
            ws_url=v.ws_url,
            credentials=_absolute_source(v.credentials, base),
            recv_window_ms=v.recv_window_ms,
            timeout_ms=v.timeout_ms,
            hts_id=v.hts_id,
        )
        for name, v in sorted(parsed.venues.items())
    }
    return RunConfig(
        file=path,
        mode=Mode(mode or parsed.mode),
        strategy_file=_resolve(parsed.strategy.file, base),
        params=params,
        venues=venues,
        state_dir=_resolve(parsed.state.dir, base),
        health=parsed.health,
        risk=parsed.risk,
        stop=parsed.stop,
        runtime=parsed.runtime,
        market=parsed.market,
    )


def _resolve(text: str, base: Path) -> Path:
    path = Path(text).expanduser()
    # normpath: "../state" reads as the directory it names in messages; no symlink is resolved
    return path if path.is_absolute() else Path(os.path.normpath(base / path))


def _absolute_source(source: str | None, base: Path) -> str | None:
    if source is None or not source.startswith("file:"):
        return source
    return f"file:{_resolve(source.removeprefix('file:'), base)}"


def _param_text(value: ParamValue) -> str:
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, list):
        # a list is what the command line writes comma-separated (a portfolio's universe, legs)
        return ",".join(_param_text(item) for item in value)
    return str(value)


_AT = re.compile(r"^(?P<what>.*?) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_FIELD_PREFIX = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_.:\-]*): (?P<rest>.*)$", re.DOTALL)


def _convert(raw: dict[str, object], where: str) -> _FileConfig:
    """msgspec names a table's key as ``[...]`` in its error paths; the tables keyed by name (venues,
    params) are converted one entry at a time so that an error names the entry."""
    by_name: dict[str, tuple[object, dict[str, object]]] = {}
    rest = dict(raw)
    venues = rest.get("venues")
    if isinstance(venues, dict):
        by_name["venues"] = (VenueSection, venues)
        del rest["venues"]
    strategy = rest.get("strategy")
    if isinstance(strategy, dict) and isinstance(params := strategy.get("params"), dict):
        by_name["strategy.params"] = (ParamValue, params)
        rest["strategy"] = {k: v for k, v in strategy.items() if k != "params"}
    converted: dict[str, dict[str, object]] = {}
    for section, (kind, table) in by_name.items():
        converted[section] = {}
        for name, value in table.items():
            try:
                converted[section][name] = msgspec.convert(value, kind)
            except msgspec.ValidationError as exc:
                raise _config_error(str(exc), where, prefix=[*section.split("."), name]) from None
    try:
        parsed = msgspec.convert(rest, _FileConfig)
    except msgspec.ValidationError as exc:
        raise _config_error(str(exc), where) from None
    if "strategy.params" in converted:
        strategy_section = msgspec.structs.replace(parsed.strategy, params=converted["strategy.params"])
        parsed = msgspec.structs.replace(parsed, strategy=strategy_section)
    if "venues" in converted:
        parsed = msgspec.structs.replace(parsed, venues=converted["venues"])
    return parsed


def _config_error(message: str, where: str, *, prefix: Sequence[str] = ()) -> ConfigError:
    """msgspec's ``<what> - at `$.a.b``` as a :class:`ConfigError` on the key path ``a.b``."""
    match = _AT.match(message)
    what, segments = (match["what"], _segments(match["path"])) if match else (message, [])
    segments = [*prefix, *segments]
    unknown = _UNKNOWN.match(what)
    if unknown:
        name = unknown["name"]
        choices = _fields_at(segments)
        return ConfigError(
            f"unknown key{_suggest(name, choices)} (allowed here: {', '.join(choices)})",
            file=where,
            key=".".join([*segments, name]),
            code="VT901",
        )
    # a __post_init__ check names its own field first, msgspec only the struct it was in
    prefixed = _FIELD_PREFIX.match(what)
    if prefixed:
        segments = [*segments, prefixed["field"]]
        what = prefixed["rest"]
    if what.startswith("Object missing required field"):
        field = what.split("`")[1] if "`" in what else ""
        return ConfigError("required key missing", file=where, key=".".join([*segments, field]))
    if what.startswith("Invalid enum value"):
        allowed = _type_at(segments)
        if isinstance(allowed, mi.LiteralType):
            what += f" (allowed: {', '.join(repr(v) for v in allowed.values)})"
    return ConfigError(_plain(what), file=where, key=".".join(segments) or None)


_TOML_WORDS: Final = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "decimal": "decimal string or number",
    "object": "table",
    "array": "array",
    "bool": "boolean",
}


def _plain(what: str) -> str:
    """msgspec's type names (``expected `str | null`, got `int```) in the words of TOML."""

    def words(match: re.Match[str]) -> str:
        names = [_TOML_WORDS.get(n, n) for n in match[1].split(" | ") if n != "null"]
        return " or ".join(names)

    what = re.sub(r"`([a-z |]+)`", words, what)
    return what[:1].lower() + what[1:]


def _segments(path: str) -> list[str]:
    # `$.venues.binance.x` or `$.venues["odd key"]` or `$.strategy.params.x[0]`
    out: list[str] = []
    for dotted in re.findall(r'\.([^.\[]+)|\["([^"]*)"\]|\[(\d+)\]', path):
        out.append(next(part for part in dotted if part))
    return out


def _type_at(segments: Sequence[str]) -> mi.Type | None:
    """The type of the key at ``segments``, found from the structs' own type info."""
    node: mi.Type = mi.type_info(_FileConfig)
    for segment in segments:
        node = _unwrap(node)
        if isinstance(node, mi.StructType):
            match = [f for f in node.fields if f.encode_name == segment]
            if not match:
                return None
            node = match[0].type
        elif isinstance(node, mi.DictType):
            node = node.value_type
        else:
            return None
    return node


def _fields_at(segments: Sequence[str]) -> list[str]:
    """The keys allowed in the table at ``segments``."""
    node = _type_at(segments)
    node = _unwrap(node) if node is not None else None
    return [f.encode_name for f in node.fields] if isinstance(node, mi.StructType) else []


def _unwrap(node: mi.Type) -> mi.Type:
    if isinstance(node, mi.UnionType):
        for option in node.types:
            if isinstance(option, mi.StructType | mi.DictType):
                return option
    return node


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" {name!r}; did you mean {close[0]!r}?" if close else f" {name!r}"


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8088"`` / ``"[::1]:8088"`` / ``"localhost:8088"`` → (host, port)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"listen: {listen!r} is not HOST:PORT")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"listen: {listen!r} is not [IPV6]:PORT")
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"listen: {listen!r}: write an IPv6 address in brackets, [::1]:PORT")
    port = int(port_text)
    if not 1 <= port <= 65_535:
        raise ValueError(f"listen: port {port} is not 1 to 65535")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ── validate --config ────────────────────────────────────────────────────────────────────────────


class ValidatedConfig(msgspec.Struct, frozen=True, kw_only=True):
    config: RunConfig
    loaded: LoadedStrategy
    #: venue of each symbol of the universe, in universe order
    routes: dict[str, str]
    warnings: tuple[str, ...]


def validate_config(
    path: Path,
    *,
    mode: str | None = None,
    params: Sequence[str] = (),
    expected_type: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ValidatedConfig:
    """Everything ``validate --config`` checks, offline; raises a :class:`VibeError` (exit 1).

    ``params`` (``--param``) apply after the file's, so the command line wins.
    """
    config = load_config(path, mode=mode)
    where = str(path)
    try:
        loaded = load_strategy(
            config.strategy_file, params=[*config.params, *params], expected_type=expected_type
        )
    except UsageError as exc:
        raise ConfigError(str(exc), file=where, key="strategy.file", code="VT904") from None
    spec = loaded.spec
    routes = {symbol: _route(symbol, config, where) for symbol in spec.universe}
    try:
        capabilities.preflight(sorted(set(routes.values())), config.mode, spec.universe)
        build_engine(loaded)
    except VibeError as exc:
        exc.file = exc.file or spec.file
        raise
    for name in sorted(set(routes.values())):
        if config.mode is Mode.LIVE or name in KEYED_MARKET_DATA:  # a broker's stream needs the key
            _check_credentials(config.venues[name], where, environ)
    if spec.strategy_type == "portfolio" and config.market.bar_seconds is None:
        raise ConfigError(
            "a portfolio strategy rebalances on bars: set [market] bar_seconds (e.g. 60)",
            file=where,
            key="market.bar_seconds",
            code="VT902",
        )
    check_state_dir(config.state_dir, where)
    return ValidatedConfig(config=config, loaded=loaded, routes=routes, warnings=_warnings(config, routes))


def _route(symbol: str, config: RunConfig, where: str) -> str:
    market = parse_symbol(symbol).market
    serving = [v.name for v in _REAL_VENUES if market in v.markets]
    configured = [name for name in serving if name in config.venues]
    if configured:
        return configured[0]
    if not serving:
        raise ConfigError(
            f"{symbol}: no venue a run can use serves market {market!r} (backtest it with replay)",
            file=where,
            key="venues",
            code="VT903",
        )
    tables = " or ".join(f"[venues.{name}]" for name in serving)
    raise ConfigError(
        f"{symbol}: the strategy trades it, add {tables}", file=where, key="venues", code="VT903"
    )


def _check_credentials(venue: ConfiguredVenue, where: str, environ: Mapping[str, str] | None) -> None:
    if venue.credentials is None:
        raise ConfigError(
            "a live run needs credentials for this venue",
            file=where,
            key=f"venues.{venue.name}.credentials",
            code="VT914",
        )
    try:
        load_credentials(venue.credentials, environ=environ)
    except CredentialsError as exc:
        exc.file = where
        raise


def check_state_dir(state_dir: Path, where: str) -> None:
    """The directory is writable, or can be made by the daemon (its parent is): nothing is created."""
    key = "state.dir"
    if state_dir.exists():
        if not state_dir.is_dir():
            raise ConfigError(f"{state_dir} exists and is not a directory", file=where, key=key, code="VT905")
        if not os.access(state_dir, os.W_OK | os.X_OK):
            raise ConfigError(f"{state_dir} is not writable", file=where, key=key, code="VT905")
        return
    parent = state_dir.parent
    if not parent.is_dir():
        raise ConfigError(
            f"{state_dir} does not exist, nor does its parent {parent}", file=where, key=key, code="VT905"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{state_dir} does not exist and its parent {parent} is not writable",
            file=where,
            key=key,
            code="VT905",
        )


def _warnings(config: RunConfig, routes: Mapping[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    if not config.health.loopback:
        out.append(
            f"health.listen {config.health.listen!r} is not a loopback address: /metrics and /readyz "
            "will answer to the network"
        )
    for name in sorted(set(config.venues) - set(routes.values())):
        out.append(f"venues.{name}: no symbol of the strategy trades on it; it is not used")
    if config.mode is Mode.PAPER:
        for name, venue in sorted(config.venues.items()):
            if venue.credentials is not None and name in routes.values() and name not in KEYED_MARKET_DATA:
                out.append(f"venues.{name}.credentials: not read in paper mode (no order leaves)")
    return tuple(out)
