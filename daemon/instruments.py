"""Read an instruments file: the user's own markets and symbols, for ``replay`` and ``validate``.

The file is TOML (docs/replay.md "Your own instruments")::

    [markets.mybroker]             # every symbol mybroker:<X>
    quote = "USD"
    kind = "spot"                  # spot | equity | linear | inverse
    tick = "0.01"
    lot = "1"
    [symbols."mybroker:ABC"]       # overrides for one symbol
    tick = "0.05"

It is checked whole before anything runs, and every refusal is an :class:`InstrumentsError` (VT136)
naming the file, the section and the key: an unknown key is refused rather than ignored (a typo
such as ``tick_size`` would otherwise leave the default in force unnoticed), and numbers are
decimal strings (``"0.01"``) or integers, never TOML floats, which are binary and would turn a tick
of 0.1 into 0.1000000000000000055511151231257827 on the way to a Decimal.

The lookup itself is pure and lives in :func:`engines.markets.specs.spec_for` (``user=``); this
module owns only the file: reading, validating and its sha256.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec

from engines.errors import VibeError
from engines.markets.specs import REQUIRED_MARKET_KEYS, InstrumentFields, UserInstruments, spec_for
from engines.model.instruments import InstrumentSpec, parse_symbol

__all__ = ["Instruments", "InstrumentsError", "load", "parse", "resolve"]


class InstrumentsError(VibeError):
    """The instruments file cannot be read or says something a spec cannot hold."""

    code = "VT136"


class Instruments(msgspec.Struct, frozen=True):
    """A checked instruments file: its definitions and the sha256 of its bytes (for the run record)."""

    path: Path
    sha256: str
    user: UserInstruments
    #: the file's size in bytes
    size: int = 0


#: a fee or tax above 10 % of notional is a typo (bps written as percent), not a venue's rate
MAX_BPS: Final = Decimal(1000)
MAX_BYTES: Final = 1 << 20

_DECIMAL_KEYS: Final = frozenset(
    ("tick", "lot", "min_qty", "min_notional", "maker_fee_bps", "taker_fee_bps", "multiplier", "sell_tax_bps")
)
_POSITIVE: Final = frozenset(("tick", "lot", "multiplier"))
_BPS: Final = frozenset(("maker_fee_bps", "taker_fee_bps", "sell_tax_bps"))
_TEXT_KEYS: Final = frozenset(("quote", "base", "settle"))
# plain digits with at most one point: no sign, exponent, NaN, infinity, "_" or spaces
_PLAIN_DECIMAL: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
_CURRENCY: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,29}")


def load(path: Path) -> Instruments:
    """Read and check ``path``; an :class:`InstrumentsError` for anything wrong with it."""
    where = str(path)
    try:
        if not path.is_file():
            reason = "is a directory" if path.is_dir() else "no such file or not a regular file"
            raise InstrumentsError(f"--instruments {path}: {reason}", file=where)
        raw = path.read_bytes()
    except OSError as exc:
        raise InstrumentsError(f"--instruments {path}: cannot read ({exc.strerror})", file=where) from None
    if len(raw) > MAX_BYTES:
        raise InstrumentsError(f"the file is larger than {MAX_BYTES} bytes", file=where)
    return Instruments(path, hashlib.sha256(raw).hexdigest(), parse(raw, file=where), len(raw))


def parse(raw: bytes, *, file: str | None = None) -> UserInstruments:
    """The definitions of an instruments file's bytes, checked as :func:`load` checks them."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InstrumentsError("the file is not valid UTF-8", file=file, line=line) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentsError(f"not valid TOML: {exc}", file=file, line=_toml_line(str(exc))) from None
    unknown = sorted(set(doc) - {"markets", "symbols"})
    if unknown:
        raise InstrumentsError(
            f'unknown top-level key {unknown[0]!r}: allowed [markets.NAME] and [symbols."MARKET:INSTRUMENT"]',
            file=file,
        )
    markets = _sections(doc.get("markets", {}), "markets", file)
    symbols = _sections(doc.get("symbols", {}), "symbols", file)
    for name in markets:
        _check_market_name(name, file)
    for name in symbols:
        _check_symbol_name(name, file)
    user = UserInstruments(markets=markets, symbols=symbols)
    for name, fields in user.markets.items():
        _check_complete(f"[markets.{name}]", fields, file)
    for name, fields in user.symbols.items():
        market = parse_symbol(name).market
        if market not in user.markets and not _builtin_covers(name):
            # a symbol of a market nobody defines must be whole by itself
            _check_complete(f'[symbols."{name}"]', fields, file)
    return user


def resolve(universe: Iterable[str], instruments: Instruments | None) -> dict[str, InstrumentSpec]:
    """The spec of every symbol of ``universe``: the one lookup a replay and validate share."""
    user = instruments.user if instruments is not None else None
    try:
        return {symbol: spec_for(symbol, user=user) for symbol in universe}
    except VibeError as exc:
        if instruments is not None and exc.file is None:
            exc.file = str(instruments.path)
        raise


# ── checks ───────────────────────────────────────────────────────────────────────────────────────


def _sections(table: object, kind: str, file: str | None) -> dict[str, InstrumentFields]:
    """``[markets]`` or ``[symbols]``, each section checked on its own so that errors can name it."""
    if not isinstance(table, dict):
        raise InstrumentsError(f"{kind!r} must be a table of sections", file=file)
    out: dict[str, InstrumentFields] = {}
    for name, section in table.items():
        label = f"[{kind}.{name}]" if kind == "markets" else f'[{kind}."{name}"]'
        if not isinstance(section, dict):
            raise InstrumentsError(f"{label} must be a table of keys, not a value", file=file)
        checked = {key: _value(label, key, value, file) for key, value in section.items()}
        try:
            out[name] = msgspec.convert(checked, InstrumentFields, strict=True)
        except msgspec.ValidationError as exc:
            raise InstrumentsError(f"{label} {_readable(str(exc))}", file=file) from None
    return out


def _value(label: str, key: str, value: object, file: str | None) -> object:
    if key in _DECIMAL_KEYS:
        return str(_decimal(label, key, value, file))
    if key in _TEXT_KEYS and (not isinstance(value, str) or _CURRENCY.fullmatch(value) is None):
        raise InstrumentsError(
            f"{label} {key} = {value!r}: allowed a code of letters, digits, '.' and '-' "
            "(at most 30), as a string",
            file=file,
        )
    return value  # anything else: msgspec refuses unknown keys and kinds outside the enum


def _decimal(label: str, key: str, value: object, file: str | None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        hint = (
            ' (write it as a string, "0.01": a TOML float is binary and inexact)'
            if isinstance(value, float)
            else ""
        )
        raise InstrumentsError(f"{label} {key} = {value!r}: allowed a decimal string{hint}", file=file)
    text = str(value)
    if _PLAIN_DECIMAL.fullmatch(text) is None:
        raise InstrumentsError(
            f"{label} {key} = {value!r}: allowed a non-negative decimal of plain digits such as "
            '"0.01" (no sign, exponent or spaces)',
            file=file,
        )
    number = Decimal(text)
    if key in _POSITIVE and number <= 0:
        raise InstrumentsError(f"{label} {key} = {value!r}: allowed a number > 0", file=file)
    if key in _BPS and number > MAX_BPS:
        raise InstrumentsError(
            f"{label} {key} = {value!r}: allowed 0 to {MAX_BPS} bps (10 %); bps are hundredths of a percent",
            file=file,
        )
    return number


def _check_market_name(name: str, file: str | None) -> None:
    try:
        parsed = parse_symbol(f"{name}:X")
    except VibeError:
        parsed = None
    if parsed is None or parsed.market != name:
        raise InstrumentsError(
            f"[markets.{name}]: {name!r} is not a market name (as in name:SYMBOL)", file=file
        )


def _check_symbol_name(name: str, file: str | None) -> None:
    try:
        parsed = str(parse_symbol(name))
    except VibeError:
        parsed = None
    if parsed != name:
        raise InstrumentsError(
            f'[symbols."{name}"]: not a symbol of the form market:instrument'
            + (f" (write it {parsed!r})" if parsed else ""),
            file=file,
        )


def _check_complete(label: str, fields: InstrumentFields, file: str | None) -> None:
    missing = [k for k in REQUIRED_MARKET_KEYS if getattr(fields, k) is None]
    if missing:
        raise InstrumentsError(f"{label} lacks {', '.join(missing)}", file=file)


def _builtin_covers(symbol: str) -> bool:
    try:
        spec_for(symbol)
    except VibeError:
        return False
    return True


def _toml_line(message: str) -> int | None:
    found = re.search(r"at line (\d+)", message)
    return int(found.group(1)) if found else None


def _readable(message: str) -> str:
    """msgspec's ``Invalid enum value 'x' - at `$.kind``` in the file's own words."""
    text, _, at = message.partition(" - at ")
    key = at.strip("`").removeprefix("$").removeprefix(".")
    text = text.replace("Object contains unknown field", "unknown key")
    if "Invalid enum value" in text:
        text += " (allowed spot, equity, linear, inverse)"
    elif "unknown key" in text:
        text += f" (allowed {', '.join(f.name for f in msgspec.structs.fields(InstrumentFields))})"
    return f"{key}: {text}" if key else text
